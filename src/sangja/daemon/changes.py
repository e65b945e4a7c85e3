"""`docker diff`: what a container changed in its image (GET /containers/{id}/changes).

Read from the container's overlay upper dir against the image's layers (image/rwlayer.py),
so it works the same on running and stopped containers and needs no mount.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sangja.daemon.container_fs import check_usable, layer_dirs
from sangja.daemon.daemon import Daemon
from sangja.image.rwlayer import changes


async def container_changes(d: Daemon, ref: str) -> list[dict[str, Any]]:
    c = d.containers.get(ref)
    check_usable(c)
    upper = str(d.containers.directory(c.id) / "upper")

    def compute() -> list[dict[str, Any]]:
        return [{"Path": ch.path, "Kind": ch.kind} for ch in changes(upper, layer_dirs(d, c))]

    return await asyncio.to_thread(compute)
