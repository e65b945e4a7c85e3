"""JSON for the CLI's hot path: `json.loads`/`json.dumps` without importing `json`.

Why: the `json` package compiles regular expressions at import (json/decoder.py,
json/scanner.py and json/encoder.py import `re`, which imports `enum`); that is ~5 ms of
every `sangja` command, more than the rest of the CLI's own modules. On CPython all the
real work of `json` is done by its C accelerator `_json` anyway: `make_scanner` decodes,
`make_encoder` and `encode_basestring(_ascii)` encode. This module drives those directly,
configured exactly as `json.JSONDecoder()` and `json.JSONEncoder()` configure them.

Contract: `loads` and `dumps` return what `json.loads` and `json.dumps` return for the same
arguments, and raise the same exceptions. Only the common case takes the fast path; the
rest is handed to `json` itself (imported then):
- `loads`: input that is not plain UTF-8 (a BOM, UTF-16/32) and every malformed input. The
  C scanner reports errors through `json.decoder.JSONDecodeError`, which it looks up only if
  `json.decoder` has already been imported (otherwise a SystemError); letting `json` decode
  the text again gives the exact error `json.loads` raises, position and message included.
- `dumps`: `indent` (the C encoder on 3.11 is compact only) and any failure (e.g. a value
  that is not JSON), so that errors are `json`'s own.
- No `_json` (not CPython): everything goes to `json`.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

try:
    import _json
except ImportError:  # pragma: no cover - CPython always has it
    _json = None  # type: ignore[assignment]

_CONSTANTS = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}
_WHITESPACE = " \t\n\r"


class _DecoderContext:
    """The attributes `_json.make_scanner` reads from a `json.JSONDecoder()`."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__


def _refuse(o: object) -> Any:
    """`json.JSONEncoder.default`: nothing else is serializable."""
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


# typeshed types the context as a make_scanner; the C code only reads the attributes above.
_scan = _json.make_scanner(_DecoderContext()) if _json is not None else None  # type: ignore[arg-type]


def loads(data: str | bytes | bytearray) -> Any:
    """`json.loads(data)`."""
    if _scan is not None:
        text: str | None = None
        if isinstance(data, str):
            if not data.startswith("\ufeff"):
                text = data
        elif isinstance(data, bytes | bytearray) and data[:1] < b"\x80" and b"\x00" not in data[:4]:
            # What json.detect_encoding calls UTF-8: no BOM, no NUL among the first bytes.
            text = data.decode("utf-8", "surrogatepass")
        if text is not None:
            start = len(text) - len(text.lstrip(_WHITESPACE))
            try:
                value, end = _scan(text, start)
            except (StopIteration, ValueError, SystemError):
                pass  # malformed: json reports it
            else:
                if end == len(text) or not text[end:].strip(_WHITESPACE):
                    return value
    import json

    return json.loads(data)


def dumps(obj: Any, *, ensure_ascii: bool = True, separators: tuple[str, str] | None = None,
          indent: int | str | None = None) -> str:
    """`json.dumps(obj, ensure_ascii=..., separators=..., indent=...)`."""
    if _json is not None and indent is None:
        item_sep, key_sep = separators or (", ", ": ")
        encode_str = _json.encode_basestring_ascii if ensure_ascii else _json.encode_basestring
        if isinstance(obj, str):
            return encode_str(obj)
        encoder = _json.make_encoder({}, _refuse, encode_str, None, key_sep, item_sep, False, False, True)
        try:
            return "".join(encoder(obj, 0))
        except (TypeError, ValueError, RecursionError):
            pass  # json raises its own error for the same value
    import json

    return json.dumps(obj, ensure_ascii=ensure_ascii, separators=separators, indent=indent)
