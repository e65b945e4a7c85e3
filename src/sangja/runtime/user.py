"""Resolve a Docker `--user` string against the container's own /etc/passwd and /etc/group.

Follows runc/moby's user lookup (moby/sys/user GetExecUser): a numeric user or group needs
no entry; a name must have one; the first matching line wins; supplementary groups come
from /etc/group only when the group was not given explicitly. Docker lists the primary
gid first in additionalGids, and so do we.

Paths are resolved inside the rootfs: a symlink (absolute or with "..") in the image can't
lead the lookup to the host's files.
"""

from __future__ import annotations

import os
import stat
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from sangja.errors import System

MAX_ID = 2147483647
MAX_SYMLINKS = 255


@dataclass(frozen=True)
class ExecUser:
    uid: int
    gid: int
    additional_gids: tuple[int, ...]   # primary gid first, then supplementary, then group_add
    home: str = "/"


def resolve_in_root(root: str, path: str) -> str:
    """The host path of `path` inside `root`, symlinks resolved as if `root` were "/".

    Like moby's FollowSymlinkInScope: ".." and absolute link targets stop at `root`.
    Missing components are kept as they are (the caller gets ENOENT when opening).
    """
    root = os.path.abspath(root)
    resolved = resolve_container_path(path, lambda p: root + p)
    return root + ("" if resolved == "/" else resolved)


def resolve_container_path(path: str, host_path: Callable[[str], str]) -> str:
    """The clean container path ("/" or "/a/b") that `path` leads to, following symlinks as the
    container would see them: `host_path` maps a container path to where it is on the host (a
    rootfs, or a rootfs with mounts), ".." and absolute link targets stop at the container's "/".
    Missing components are kept as they are."""
    pending = deque(path.split("/"))
    resolved = ""          # always "" or "/a/b": no symlinks in it
    links = 0
    while pending:
        part = pending.popleft()
        if part in ("", "."):
            continue
        if part == "..":
            resolved = resolved.rpartition("/")[0]
            continue
        candidate = f"{resolved}/{part}"
        host = host_path(candidate)
        try:
            st = os.lstat(host)
        except OSError:
            resolved = candidate
            continue
        if not stat.S_ISLNK(st.st_mode):
            resolved = candidate
            continue
        links += 1
        if links > MAX_SYMLINKS:
            raise System(f"too many links in {path}")
        target = os.readlink(host)
        if target.startswith("/"):
            resolved = ""
        pending.extendleft(reversed(target.split("/")))
    return resolved or "/"


def _read_lines(rootfs: str, path: str) -> list[list[str]] | None:
    """The colon-separated lines of a file in the rootfs, or None if it can't be read."""
    try:
        with open(resolve_in_root(rootfs, path), "rb") as f:
            data = f.read(16 * 1024 * 1024)
    except OSError:
        return None
    lines = []
    for raw in data.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if line:
            lines.append(line.split(":"))
    return lines


def _field(parts: list[str], i: int) -> str:
    return parts[i] if i < len(parts) else ""


def _num(text: str) -> int:
    """Numbers in passwd/group; junk counts as 0, like libcontainer (files in the wild misbehave)."""
    try:
        return int(text)
    except ValueError:
        return 0


def _parse_id(text: str) -> int | None:
    """A numeric user/group argument (Go's Atoi: optional sign, decimal digits)."""
    body = text[1:] if text[:1] in "+-" else text
    return int(text) if body.isdigit() else None


def _check_range(n: int) -> int:
    if n < 0 or n > MAX_ID:
        raise System(f"uids and gids must be in range 0-{MAX_ID}")
    return n


def lookup_user(rootfs: str, user: str, group_add: tuple[str, ...] = ()) -> ExecUser:
    """Resolve `user` ("", "name", "uid", "uid:gid", "name:group", "uid:group" ...).

    Errors (System, Docker's text):
        unable to find user nosuch: no matching entries in passwd file
        unable to find group nosuch: no matching entries in group file
        Unable to find group nosuch: no matching entries in group file   (group_add)
        uids and gids must be in range 0-2147483647
    """
    user_arg, _, group_arg = user.partition(":")
    uid_arg = _parse_id(user_arg)
    gid_arg = _parse_id(group_arg)
    uid, gid, home = 0, 0, "/"

    passwd = _read_lines(rootfs, "/etc/passwd")
    matched_name = ""
    for parts in passwd or []:
        p_uid = _num(_field(parts, 2))
        if user_arg == "":
            hit = p_uid == uid
        elif uid_arg is not None:
            hit = p_uid == uid_arg
        else:
            hit = _field(parts, 0) == user_arg
        if hit:
            matched_name = _field(parts, 0)
            uid, gid, home = p_uid, _num(_field(parts, 3)), _field(parts, 5) or "/"
            break
    else:
        if user_arg:
            if uid_arg is None:
                raise System(f"unable to find user {user_arg}: no matching entries in passwd file")
            uid = _check_range(uid_arg)

    supplementary: list[int] = []
    if group_arg or matched_name:
        groups = _read_lines(rootfs, "/etc/group") or []
        if group_arg:
            for parts in groups:
                g_gid = _num(_field(parts, 2))
                if (gid_arg is not None and g_gid == gid_arg) or (gid_arg is None and _field(parts, 0) == group_arg):
                    gid = g_gid
                    break
            else:
                if gid_arg is None:
                    raise System(f"unable to find group {group_arg}: no matching entries in group file")
                gid = _check_range(gid_arg)
        else:
            for parts in groups:
                members = _field(parts, 3).split(",")
                if matched_name in members:
                    supplementary.append(_num(_field(parts, 2)))

    extra = _additional_groups(rootfs, group_add) if group_add else []
    return ExecUser(uid=uid, gid=gid, additional_gids=(gid, *supplementary, *extra), home=home)


def _additional_groups(rootfs: str, names: tuple[str, ...]) -> list[int]:
    """--group-add: names must exist in /etc/group, numbers need not."""
    groups = _read_lines(rootfs, "/etc/group") or []
    out: list[int] = []
    for name in names:
        found = None
        for parts in groups:
            if _field(parts, 0) == name or _field(parts, 2) == name:
                found = _num(_field(parts, 2))
                break
        if found is None:
            number = _parse_id(name)
            if number is None:
                raise System(f"Unable to find group {name}: no matching entries in group file")
            found = _check_range(number)
        if found not in out:
            out.append(found)
    return out


def resolve_user(rootfs: str, user: str) -> tuple[int, int, tuple[int, ...]]:
    """(uid, gid, additional gids) for `user`; see `lookup_user` for the rules and errors."""
    u = lookup_user(rootfs, user)
    return u.uid, u.gid, u.additional_gids
