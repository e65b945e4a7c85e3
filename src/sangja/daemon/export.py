"""`docker export`: a container's whole file system as a tar stream (GET /containers/{id}/export).

The merged overlay is archived as the container sees it without its mounts: the engine's
mount points (/etc/hostname, /proc, ...) appear as the empty files and directories they are
in the rootfs, as with dockerd. A stopped container's rootfs is mounted for the duration.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from sangja.daemon.container import Container
from sangja.daemon.container_fs import check_usable, container_root
from sangja.daemon.daemon import Daemon
from sangja.daemon.tarstream import tar_chunks
from sangja.image.rwlayer import write_tree_tar


def export_container(d: Daemon, ref: str) -> AsyncIterator[bytes]:
    """The tar stream; NotFound/Conflict are raised here, before any byte is produced."""
    c = d.containers.get(ref)
    check_usable(c)
    return _export(d, c)


async def _export(d: Daemon, c: Container) -> AsyncIterator[bytes]:
    async with container_root(d, c) as root:
        async for chunk in tar_chunks(lambda out: write_tree_tar(root, "", out)):
            yield chunk
    d.emit(c, "export")
