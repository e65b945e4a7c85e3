"""`docker cp`: stat, read and write paths in a container (HEAD/GET/PUT /containers/{id}/archive).

Paths follow moby's container.ResolvePath: the path is taken as absolute in the container;
its directory part is resolved with symlinks followed *inside* the container's root (never
on the host: absolute link targets and ".." stop at the root), and its last element is not
followed (a symlink is archived as a symlink; its target is reported as `linkTarget`, which
`docker cp -L` then asks for). A trailing "/." names a directory's contents.

Works on running and stopped containers: a stopped one's rootfs is mounted for the request.
Like moby (which mounts the volumes over the rootfs before resolving), the path is resolved
in the container's view (`container_view.py`): volumes, binds and a running container's tmpfs
mounts are seen where the container sees them, a directory archive includes what is mounted
below it, and a write into a read-only mount is refused with moby's message.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import posixpath
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sangja.daemon.archive_split import split_by_mount
from sangja.daemon.container import Container
from sangja.daemon.container_fs import check_usable, container_root
from sangja.daemon.container_view import ContainerView, container_mounts, with_tmpfs_sources
from sangja.daemon.daemon import Daemon
from sangja.daemon.tarstream import tar_chunks
from sangja.daemon.volume_mounts import _copy_up, binds_as_mount_points
from sangja.errors import InvalidParameter, NotFound
from sangja.image.fsops import HostFsOps
from sangja.image.rwlayer import TreeWriter
from sangja.image.timeutil import Timestamp
from sangja.image.unpack import unpack_layer
from sangja.runtime.user import resolve_user

# Go's os.FileMode type bits (what the CLI decodes from the stat header).
GO_MODE_DIR = 1 << 31
GO_MODE_SYMLINK = 1 << 27
GO_MODE_DEVICE = 1 << 26
GO_MODE_PIPE = 1 << 25
GO_MODE_SOCKET = 1 << 24
GO_MODE_SETUID = 1 << 23
GO_MODE_SETGID = 1 << 22
GO_MODE_CHARDEV = 1 << 21
GO_MODE_STICKY = 1 << 20


def go_file_mode(mode: int) -> int:
    out = mode & 0o777
    if stat.S_ISDIR(mode):
        out |= GO_MODE_DIR
    elif stat.S_ISLNK(mode):
        out |= GO_MODE_SYMLINK
    elif stat.S_ISFIFO(mode):
        out |= GO_MODE_PIPE
    elif stat.S_ISSOCK(mode):
        out |= GO_MODE_SOCKET
    elif stat.S_ISCHR(mode):
        out |= GO_MODE_DEVICE | GO_MODE_CHARDEV
    elif stat.S_ISBLK(mode):
        out |= GO_MODE_DEVICE
    if mode & stat.S_ISUID:
        out |= GO_MODE_SETUID
    if mode & stat.S_ISGID:
        out |= GO_MODE_SETGID
    if mode & stat.S_ISVTX:
        out |= GO_MODE_STICKY
    return out


@dataclass(frozen=True)
class Resolved:
    host_path: str     # the path on the host, last element not followed
    abs_path: str      # the path in the container, cleaned, trailing "/." or "/" kept
    cpath: str = ""    # the path in the container with its links resolved (last one not followed)


def absolute_path(path: str) -> str:
    """moby's PreserveTrailingDotOrSeparator(filepath.Join("/", path), path)."""
    cleaned = posixpath.normpath("/" + path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    if path.endswith("/.") or path == ".":
        return cleaned.rstrip("/") + "/."
    if path.endswith("/") and cleaned != "/":
        return cleaned + "/"
    return cleaned


def resolve_path(root: str | ContainerView, path: str) -> Resolved:
    view = root if isinstance(root, ContainerView) else ContainerView(root)
    abs_path = absolute_path(path)
    directory, base = abs_path.rsplit("/", 1)
    cdir = view.resolve(directory or "/")
    host_dir = view.host_path(cdir)
    if base in ("", "."):
        return Resolved(host_dir.rstrip("/") + "/" + base if base else host_dir, abs_path, cdir)
    # The last element is not followed, but it may be a mount point (a volume's root).
    cpath = posixpath.join(cdir, base)
    return Resolved(view.host_path(cpath), abs_path, cpath)


def _name_of(abs_path: str) -> str:
    """Go's filepath.Base of the container path ("." for "/x/.", "/" for "/")."""
    if abs_path.endswith("/."):
        return "."
    stripped = abs_path.rstrip("/")
    return posixpath.basename(stripped) if stripped else "/"


def _stat(view: ContainerView, r: Resolved, path: str, c: Container) -> dict[str, Any]:
    try:
        st = os.lstat(r.host_path)
    except (FileNotFoundError, NotADirectoryError):
        raise NotFound(f"Could not find the file {path} in container {c.name.lstrip('/')}") from None
    link_target = ""
    if stat.S_ISLNK(st.st_mode):
        link_target = view.resolve(r.abs_path)
    return {
        "name": _name_of(r.abs_path),
        "size": st.st_size,
        "mode": go_file_mode(st.st_mode),
        "mtime": Timestamp(st.st_mtime_ns // 1_000_000_000, st.st_mtime_ns % 1_000_000_000).rfc3339_nano(),
        "linkTarget": link_target,
    }


def stat_header(info: dict[str, Any]) -> str:
    """The X-Docker-Container-Path-Stat header: base64 of the stat JSON."""
    return base64.b64encode(json.dumps(info, separators=(",", ":")).encode()).decode()


def _build_view(d: Daemon, c: Container, root: str) -> ContainerView:
    """The container's view over `root`: its volumes (mounted if they have options), binds and,
    while it runs, its tmpfs mounts. Blocking."""
    mount_points = c.mount_points or binds_as_mount_points(c.host_config.get("Binds") or [])

    def volume_source(name: str) -> str:
        vol = d.volumes.get(name)
        d.volumes.ensure_mounted(vol)
        return vol.mountpoint

    pid = c.state.pid if c.state.running else 0
    mounts = container_mounts(mount_points, c.host_config.get("Tmpfs") or {}, pid, volume_source)
    if not c.has_been_started:
        # dockerd fills a new volume from the image at create; sangja at the first start.
        # Before a never-started container's volume is read or written, it gets what the
        # container will see there (an empty volume only: a no-op once filled).
        for mp in mount_points:
            if mp.get("Type") == "volume" and mp.get("CopyData"):
                _copy_up(root, mp["Destination"], volume_source(mp["Name"]))
    return with_tmpfs_sources(root, mounts, pid)


@contextlib.asynccontextmanager
async def container_view(d: Daemon, c: Container) -> AsyncIterator[ContainerView]:
    async with container_root(d, c) as root:
        yield await asyncio.to_thread(_build_view, d, c, root)


async def stat_path(d: Daemon, ref: str, path: str) -> dict[str, Any]:
    c = d.containers.get(ref)
    async with container_view(d, c) as view:
        return await asyncio.to_thread(lambda: _stat(view, resolve_path(view, path), path, c))


def write_view_tar(view: ContainerView, r: Resolved, name: str, out: IO[bytes]) -> None:
    """A tar of `r` as the container sees it: a directory with what is mounted below it (each
    mount's tree in place of the mount point's directory in the layer underneath)."""
    w = TreeWriter(out)
    st = os.lstat(r.host_path)
    below = view.mounts_below(r.cpath) if stat.S_ISDIR(st.st_mode) else []
    top = r.cpath.rstrip("/")

    def skip(inside: str) -> frozenset[str]:
        base = inside.rstrip("/")
        return frozenset(m.destination[len(base):] for m in below if m.destination.startswith(base + "/"))

    w.add_tree(r.host_path, name, skip=skip(top))
    for m in below:
        rel = m.destination[len(top) + 1:]
        w.add_tree(view.host_path(m.destination), f"{name}/{rel}" if name else rel, skip=skip(m.destination))
    w.close()


async def read_archive(d: Daemon, ref: str, path: str) -> tuple[dict[str, Any], AsyncIterator[bytes]]:
    """The stat of `path` and a tar of it (answer 404 before any byte is sent)."""
    c = d.containers.get(ref)
    check_usable(c)
    entered = container_view(d, c)
    view = await entered.__aenter__()
    try:
        r = resolve_path(view, path)
        info = await asyncio.to_thread(_stat, view, r, path, c)
    except BaseException as exc:
        await entered.__aexit__(type(exc), exc, exc.__traceback__)
        raise

    async def body() -> AsyncIterator[bytes]:
        try:
            name = info["name"] if info["name"] != "/" else "."
            async for chunk in tar_chunks(lambda out: write_view_tar(view, r, name, out)):
                yield chunk
        finally:
            await entered.__aexit__(None, None, None)

    return info, body()


class _OwnerOps(HostFsOps):
    """Unpacking with every entry owned by one user (`docker cp -a` into a container with a User)."""

    def __init__(self, uid: int, gid: int) -> None:
        self.uid, self.gid = uid, gid

    def lchown(self, path: str, uid: int, gid: int) -> None:
        os.lchown(path, self.uid, self.gid)


def check_writable(view: ContainerView, cpath: str, readonly_rootfs: bool) -> None:
    """moby's checkIfPathIsInAVolume and read-only rootfs rule, for an extraction at `cpath`."""
    m = view.mount_of(cpath)
    in_volume = m is not None and m.mount_point
    if m is not None and in_volume and not m.rw:
        raise InvalidParameter("mounted volume is marked read-only")
    if not in_volume and readonly_rootfs:
        raise InvalidParameter("container rootfs is marked read-only")
    if m is not None and m.tmpfs:
        raise InvalidParameter(f"copying into the tmpfs mount {m.destination} is not supported")


async def write_archive(
    d: Daemon, ref: str, path: str, tar_path: Path, *, copy_uid_gid: bool = False
) -> None:
    """Extract the tar at `tar_path` into directory `path` of the container (moby's
    containerExtractToDir): the directory is resolved in the container's view, its last
    element followed too (an archive can be extracted through a link to a directory)."""
    c = d.containers.get(ref)
    async with container_view(d, c) as view:

        def extract() -> None:
            cpath = view.resolve(absolute_path(path))
            host = view.host_path(cpath)
            try:
                st = os.stat(host)
            except (FileNotFoundError, NotADirectoryError):
                raise NotFound(f"Could not find the file {path} in container {c.name.lstrip('/')}") from None
            if not stat.S_ISDIR(st.st_mode):
                raise InvalidParameter("extraction point is not a directory")
            check_writable(view, cpath, bool(c.host_config.get("ReadonlyRootfs")))
            ops = HostFsOps()
            user = c.config.get("User") or ""
            if copy_uid_gid and user:
                uid, gid, _ = resolve_user(view.rootfs, user)
                ops = _OwnerOps(uid, gid)
            # Entries that fall into a mount below the extraction point are unpacked there.
            with split_by_mount(tar_path, view, cpath) as parts:
                for host_dir, part in parts:
                    unpack_layer(part, Path(host_dir), ops, whiteouts=False)

        await asyncio.to_thread(extract)
    d.emit(c, "extract-to-dir")
