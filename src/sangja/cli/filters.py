"""`--filter key=value` flags, parsed like docker's opts.FilterOpt."""

from __future__ import annotations

from sangja.cli.flags import Flag


def parse_filter(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise ValueError("bad format of filter (expected name=value)")
    key, _, value = text.partition("=")
    return key.strip().lower(), value.strip()


def filter_flag(short: str = "f", help: str = "Filter output based on conditions provided") -> Flag:
    return Flag("filter", short, "list", help, type_name="filter", convert=parse_filter)


def collect(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """The filter pairs given on the command line as {key: [values]}, in order."""
    out: dict[str, list[str]] = {}
    for key, value in pairs:
        values = out.setdefault(key, [])
        if value not in values:
            values.append(value)
    return out
