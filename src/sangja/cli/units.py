"""Human units exactly as docker prints and parses them (docker/go-units, Go's time package).

- `human_duration(seconds)`: "Less than a second", "About a minute", "3 hours", "2 weeks".
- `human_size(n, precision)`: decimal units, "%.<p>g" like Go: 4.26MB, 1.98MB, 0B, 1e+03kB.
- `bytes_size(n)`: binary units with 4 significant digits: 1.944GiB (used by `info`).
- `ram_in_bytes("512m")`, `from_human_size("1.5GB")`: docker's size parsers, raising
  ValueError with go-units' messages.
- `parse_go_duration("1h30m")` → seconds; `get_timestamp(value, now)` → the string the
  API expects for `since`/`until` (moby's timestamp.GetTimestamp).
"""

from __future__ import annotations

import time

DECIMAL_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def human_duration(seconds: float) -> str:
    """go-units HumanDuration for a duration given in seconds."""
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


def since(unix_seconds: float, now: float | None = None) -> str:
    """"<duration> ago" for a past unix time (docker's CreatedSince / RunningFor)."""
    now = time.time() if now is None else now
    return human_duration(now - unix_seconds) + " ago"


def _scale(size: float, base: float, units: tuple[str, ...]) -> tuple[float, str]:
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    return size, units[i]


def human_size(size: float, precision: int = 4) -> str:
    value, unit = _scale(float(size), 1000.0, DECIMAL_UNITS)
    return f"{value:.{precision}g}{unit}"


def bytes_size(size: float) -> str:
    value, unit = _scale(float(size), 1024.0, BINARY_UNITS)
    return f"{value:.4g}{unit}"


_DECIMAL_MAP = {"k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4, "p": 1000**5}
_BINARY_MAP = {"k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}


def _parse_size(text: str, units: dict[str, int]) -> int:
    sep = max(text.rfind(c) for c in "0123456789. ")
    if sep == -1:
        raise ValueError(f"invalid size: '{text}'")
    if text[sep] != " ":
        num, sfx = text[: sep + 1], text[sep + 1:]
    else:
        num, sfx = text[:sep], text[sep + 1:]
    try:
        size = float(num)
    except ValueError:
        raise ValueError(f'strconv.ParseFloat: parsing "{num}": invalid syntax') from None
    if size < 0:
        raise ValueError(f"invalid size: '{text}'")
    if not sfx:
        return int(size)
    low = sfx.lower()
    if len(sfx) > 3:
        raise ValueError(f"invalid suffix: '{sfx}'")
    if low[0] == "b":
        if len(low) > 1:
            raise ValueError(f"invalid suffix: '{low}'")
        return int(size)
    if low[0] not in units:
        raise ValueError(f"invalid suffix: '{low}'")
    if (len(low) == 2 and low[1] != "b") or (len(low) == 3 and low[1:] != "ib"):
        raise ValueError(f"invalid suffix: '{low}'")
    return int(size * units[low[0]])


def ram_in_bytes(text: str) -> int:
    """go-units RAMInBytes: "512m" → 536870912 (binary multiples)."""
    return _parse_size(text, _BINARY_MAP)


def from_human_size(text: str) -> int:
    return _parse_size(text, _DECIMAL_MAP)


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_go_duration(text: str) -> float:
    """Go's time.ParseDuration, in seconds; ValueError('time: invalid duration "x"')."""
    orig = text
    invalid = ValueError(f'time: invalid duration "{orig}"')
    if not text:
        raise invalid
    sign = 1.0
    if text[0] in "+-":
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:]
    if text == "0":
        return 0.0
    if not text:
        raise invalid
    total = 0.0
    while text:
        i = 0
        while i < len(text) and (text[i].isdigit() or text[i] == "."):
            i += 1
        if i == 0 or text[:i] == ".":
            raise invalid
        number = float(text[:i])
        text = text[i:]
        j = 0
        while j < len(text) and not (text[j].isdigit() or text[j] == "."):
            j += 1
        unit = text[:j]
        if not unit:
            raise ValueError(f'time: missing unit in duration "{orig}"')
        if unit not in _DURATION_UNITS:
            raise ValueError(f'time: unknown unit "{unit}" in duration "{orig}"')
        total += number * _DURATION_UNITS[unit]
        text = text[j:]
    return sign * total


def go_duration_string(seconds: float) -> str:
    """Go's Duration.String() for whole seconds: 0s, 45s, 1m30s, 2h0m5s."""
    s = round(seconds)
    if s == 0:
        return "0s"
    sign = "-" if s < 0 else ""
    s = abs(s)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if h:
        return f"{sign}{h}h{m}m{sec}s"
    if m:
        return f"{sign}{m}m{sec}s"
    return f"{sign}{sec}s"


def get_timestamp(value: str, now: float | None = None) -> str:
    """moby's GetTimestamp: a Go duration (relative to now), an RFC 3339 date/time (local
    zone when none is given) or a unix timestamp → the API's "seconds[.nanoseconds]"."""
    reference = time.time() if now is None else now
    if value != "0":
        try:
            return str(int(reference - parse_go_duration(value)))
        except ValueError:
            pass
    sec, dot, frac = value.partition(".")
    if sec.lstrip("-").isdigit() and (not dot or frac.isdigit()):
        return value  # already a unix timestamp
    if "-" not in value:
        raise ValueError(f'failed to parse value as time or duration: "{value}"')
    import datetime as dt

    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f'parsing time "{value}": cannot parse as RFC 3339') from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.datetime.fromtimestamp(reference).astimezone().tzinfo)
    whole = int(parsed.replace(microsecond=0).timestamp())
    return f"{whole}.{parsed.microsecond * 1000:09d}"


def go_time_string(unix_seconds: float) -> str:
    """Go's time.Unix(s, 0).String() in the local zone: "2024-05-01 10:00:00 +0000 UTC"."""
    t = time.localtime(unix_seconds)
    return time.strftime("%Y-%m-%d %H:%M:%S %z %Z", t)


def rfc3339(unix_seconds: float) -> str:
    """time.Format(time.RFC3339) in the local zone: "2024-05-01T10:00:00Z" or "...+02:00"."""
    t = time.localtime(unix_seconds)
    off = t.tm_gmtoff or 0
    if off == 0:
        zone = "Z"
    else:
        sign = "+" if off > 0 else "-"
        off = abs(off)
        zone = f"{sign}{off // 3600:02d}:{off % 3600 // 60:02d}"
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + zone


def parse_rfc3339(text: str) -> float:
    """A daemon timestamp ("2024-05-01T10:00:00.123456789Z") → unix seconds (0 for Go's zero time)."""
    import datetime as dt

    if not text or text.startswith("0001-01-01"):
        return 0.0
    main, frac, rest = text, "", ""
    if "." in text:
        main, _, tail = text.partition(".")
        i = 0
        while i < len(tail) and tail[i].isdigit():
            i += 1
        frac, rest = tail[:i], tail[i:]
    else:
        for i, c in enumerate(text[19:], 19):
            if c in "Zz+-":
                main, rest = text[:i], text[i:]
                break
    if rest in ("Z", "z", ""):
        rest = "+00:00"
    parsed = dt.datetime.fromisoformat(main + rest)
    return parsed.timestamp() + (float("0." + frac) if frac else 0.0)
