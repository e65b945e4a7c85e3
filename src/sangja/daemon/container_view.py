"""A container's file system as its processes see it, reached from the host (`cp`).

    view = ContainerView(rootfs, [MountEntry("/data", "/var/lib/sangja/volumes/v/_data", rw=True), ...])
    cpath = view.resolve("/data/link/file")      # a clean path in the container, links followed
    host = view.host_path(cpath)                 # where that is on the host

The rootfs (the merged overlay) with the container's mounts laid over it, like moby's
openContainerFS (which bind-mounts the volumes over the rootfs in a private mount namespace
before resolving anything): volumes and binds are their host directories, a running
container's tmpfs mounts are reached through /proc/<pid>/root (they exist only in its mount
namespace). Paths are resolved one component at a time, as in moby's FollowSymlinkInScope,
but in *container* coordinates: the mount table is consulted at every step, so a symlink
inside a volume that points to /etc/passwd means the container's /etc/passwd, and ".." or an
absolute target never leave the container's root. Nothing here follows a link on the host:
every component handed to the kernel has been checked not to be a symlink.

Mount destinations are themselves resolved through the view (shallowest first), as runc
does when it mounts them (an image's /var/run -> /run makes a `-v x:/var/run/app` live at
/run/app).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from sangja.runtime.user import resolve_container_path


@dataclass(frozen=True)
class MountEntry:
    destination: str          # in the container, as configured; resolved by ContainerView
    source: str               # the host directory (or file) that is seen there
    rw: bool = True
    # moby's checkIfPathIsInAVolume only knows the MountPoints (volumes, binds, --mount);
    # a `--tmpfs` is not one of them, so a read-only rootfs still refuses writes into it.
    mount_point: bool = True
    # A running container's tmpfs, read through /proc/<pid>/root: the unpacker, which resolves
    # its destination on the host, cannot write there.
    tmpfs: bool = False


def clean(path: str) -> str:
    """An absolute, cleaned container path ("/" for the root, never a trailing "/")."""
    out = posixpath.normpath("/" + path)
    return "/" + out.lstrip("/")


def _depth(path: str) -> int:
    return 0 if path == "/" else path.count("/")


def _under(path: str, top: str) -> bool:
    """`path` is `top` or inside it (both clean)."""
    return top == "/" or path == top or path.startswith(top + "/")


class ContainerView:
    def __init__(self, rootfs: str, mounts: Iterable[MountEntry] = ()) -> None:
        self.rootfs = os.path.abspath(rootfs)
        self.mounts: list[MountEntry] = []   # destinations resolved, shallowest first
        # Docker mounts in order of depth (sortMounts), so a deeper mount is on top.
        for m in sorted(mounts, key=lambda m: _depth(clean(m.destination))):
            dest = self.resolve(m.destination)
            self.mounts = [x for x in self.mounts if x.destination != dest]
            self.mounts.append(replace(m, destination=dest))

    def mount_of(self, cpath: str) -> MountEntry | None:
        """The mount that holds the clean container path `cpath` (the deepest), or None for the rootfs."""
        best: MountEntry | None = None
        for m in self.mounts:
            if _under(cpath, m.destination) and (best is None or _depth(m.destination) >= _depth(best.destination)):
                best = m
        return best

    def host_path(self, cpath: str) -> str:
        """Where the clean container path `cpath` is on the host (its last element not followed)."""
        m = self.mount_of(cpath)
        if m is None:
            return self.rootfs if cpath == "/" else self.rootfs + cpath
        rest = cpath[len(m.destination):] if m.destination != "/" else cpath
        return m.source.rstrip("/") + rest if rest not in ("", "/") else m.source

    def mounts_below(self, cpath: str) -> list[MountEntry]:
        """Mounts strictly inside the directory `cpath`, shallowest first."""
        return [m for m in self.mounts if m.destination != cpath and _under(m.destination, cpath)]

    def resolve(self, path: str, *, follow_last: bool = True) -> str:
        """The clean container path `path` leads to, symlinks followed inside the view.

        Missing components are kept as they are (the caller gets ENOENT when opening).
        With follow_last=False a symlink as the last element is left as it is (lstat semantics)."""
        if not follow_last:
            head, base = clean(path).rsplit("/", 1)
            return clean(self.resolve(head or "/") + "/" + base) if base else "/"
        return resolve_container_path(path, self.host_path)


def container_mounts(mount_points: list[dict[str, Any]], tmpfs: dict[str, str], pid: int,
                     volume_source: Any) -> list[MountEntry]:
    """The view's mounts from a container's record: Docker's MountPoints and HostConfig.Tmpfs.

    `volume_source(name)` gives a named volume's host directory (mounting it if it has options).
    `pid` is the running container's init process (0 when stopped): a tmpfs exists only while
    the container runs, inside its mount namespace; a stopped container's are left out (like
    dockerd's cp, which never sees them), so the rootfs below shows."""
    out: list[MountEntry] = []
    for mp in mount_points:
        dest = mp.get("Destination") or ""
        if not dest:
            continue
        rw = bool(mp.get("RW", True))
        kind = mp.get("Type")
        if kind == "tmpfs":
            if pid:
                out.append(MountEntry(dest, "", rw, True))
        elif kind == "volume":
            out.append(MountEntry(dest, volume_source(mp["Name"]), rw, True))
        elif mp.get("Source"):
            out.append(MountEntry(dest, mp["Source"], rw, True))
    if pid:
        out.extend(MountEntry(dest, "", "ro" not in (opts or "").split(","), False)
                   for dest, opts in (tmpfs or {}).items())
    return out


def with_tmpfs_sources(view_rootfs: str, mounts: list[MountEntry], pid: int) -> ContainerView:
    """The view, with each tmpfs (an entry without a source) reached through /proc/<pid>/root
    at its resolved destination — the destination is resolved first, so the path handed to
    the kernel under /proc/<pid>/root holds no symlink."""
    plain = [m for m in mounts if m.source]
    view = ContainerView(view_rootfs, plain)
    resolved = [MountEntry(view.resolve(m.destination), f"/proc/{pid}/root{view.resolve(m.destination)}",
                           m.rw, m.mount_point, tmpfs=True) for m in mounts if not m.source]
    return ContainerView(view_rootfs, [*view.mounts, *resolved]) if resolved else view
