"""Image ID, diff ID and chain ID computation; ID lookup; time formats of configs and filters."""

from __future__ import annotations

import hashlib

import pytest

from sangja.errors import InvalidParameter
from sangja.image.ids import chain_ids, image_id, is_id_prefix, search_ids, short_id
from sangja.image.timeutil import Timestamp, parse_filter_time, parse_go_duration, parse_rfc3339


def test_image_id_is_the_sha256_of_the_config_bytes_exactly() -> None:
    config = b'{"a":1}'
    assert image_id(config) == "sha256:" + hashlib.sha256(config).hexdigest()
    assert image_id(b'{"a": 1}') != image_id(config)  # no re-serialisation


def test_chain_ids_follow_the_oci_definition() -> None:
    d1, d2, d3 = ("sha256:" + c * 64 for c in "abc")
    c2 = "sha256:" + hashlib.sha256(f"{d1} {d2}".encode()).hexdigest()
    c3 = "sha256:" + hashlib.sha256(f"{c2} {d3}".encode()).hexdigest()
    assert chain_ids([d1, d2, d3]) == [d1, c2, c3]
    assert chain_ids([]) == []


def test_layer_order_changes_the_chain() -> None:
    a, b = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    assert chain_ids([a, b])[-1] != chain_ids([b, a])[-1]


def test_short_ids_and_prefixes() -> None:
    iid = "sha256:" + "0d5a41adeebe" + "f" * 52
    assert short_id(iid) == "0d5a41adeebe"
    assert is_id_prefix(iid, "0d5a")
    assert is_id_prefix(iid, "sha256:0d5a")
    assert not is_id_prefix(iid, "busybox")


def test_search_ids_like_dockers_digest_set() -> None:
    a = "sha256:" + "ab12" + "0" * 60
    b = "sha256:" + "ab34" + "0" * 60
    ids = [a, b]
    assert search_ids(ids, "ab1") == a
    assert search_ids(ids, "sha256:ab3") == b
    assert search_ids(ids, a) == a
    assert search_ids(ids, "ab") is None  # ambiguous
    assert search_ids(ids, "cd") is None
    assert search_ids(ids, "") is None
    assert search_ids(ids, "sha512:ab1") is None
    assert search_ids(ids, "busybox:latest") is None


def test_rfc3339_parse_and_go_style_format() -> None:
    ts = parse_rfc3339("2024-01-02T03:04:05.123456789Z")
    assert ts is not None and ts.nanos == 123456789
    assert ts.rfc3339_nano() == "2024-01-02T03:04:05.123456789Z"
    ts = parse_rfc3339("2024-01-02T03:04:05.500000000Z")
    assert ts is not None and ts.rfc3339_nano() == "2024-01-02T03:04:05.5Z"
    ts = parse_rfc3339("2024-01-02T05:04:05+02:00")
    assert ts is not None and ts.unix == parse_rfc3339("2024-01-02T03:04:05Z").unix  # type: ignore[union-attr]
    assert ts.rfc3339_nano() == "2024-01-02T05:04:05+02:00"
    assert parse_rfc3339("yesterday") is None
    assert Timestamp(0).rfc3339_nano() == "1970-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("value", "ns"),
    [("10m", 600 * 10**9), ("1h30m", 5400 * 10**9), ("1.5h", 5400 * 10**9), ("300ms", 3 * 10**8),
     ("-2s", -2 * 10**9), ("0", 0), ("2us", 2000)],
)
def test_go_durations(value: str, ns: int) -> None:
    assert parse_go_duration(value) == ns


@pytest.mark.parametrize("value", ["", "10", "1x", "h", "1h-3m"])
def test_not_go_durations(value: str) -> None:
    assert parse_go_duration(value) is None


def test_filter_times() -> None:
    now = 1_700_000_000 * 10**9
    assert parse_filter_time("10m", now).unix == 1_700_000_000 - 600
    assert parse_filter_time("1700000000", now).unix == 1_700_000_000
    assert parse_filter_time("1700000000.5", now).nanos == 500_000_000
    assert parse_filter_time("2023-11-14", now).unix == 1_699_920_000
    assert parse_filter_time("2023-11-14T22:13:20", now).unix == 1_700_000_000
    assert parse_filter_time("2023-11-14T22:13:20Z", now).unix == 1_700_000_000
    for bad in ("", "2023-13-45", "soon"):
        with pytest.raises(InvalidParameter):
            parse_filter_time(bad, now)
