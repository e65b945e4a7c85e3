"""The volume verbs: create, list (with Docker's filters), inspect, remove, prune.

Which containers use a volume comes from the containers' mount points (any state: a
stopped container still holds its volumes, as in Docker).
"""

from __future__ import annotations

import asyncio
from typing import Any

from sangja.daemon.daemon import Daemon
from sangja.daemon.volume_mounts import volume_users
from sangja.errors import InvalidParameter, NotFound, SangjaError
from sangja.volume.store import DRIVER, Volume

LIST_FILTERS = ("dangling", "name", "label", "driver")
PRUNE_FILTERS = ("label", "label!", "all")


def _check_labels(where: str, labels: Any) -> dict[str, str]:
    if labels is None:
        return {}
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise InvalidParameter(f"invalid JSON: {where} must be an object of strings")
    return dict(labels)


def _check_driver(driver: Any) -> None:
    if driver not in (None, "", DRIVER):
        raise NotFound(f'error looking up volume plugin {driver}: plugin "{driver}" not found')


async def create_volume(d: Daemon, body: dict[str, Any]) -> dict[str, Any]:
    name = body.get("Name") or ""
    if not isinstance(name, str):
        raise InvalidParameter("invalid JSON: Name must be a string")
    _check_driver(body.get("Driver"))
    labels = _check_labels("Labels", body.get("Labels"))
    opts = _check_labels("DriverOpts", body.get("DriverOpts"))
    vol, created = await asyncio.to_thread(d.volumes.create, name, labels, opts)
    if created:
        d.events.publish("volume", "create", vol.name, {"driver": DRIVER})
    return vol.to_api()


def _label_match(labels: dict[str, str], cond: str) -> bool:
    key, eq, value = cond.partition("=")
    return key in labels and (not eq or labels[key] == value)


def _bool_filter(name: str, values: list[str]) -> bool:
    v = values[-1].lower()
    if v in ("1", "true"):
        return True
    if v in ("0", "false"):
        return False
    raise InvalidParameter(f"invalid filter '{name}={values[-1]}'")


def _in_use(d: Daemon) -> set[str]:
    return {
        mp["Name"] for c in d.containers for mp in c.mount_points or []
        if mp.get("Type") == "volume" and mp.get("Name")
    }


def list_volumes(d: Daemon, filters: dict[str, list[str]]) -> dict[str, Any]:
    for key in filters:
        if key not in LIST_FILTERS:
            raise InvalidParameter(f"invalid filter '{key}'")
    used = _in_use(d)
    out: list[Volume] = []
    for vol in d.volumes.volumes():
        if "dangling" in filters and (vol.name not in used) != _bool_filter("dangling", filters["dangling"]):
            continue
        if filters.get("name") and not any(n in vol.name for n in filters["name"]):
            continue
        if filters.get("driver") and DRIVER not in filters["driver"]:
            continue
        if not all(_label_match(vol.labels, c) for c in filters.get("label", [])):
            continue
        out.append(vol)
    return {"Volumes": [v.to_api() for v in out], "Warnings": []}


def inspect_volume(d: Daemon, name: str) -> dict[str, Any]:
    return d.volumes.get(name).to_api()


async def remove_volume(d: Daemon, name: str, force: bool = False) -> None:
    vol = d.volumes.find(name)
    if vol is None:
        if force:
            return
        raise NotFound(f"get {name}: no such volume")
    await asyncio.to_thread(d.volumes.remove, name, volume_users(d, name))
    d.events.publish("volume", "destroy", name, {"driver": DRIVER})


async def prune_volumes(d: Daemon, filters: dict[str, list[str]], all_volumes: bool) -> dict[str, Any]:
    """Remove unused volumes: only anonymous ones unless `all_volumes` (API >= 1.42's rule)."""
    for key in filters:
        if key not in PRUNE_FILTERS:
            raise InvalidParameter(f"invalid filter '{key}'")
    if "all" in filters:
        all_volumes = _bool_filter("all", filters["all"])
    used = _in_use(d)
    deleted: list[str] = []
    reclaimed = 0
    for vol in d.volumes.volumes():
        if vol.name in used or (not all_volumes and not vol.anonymous):
            continue
        if not all(_label_match(vol.labels, c) for c in filters.get("label", [])):
            continue
        if any(_label_match(vol.labels, c) for c in filters.get("label!", [])):
            continue
        size = await asyncio.to_thread(d.volumes.size, vol)
        try:
            await remove_volume(d, vol.name)
        except SangjaError:  # e.g. in use by a container created meanwhile: skip, like Docker
            continue
        deleted.append(vol.name)
        reclaimed += size
    d.events.publish("volume", "prune", "", {"reclaimed": str(reclaimed)})
    return {"VolumesDeleted": deleted or None, "SpaceReclaimed": reclaimed}
