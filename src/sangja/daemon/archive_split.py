"""`cp` into a directory with mounts below it: the tar is split by mount before unpacking.

moby extracts with the container's volumes bind-mounted over the rootfs, so `docker cp dir
ctr:/` with a volume at /data writes dir's data/… into the volume. Here the view is resolved
in user space (container_view.py) and the unpacker writes under one host directory, so the
entries that fall inside a mount below the extraction point go to a tar of their own,
renamed relative to the mount, and are unpacked into the mount's host directory. An entry
naming the mount point itself is the mount's root (the unpacker leaves a root's metadata
alone, as moby leaves a mount point's).

A read-only mount below the extraction point that would receive entries fails the copy, as
the kernel's EROFS fails moby's untar.
"""

from __future__ import annotations

import contextlib
import tarfile
from collections.abc import Iterator
from pathlib import Path

from sangja.daemon.container_view import ContainerView, MountEntry
from sangja.errors import InvalidParameter
from sangja.image.unpack import clean_name


def _owner(cpath: str, below: list[MountEntry]) -> MountEntry | None:
    """The deepest mount below the extraction point holding container path `cpath`."""
    best = None
    for m in below:   # shallowest first: a later match is deeper
        if cpath == m.destination or cpath.startswith(m.destination + "/"):
            best = m
    return best


@contextlib.contextmanager
def split_by_mount(tar_path: Path, view: ContainerView, cpath: str) -> Iterator[list[tuple[str, Path]]]:
    """[(host directory, tar to unpack there)]: the extraction point first, then each mount below
    it that receives entries. The extra tars are written beside `tar_path` and removed after."""
    below = view.mounts_below(cpath)
    if not below:
        yield [(view.host_path(cpath), tar_path)]
        return
    base = cpath.rstrip("/")
    parts: dict[str, tuple[str, tarfile.TarFile, Path]] = {}   # mount destination ("": none) -> part
    try:
        with tarfile.open(tar_path, mode="r:", errors="surrogateescape") as src:
            for member in src:
                rel = clean_name(member.name)
                m = _owner(f"{base}/{rel}" if rel else cpath, below)
                key = m.destination if m else ""
                if key not in parts:
                    if m is not None and m.tmpfs:
                        raise InvalidParameter(f"copying into the tmpfs mount {m.destination} is not supported")
                    if m is not None and not m.rw:
                        raise InvalidParameter(f"mkdir {m.destination}: read-only file system")
                    path = tar_path.with_name(f"{tar_path.name}.{len(parts)}")
                    out = tarfile.open(path, mode="w", format=tarfile.PAX_FORMAT,  # noqa: SIM115 - closed below
                                       errors="surrogateescape")
                    parts[key] = (view.host_path(key or cpath), out, path)
                _, out, _ = parts[key]
                if key:
                    member.name = f"{base}/{rel}"[len(key):].lstrip("/") or "."
                    if member.islnk():
                        target = f"{base}/{clean_name(member.linkname)}"
                        member.linkname = target[len(key):].lstrip("/") if target.startswith(key + "/") else target
                out.addfile(member, src.extractfile(member) if member.isreg() else None)
        for _, out, _ in parts.values():
            out.close()
        yield [(host, path) for host, _, path in parts.values()]
    finally:
        for _, out, path in parts.values():
            with contextlib.suppress(Exception):
                out.close()
            path.unlink(missing_ok=True)
