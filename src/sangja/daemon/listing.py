"""`GET /containers/json`: Docker's filters, ordering (newest first), limit."""

from __future__ import annotations

import fnmatch
import time
from typing import Any

from sangja.daemon import health
from sangja.daemon.container import Container
from sangja.daemon.daemon import Daemon
from sangja.daemon.sizes import container_sizes
from sangja.daemon.views import summary
from sangja.errors import InvalidParameter, SangjaError

FILTERS = (
    "id",
    "name",
    "label",
    "status",
    "ancestor",
    "exited",
    "before",
    "since",
    "health",
    "isolation",
    "network",
    "publish",
    "expose",
    "volume",
    "is-task",
)
STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")


def list_containers(
    d: Daemon, all_: bool, limit: int, filters: dict[str, list[str]], size: bool = False
) -> list[dict[str, Any]]:
    for key in filters:
        if key not in FILTERS:
            raise InvalidParameter(f"invalid filter '{key}'")
    for st in filters.get("status", []):
        if st not in STATUSES:
            raise InvalidParameter(f"invalid filter 'status={st}'")
    health.check_filter(filters.get("health", []))
    items = sorted(d.containers, key=lambda c: c.created_ns, reverse=True)
    before = [d.containers.get(r).created_ns for r in filters.get("before", [])]
    since = [d.containers.get(r).created_ns for r in filters.get("since", [])]
    ancestors = _ancestor_ids(d, filters.get("ancestor", []))
    out: list[dict[str, Any]] = []
    now = time.time_ns()
    show_all = all_ or limit > 0 or bool(filters.get("status") or filters.get("exited"))
    for c in items:
        if not show_all and not c.state.running and c.state.status != "restarting":
            continue
        if not _matches(c, filters, ancestors):
            continue
        if before and not all(c.created_ns < b for b in before):
            continue
        if since and not all(c.created_ns > s for s in since):
            continue
        entry = summary(c, {}, now)
        if size:
            entry["SizeRw"], entry["SizeRootFs"] = container_sizes(d, c)
        out.append(entry)
        if limit > 0 and len(out) >= limit:
            break
    return out


def _ancestor_ids(d: Daemon, refs: list[str]) -> set[str] | None:
    if not refs:
        return None
    ids: set[str] = set()
    for ref in refs:
        try:
            ids.add(d.images.get(ref).id)
        except SangjaError:
            ids.add(ref)
    return ids


def _matches(c: Container, f: dict[str, list[str]], ancestors: set[str] | None) -> bool:
    if "id" in f and not any(c.id.startswith(v) for v in f["id"]):
        return False
    if "name" in f and not any(_name_match(c.name, v) for v in f["name"]):
        return False
    if "status" in f and c.state.status not in f["status"]:
        return False
    if not health.matches_filter(c, f.get("health", [])):
        return False
    if "exited" in f and (c.state.status != "exited" or str(c.state.exit_code) not in f["exited"]):
        return False
    if "label" in f:
        labels = c.config.get("Labels") or {}
        for cond in f["label"]:
            key, eq, value = cond.partition("=")
            if key not in labels or (eq and labels[key] != value):
                return False
    if ancestors is not None and c.image_id not in ancestors and c.image not in ancestors:
        return False
    return not ("network" in f and c.host_config.get("NetworkMode") not in f["network"])


def _name_match(name: str, pattern: str) -> bool:
    import re

    try:
        return re.search(pattern, name.lstrip("/")) is not None
    except re.error:
        return fnmatch.fnmatch(name.lstrip("/"), pattern)
