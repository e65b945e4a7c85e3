"""Time as image configs and Docker's filters write it.

Configs carry RFC 3339 timestamps with up to nanosecond precision ("2024-05-01T12:00:00.123456789Z");
Docker prints them back with Go's RFC3339Nano layout (trailing fractional zeros dropped).
Filters (`until`, prune) accept Go durations ("10m", "1h30m"), Unix timestamps and RFC 3339
variants, as moby's timestamp.Parse does.
"""

from __future__ import annotations

import calendar
import re
import time
from dataclasses import dataclass

from sangja.errors import InvalidParameter

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)


@dataclass(frozen=True)
class Timestamp:
    """An instant with nanosecond precision plus the UTC offset it was written with."""

    seconds: int           # since the Unix epoch
    nanos: int = 0
    offset_minutes: int = 0

    @property
    def unix(self) -> int:
        return self.seconds

    @property
    def unix_nanos(self) -> int:
        return self.seconds * 1_000_000_000 + self.nanos

    def rfc3339_nano(self) -> str:
        """Go's time.Format(time.RFC3339Nano)."""
        local = self.seconds + self.offset_minutes * 60
        tm = time.gmtime(local)
        out = time.strftime("%Y-%m-%dT%H:%M:%S", tm)
        if self.nanos:
            out += "." + f"{self.nanos:09d}".rstrip("0")
        if self.offset_minutes == 0:
            return out + "Z"
        sign = "+" if self.offset_minutes > 0 else "-"
        hours, minutes = divmod(abs(self.offset_minutes), 60)
        return f"{out}{sign}{hours:02d}:{minutes:02d}"


ZERO_TIME = "0001-01-01T00:00:00Z"   # Go's zero time.Time, which Docker prints for "never"


def parse_rfc3339(value: str) -> Timestamp | None:
    """Parse an RFC 3339 timestamp; None when it is not one."""
    m = _RFC3339.fullmatch(value.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    frac = (m.group(7) or "")[:9].ljust(9, "0")
    offset = 0
    if m.group(9):
        offset = int(m.group(10)) * 60 + int(m.group(11))
        if m.group(9) == "-":
            offset = -offset
    try:
        seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    return Timestamp(seconds - offset * 60, int(frac), offset)


def now() -> Timestamp:
    ns = time.time_ns()
    return Timestamp(ns // 1_000_000_000, ns % 1_000_000_000)


_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_go_duration(value: str) -> int | None:
    """Go's time.ParseDuration, in nanoseconds; None when `value` is not a duration."""
    s = value
    sign = 1
    if s[:1] in ("+", "-"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        return None
    total = 0.0
    pos = 0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if m is None:
            return None
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    return sign * int(total)


def _parse_unix(value: str) -> Timestamp:
    sec_str, _, frac = value.partition(".")
    try:
        sec = int(sec_str)
    except ValueError:
        raise InvalidParameter(
            f'failed to parse value as time or duration: invalid seconds "{sec_str}": invalid syntax'
        ) from None
    if frac and not frac.isdigit():
        raise InvalidParameter("failed to parse value as time or duration: invalid nanoseconds")
    return Timestamp(sec, int(frac[:9].ljust(9, "0")) if frac else 0)


def parse_filter_time(value: str, reference_ns: int | None = None) -> Timestamp:
    """moby's timestamp.Parse for `until`/`since` style filter values, relative to now.

    Durations count back from now; date-only and date-time forms without a zone are UTC here
    (the daemon runs in UTC, which is what moby's "local" means on a server)."""
    ref = time.time_ns() if reference_ns is None else reference_ns
    if not value.strip():
        raise InvalidParameter("failed to parse value as time or duration: value is empty")
    if value != "0":
        d = parse_go_duration(value)
        if d is not None:
            t = ref - d
            return Timestamp(t // 1_000_000_000, t % 1_000_000_000)
    ts = parse_rfc3339(value)
    if ts is not None:
        return ts
    for layout, pattern in (
        ("%Y-%m-%dT%H:%M:%S", r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}"),
        ("%Y-%m-%dT%H:%M", r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}"),
        ("%Y-%m-%dT%H", r"\d{4}-\d{2}-\d{2}T\d{2}"),
        ("%Y-%m-%d", r"\d{4}-\d{2}-\d{2}"),
    ):
        if re.fullmatch(pattern, value):
            try:
                return Timestamp(calendar.timegm(time.strptime(value, layout)))
            except ValueError:
                break
    if "-" in value:
        raise InvalidParameter(f'parsing time "{value}": cannot parse as RFC 3339')
    return _parse_unix(value)
