"""A container's root file system for reading and writing it from the host (cp, export, diff).

    async with container_root(d, c) as root: ...     # the merged overlay, mounted if needed

A running container's rootfs is mounted already. A stopped one is mounted through the
daemon's rootfs seam for the duration of the block, with the container's lock held so that
it cannot start (and the mount cannot be pulled) meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sangja.daemon.container import Container
from sangja.daemon.daemon import Daemon
from sangja.errors import Conflict, SangjaError


def layer_dirs(d: Daemon, c: Container) -> list[str]:
    """The container's image layers as overlay lower dirs, top-most first. Blocking."""
    try:
        return d.images.layer_dirs(d.images.container_image(c.image_id))
    except SangjaError as exc:
        raise Conflict(f"container {c.short_id}: its image is gone: {exc}") from None


def check_usable(c: Container) -> None:
    if c.state.status in ("removing", "dead"):
        raise Conflict(f"container {c.short_id} is marked for removal")


@contextlib.asynccontextmanager
async def container_root(d: Daemon, c: Container) -> AsyncIterator[str]:
    check_usable(c)
    if c.state.running and c.rootfs:
        yield c.rootfs
        return
    async with d.lock(c.id):
        if c.state.running and c.rootfs:
            yield c.rootfs
            return
        directory = d.containers.directory(c.id)
        lowers = await asyncio.to_thread(layer_dirs, d, c)
        root = await asyncio.to_thread(d.rootfs.mount, lowers, directory)
        try:
            yield root
        finally:
            if not c.state.running:
                await asyncio.to_thread(d.rootfs.unmount, directory)
