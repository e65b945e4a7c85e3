"""`GET /system/df`: disk usage of images, containers, volumes and build cache (moby's
daemon/disk_usage.go and the system router's getDiskUsage).

- Images: the top-level images (`docker images` without `-a`) with SharedSize and their
  container counts; LayersSize is every layer some image references, each counted once.
- Containers: every container with SizeRw and SizeRootFs.
- Volumes: the `local` volumes without options (a tmpfs or bind-style volume is not on the
  daemon's disk), with UsageData: Size (file bytes, each inode once; -1 when unreadable) and
  RefCount (the containers that mount it).
- BuildCache: always []: the classic builder's cache is its intermediate images, counted
  under Images; there is no separate build cache to report.

Every part walks directories, so each runs in a worker thread; the three run concurrently,
and concurrent requests for the same part share one computation (moby's singleflight).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sangja.daemon.daemon import Daemon
from sangja.daemon.image_list import list_images
from sangja.daemon.listing import list_containers
from sangja.daemon.sizes import dir_size
from sangja.daemon.usage import ContainerImageUsage
from sangja.errors import InvalidParameter

TYPES = ("container", "image", "volume", "build-cache")


@dataclass(frozen=True)
class DiskUsageOptions:
    containers: bool = True
    images: bool = True
    volumes: bool = True
    build_cache: bool = True

    @classmethod
    def from_types(cls, types: list[str] | None) -> DiskUsageOptions:
        """The `type=` query values (API >= 1.42); None (not given) means every type."""
        if types is None:
            return cls()
        for typ in types:
            if typ not in TYPES:
                raise InvalidParameter(f"unknown object type: {typ}")
        return cls("container" in types, "image" in types, "volume" in types, "build-cache" in types)


def container_usage(d: Daemon) -> list[dict[str, Any]]:
    """Every container's summary with SizeRw and SizeRootFs. Blocking."""
    return list_containers(d, True, -1, {}, size=True)


def image_usage(d: Daemon) -> tuple[int, list[dict[str, Any]]]:
    """(LayersSize, top-level image summaries with SharedSize and Containers). Blocking."""
    store = d.images
    with store.lock:
        summaries = list_images(store, ContainerImageUsage(d.containers), {}, all_images=False, shared_size=True)
        chains: set[str] = set()
        for image_id in store.ids():
            chains.update(store.chains(image_id))
        layers_size = sum(store.layer(c).size for c in chains)
    return layers_size, summaries


def volume_usage(d: Daemon) -> list[dict[str, Any]]:
    """The local volumes without options, with UsageData, sorted by name. Blocking."""
    refs: dict[str, int] = {}
    for c in d.containers:
        # A container counts once per volume even if it mounts the volume twice.
        for name in {mp.get("Name") for mp in c.mount_points or [] if mp.get("Type") == "volume"}:
            if name:
                refs[name] = refs.get(name, 0) + 1
    out: list[dict[str, Any]] = []
    for vol in sorted(d.volumes.volumes(), key=lambda v: v.name):
        if vol.options:
            continue
        try:
            size = dir_size(vol.mountpoint)
        except OSError:
            size = -1
        item = vol.to_api()
        item["UsageData"] = {"Size": size, "RefCount": refs.get(vol.name, 0)}
        out.append(item)
    return out


class DiskUsage:
    """One per daemon: answers /system/df, sharing in-flight computations between requests."""

    def __init__(self, d: Daemon) -> None:
        self.d = d
        self._inflight: dict[str, asyncio.Future[Any]] = {}

    async def _shared(self, kind: str, fn: Callable[[Daemon], Any]) -> Any:
        fut = self._inflight.get(kind)
        if fut is None:
            fut = asyncio.ensure_future(asyncio.to_thread(fn, self.d))
            self._inflight[kind] = fut
            fut.add_done_callback(lambda _f: self._inflight.pop(kind, None))
        # shield: one client leaving must not cancel the walk other clients wait for.
        return await asyncio.shield(fut)

    async def compute(self, opts: DiskUsageOptions) -> dict[str, Any]:
        """The response body of API 1.51 (Images/Containers/Volumes null when not asked for)."""
        jobs: list[tuple[str, Callable[[Daemon], Any]]] = []
        if opts.containers:
            jobs.append(("containers", container_usage))
        if opts.images:
            jobs.append(("images", image_usage))
        if opts.volumes:
            jobs.append(("volumes", volume_usage))
        results = await asyncio.gather(*(self._shared(kind, fn) for kind, fn in jobs))
        parts: dict[str, Any] = dict(zip((kind for kind, _ in jobs), results, strict=True))
        layers_size, images = parts.get("images", (0, None))
        return {
            "LayersSize": layers_size,
            "Images": images,
            "Containers": parts.get("containers"),
            "Volumes": parts.get("volumes"),
            "BuildCache": [] if opts.build_cache else None,
        }
