"""`container prune`: remove every stopped container matching the filters."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sangja.daemon.daemon import Daemon
from sangja.daemon.remove import remove_container
from sangja.daemon.sizes import dir_size
from sangja.daemon.timefmt import parse_timestamp
from sangja.errors import InvalidParameter, SangjaError


async def prune_containers(d: Daemon, filters: dict[str, list[str]]) -> dict[str, Any]:
    for key in filters:
        if key not in ("until", "label", "label!"):
            raise InvalidParameter(f"invalid filter '{key}'")
    until = [parse_timestamp(u, time.time_ns()) for u in filters.get("until", [])]
    deleted: list[str] = []
    reclaimed = 0
    for c in list(d.containers):
        if c.state.running or c.state.status in ("restarting", "removing"):
            continue
        if until and not all(c.created_ns < u for u in until):
            continue
        labels = c.config.get("Labels") or {}
        if not all(_label_ok(labels, cond) for cond in filters.get("label", [])):
            continue
        if any(_label_ok(labels, cond) for cond in filters.get("label!", [])):
            continue
        size = await asyncio.to_thread(dir_size, d.containers.directory(c.id) / "upper")
        try:
            await remove_container(d, c.id)
        except SangjaError:
            continue
        deleted.append(c.id)
        reclaimed += size
    d.events.publish("container", "prune", "", {"reclaimed": str(reclaimed)})
    return {"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed}


def _label_ok(labels: dict[str, str], cond: str) -> bool:
    key, eq, value = cond.partition("=")
    return key in labels and (not eq or labels[key] == value)
