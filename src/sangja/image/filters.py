"""Docker's `filters` semantics for image listing and pruning (moby's filters.Args).

Filters arrive as {"name": ["value", ...]} (api.http.qfilters parses both wire forms).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sangja.errors import InvalidParameter

Filters = Mapping[str, list[str]]


def _go_slice(values: Iterable[str]) -> str:
    return "[" + " ".join(sorted(values)) + "]"


def validate(filters: Filters, accepted: Iterable[str]) -> None:
    allowed = set(accepted)
    for name in filters:
        if name not in allowed:
            raise InvalidParameter(f"invalid filter '{name}'")


def get_bool(filters: Filters, key: str, default: bool) -> bool:
    """A boolean filter: "1"/"true" or "0"/"false"; anything else (or both) is an error."""
    if key not in filters:
        return default
    values = set(filters[key])
    if not values:
        raise InvalidParameter(f"invalid filter '{key}'")
    is_false = bool(values & {"0", "false"})
    is_true = bool(values & {"1", "true"})
    if is_false == is_true:
        raise InvalidParameter(f"invalid filter '{key}={_go_slice(values)}'")
    return is_true


def match_kv_list(filters: Filters, key: str, labels: Mapping[str, str] | None) -> bool:
    """Every `key` filter value ("k" or "k=v") must be satisfied by `labels`."""
    values = filters.get(key) or []
    if not values:
        return True
    if not labels:
        return False
    for value in values:
        k, sep, v = value.partition("=")
        if k not in labels:
            return False
        if sep and labels[k] != v:
            return False
    return True
