"""cli/jsoncodec.py must be indistinguishable from json: same values, same text, same errors."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from typing import Any

import pytest

from sangja.cli import jsoncodec

STRINGS = ["", "a", "héllo", "日本語", "emoji \U0001f600", "\ud800", "a\udfffb", "\x00\x01\x1f\x7f", '"\\/\b\f\n\r\t',
           "\u2028\u2029", "<script>&'", "x" * 5000]
NUMBERS: list[Any] = [0, -0, 1, -1, 2**63, -(2**63) - 1, 10**40, 0.0, -0.0, 1.5, -2.25e-300, 1e308, 5e-324, 0.1,
                      1 / 3, float("inf"), float("-inf"), True, False, None]


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 4 else 5)
    if kind == 0:
        return rng.choice(STRINGS) + "".join(chr(rng.randrange(0x110000)) for _ in range(rng.randrange(4)))
    if kind == 1:
        return rng.choice(NUMBERS)
    if kind == 2:
        return rng.randrange(-(10**30), 10**30)
    if kind == 3:
        return rng.uniform(-1e6, 1e6)
    if kind == 4:
        return rng.choice([None, True, False, ""])
    if kind in (5, 6):
        return {rng.choice(STRINGS) + str(i): _random_value(rng, depth + 1) for i in range(rng.randrange(5))}
    return [_random_value(rng, depth + 1) for _ in range(rng.randrange(5))]


def _same(a: Any, b: Any) -> bool:
    """Equality that also holds for NaN and tells -0.0 from 0.0 and 1 from 1.0 and True."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


VALUES = [_random_value(random.Random(seed)) for seed in range(400)] + STRINGS + NUMBERS + [
    float("nan"), {"a": {"b": [{"c": []}, {}]}}, [[[[[]]]]], {"": ""}, {"dup": 1, "x": [1, 2.5, "s"]},
]


@pytest.mark.parametrize("separators", [None, (",", ":")])
@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_dumps_writes_json_s_text(separators: tuple[str, str] | None, ensure_ascii: bool) -> None:
    for value in VALUES:
        assert jsoncodec.dumps(value, ensure_ascii=ensure_ascii, separators=separators) == json.dumps(
            value, ensure_ascii=ensure_ascii, separators=separators)


def test_dumps_with_indent_and_non_str_keys_like_json() -> None:
    value = {"a": [1, {"b": None}], 2: "two", 1.5: True, None: False, True: "t"}
    assert jsoncodec.dumps(value, indent=4) == json.dumps(value, indent=4)
    assert jsoncodec.dumps(value, indent="\t", separators=(",", ": ")) == json.dumps(
        value, indent="\t", separators=(",", ": "))
    assert jsoncodec.dumps(value) == json.dumps(value)


@pytest.mark.parametrize("bad", [object(), {"k": {1, 2}}, {(1, 2): "tuple key"}, [b"bytes"]])
def test_dumps_refuses_what_json_refuses_with_its_message(bad: Any) -> None:
    with pytest.raises(TypeError) as ours:
        jsoncodec.dumps(bad)
    with pytest.raises(TypeError) as theirs:
        json.dumps(bad)
    assert str(ours.value) == str(theirs.value)


def test_dumps_refuses_circular_values() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference detected"):
        jsoncodec.dumps(loop)


def test_loads_reads_back_what_json_reads() -> None:
    for value in VALUES:
        for text in (json.dumps(value), json.dumps(value, ensure_ascii=False, indent=2)):
            for data in (text, text.encode("utf-8", "surrogatepass"), f" \n\t{text}\r\n "):
                assert _same(jsoncodec.loads(data), json.loads(data)), data


@pytest.mark.parametrize("data", [
    b'\xef\xbb\xbf{"bom": 1}', '{"x": 1}'.encode("utf-16"), '[1, "é"]'.encode("utf-16-le"),
    '[1, "é"]'.encode("utf-16-be"), '"é"'.encode("utf-32-le"), '{"a": "é"}'.encode("utf-32"),
    bytearray(b'{"ba": [1]}'), b"  7  ", b'"\\ud83d\\ude00 and \\ud800"', "NaN", "[-Infinity, Infinity]",
])
def test_loads_other_encodings_and_constants_like_json(data: str | bytes | bytearray) -> None:
    assert _same(jsoncodec.loads(data), json.loads(data))


MALFORMED: list[str | bytes] = ["", "  ", "{", '{"a" 1}', "[1,]", '"abc', '{"a": "x\ny"}', "[1] [2]", "nul", "01",
                                "\ufeff[1]", b"\xff\xff", b"[\xc3]", '{"a":1,}', "1 x", "[" * 100 + "]" * 99]


@pytest.mark.parametrize("data", MALFORMED)
def test_loads_raises_json_s_error(data: str | bytes) -> None:
    with pytest.raises(ValueError) as theirs:
        json.loads(data)
    with pytest.raises(ValueError) as ours:
        jsoncodec.loads(data)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


def test_a_fresh_cli_process_decodes_without_json_and_reports_errors_as_json() -> None:
    # In a process that has not imported json, the C scanner cannot raise JSONDecodeError itself.
    code = ("import sys; from sangja.cli import jsoncodec\n"
            "assert jsoncodec.loads(b'{\"a\": [1, 2.5, \"\\\\u00e9\"]}') == {'a': [1, 2.5, 'é']}\n"
            "assert jsoncodec.dumps({'b': 'é'}, separators=(',', ':')) == '{\"b\":\"\\\\u00e9\"}'\n"
            "print(sorted(m for m in ('json', 're', 'enum') if m in sys.modules))\n"
            "try:\n    jsoncodec.loads('{\"a\": ')\n"
            "except ValueError as exc:\n    print(type(exc).__name__, exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.splitlines() == ["[]", "JSONDecodeError Expecting value: line 1 column 7 (char 6)"]
