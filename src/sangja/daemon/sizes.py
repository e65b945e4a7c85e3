"""Disk usage of a container: SizeRw (its writable layer) and SizeRootFs (image + SizeRw)."""

from __future__ import annotations

import os
from pathlib import Path

from sangja.daemon.container import Container
from sangja.daemon.daemon import Daemon
from sangja.errors import SangjaError


def dir_size(path: str | os.PathLike[str]) -> int:
    """Bytes of the regular files under `path` (hard links counted once), without following links."""
    total = 0
    seen: set[tuple[int, int]] = set()
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            if st.st_nlink > 1:
                key = (st.st_dev, st.st_ino)
                if key in seen:
                    continue
                seen.add(key)
            total += st.st_size
    return total


def container_sizes(d: Daemon, c: Container) -> tuple[int, int]:
    """(SizeRw, SizeRootFs). Blocking: call it off the event loop."""
    rw = dir_size(Path(d.containers.directory(c.id)) / "upper")
    try:
        image_size = d.images.container_image(c.image_id).size
    except SangjaError:
        image_size = 0
    return rw, rw + image_size
