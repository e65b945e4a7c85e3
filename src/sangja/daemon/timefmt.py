"""Time formats Docker uses on the wire: RFC 3339 with nanoseconds, and human durations."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

ZERO = "0001-01-01T00:00:00Z"


def rfc3339_ns(ns: int) -> str:
    """`2026-11-28T22:30:28.708109518Z` (Go's RFC3339Nano, trailing zeros of the fraction trimmed)."""
    sec, frac = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    if frac:
        return f"{base}.{frac:09d}".rstrip("0") + "Z"
    return base + "Z"


def parse_rfc3339_ns(value: str) -> int:
    """Nanoseconds since the epoch of an RFC 3339 time (any offset); 0 for Docker's zero time."""
    if not value or value.startswith("0001-01-01"):
        return 0
    m = re.match(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$", value)
    if not m:
        raise ValueError(f"not an RFC 3339 time: {value!r}")
    base, frac, tz = m.groups()
    dt = datetime.fromisoformat(base + ("+00:00" if tz == "Z" else tz))
    ns = int(dt.astimezone(UTC).timestamp()) * 1_000_000_000
    if frac:
        ns += int(frac[:9].ljust(9, "0"))
    return ns


def parse_timestamp(value: str, now_ns: int | None = None) -> int:
    """Docker's `since`/`until` values: unix seconds (with fraction), RFC 3339, or a Go duration
    ('10m', '1h30m', relative to now). Returns nanoseconds since the epoch."""
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        sec, _, frac = value.partition(".")
        return int(sec) * 1_000_000_000 + (int(frac[:9].ljust(9, "0")) if frac else 0)
    dur = parse_duration_ns(value)
    if dur is not None:
        return (now_ns if now_ns is not None else time.time_ns()) - dur
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        value += "T00:00:00Z"
    elif re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?", value):
        value += "Z"
    return parse_rfc3339_ns(value)


_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


def parse_duration_ns(value: str) -> int | None:
    """A Go duration string ('1h2m3.5s') in nanoseconds, or None when it is not one."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    return int(sum(float(n) * _UNITS[u] for n, u in parts))


def human_duration(seconds: float) -> str:
    """Go's units.HumanDuration, which `docker ps` shows ('Up 3 seconds', 'About a minute')."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"
