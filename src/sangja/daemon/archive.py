"""`docker cp`: stat, read and write paths in a container (HEAD/GET/PUT /containers/{id}/archive).

Paths follow moby's container.ResolvePath: the path is taken as absolute in the container;
its directory part is resolved with symlinks followed *inside* the container's root (never
on the host: absolute link targets and ".." stop at the root), and its last element is not
followed (a symlink is archived as a symlink; its target is reported as `linkTarget`, which
`docker cp -L` then asks for). A trailing "/." names a directory's contents.

Works on running and stopped containers: a stopped one's rootfs is mounted for the request.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import posixpath
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sangja.daemon.container import Container
from sangja.daemon.container_fs import check_usable, container_root
from sangja.daemon.daemon import Daemon
from sangja.daemon.tarstream import tar_chunks
from sangja.errors import InvalidParameter, NotFound
from sangja.image.fsops import HostFsOps
from sangja.image.rwlayer import write_tree_tar
from sangja.image.timeutil import Timestamp
from sangja.image.unpack import unpack_layer
from sangja.runtime.user import resolve_in_root, resolve_user

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


def resolve_path(root: str, path: str) -> Resolved:
    abs_path = absolute_path(path)
    directory, base = abs_path.rsplit("/", 1)
    host_dir = resolve_in_root(root, directory or "/")
    return Resolved(host_dir.rstrip("/") + "/" + base if base else host_dir, abs_path)


def _name_of(abs_path: str) -> str:
    """Go's filepath.Base of the container path ("." for "/x/.", "/" for "/")."""
    if abs_path.endswith("/."):
        return "."
    stripped = abs_path.rstrip("/")
    return posixpath.basename(stripped) if stripped else "/"


def _stat(root: str, r: Resolved, path: str, c: Container) -> dict[str, Any]:
    try:
        st = os.lstat(r.host_path)
    except (FileNotFoundError, NotADirectoryError):
        raise NotFound(f"Could not find the file {path} in container {c.name.lstrip('/')}") from None
    link_target = ""
    if stat.S_ISLNK(st.st_mode):
        rel = os.path.relpath(resolve_in_root(root, r.abs_path), root)
        link_target = "/" if rel == "." else "/" + rel
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


async def stat_path(d: Daemon, ref: str, path: str) -> dict[str, Any]:
    c = d.containers.get(ref)
    async with container_root(d, c) as root:
        return await asyncio.to_thread(lambda: _stat(root, resolve_path(root, path), path, c))


async def read_archive(d: Daemon, ref: str, path: str) -> tuple[dict[str, Any], AsyncIterator[bytes]]:
    """The stat of `path` and a tar of it (answer 404 before any byte is sent)."""
    c = d.containers.get(ref)
    check_usable(c)
    entered = container_root(d, c)
    root = await entered.__aenter__()
    try:
        r = resolve_path(root, path)
        info = await asyncio.to_thread(_stat, root, r, path, c)
    except BaseException as exc:
        await entered.__aexit__(type(exc), exc, exc.__traceback__)
        raise

    async def body() -> AsyncIterator[bytes]:
        try:
            name = info["name"] if info["name"] != "/" else "."
            async for chunk in tar_chunks(lambda out: write_tree_tar(r.host_path, name, out)):
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


async def write_archive(
    d: Daemon, ref: str, path: str, tar_path: Path, *, copy_uid_gid: bool = False
) -> None:
    """Extract the tar at `tar_path` into directory `path` of the container (moby's
    containerExtractToDir): the directory is resolved inside the container's root."""
    c = d.containers.get(ref)
    if c.host_config.get("ReadonlyRootfs"):
        raise InvalidParameter("container rootfs is marked read-only")
    async with container_root(d, c) as root:

        def extract() -> None:
            abs_path = absolute_path(path)
            host = resolve_in_root(root, abs_path)
            try:
                st = os.stat(host)
            except (FileNotFoundError, NotADirectoryError):
                raise NotFound(f"Could not find the file {path} in container {c.name.lstrip('/')}") from None
            if not stat.S_ISDIR(st.st_mode):
                raise InvalidParameter("extraction point is not a directory")
            ops = HostFsOps()
            user = c.config.get("User") or ""
            if copy_uid_gid and user:
                uid, gid, _ = resolve_user(root, user)
                ops = _OwnerOps(uid, gid)
            unpack_layer(tar_path, Path(host), ops)

        await asyncio.to_thread(extract)
    d.emit(c, "extract-to-dir")
