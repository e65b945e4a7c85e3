"""mount(2) and umount2(2), and reading the mount table.

Why ctypes and not /bin/mount: the rootfs mount sits on the hot path of `docker run`
(spawning mount(8) costs a fork+exec, ~3-5 ms, and it re-parses options and may
consult /etc/fstab); the syscall is one call with an exact errno on failure.

`Mounter` is the seam: runtime/rootfs.py takes one, unit tests pass a fake that
records calls. `LIBC` is the real one.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
from dataclasses import dataclass
from typing import Protocol

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18

MNT_FORCE = 0x1
MNT_DETACH = 0x2

MOUNTINFO = "/proc/self/mountinfo"


class Mounter(Protocol):
    """The kernel calls rootfs setup needs. Failures raise OSError with the errno."""

    def mount(self, source: str, target: str, fstype: str, flags: int = 0, data: str = "") -> None: ...

    def unmount(self, target: str, flags: int = 0) -> None: ...

    def mountpoints(self) -> set[str]: ...


@dataclass(frozen=True)
class MountInfo:
    """One line of /proc/self/mountinfo (the fields sangja uses)."""

    mount_point: str
    root: str
    fstype: str
    source: str
    options: str          # per-mount options, e.g. "rw,relatime"
    super_options: str    # per-superblock options, e.g. "rw,lowerdir=..." or "rw,memory"


def _unescape(field: str) -> str:
    """Undo the kernel's octal escapes (\\040 for space, \\011 tab, \\012 newline, \\134 backslash)."""
    if "\\" not in field:
        return field
    out: list[str] = []
    i = 0
    while i < len(field):
        c = field[i]
        if c == "\\" and i + 4 <= len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[MountInfo]:
    """Parse mountinfo text (see proc(5)); malformed lines are skipped."""
    mounts: list[MountInfo] = []
    for line in text.splitlines():
        fields = line.split(" ")
        try:
            sep = fields.index("-", 6)
        except ValueError:
            continue
        if len(fields) < sep + 4:
            continue
        mounts.append(
            MountInfo(
                mount_point=_unescape(fields[4]),
                root=_unescape(fields[3]),
                fstype=fields[sep + 1],
                source=_unescape(fields[sep + 2]),
                options=fields[5],
                super_options=fields[sep + 3],
            )
        )
    return mounts


def read_mountinfo(path: str = MOUNTINFO) -> list[MountInfo]:
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        return parse_mountinfo(f.read())


class LibcMounter:
    """The real kernel, through libc."""

    def __init__(self) -> None:
        self._libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        self._libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                                     ctypes.c_char_p]
        self._libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]

    def mount(self, source: str, target: str, fstype: str, flags: int = 0, data: str = "") -> None:
        rc = self._libc.mount(
            os.fsencode(source), os.fsencode(target), os.fsencode(fstype) if fstype else None,
            flags, os.fsencode(data) if data else None,
        )
        if rc != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"mount {fstype} on {target}: {os.strerror(err)}", target)

    def unmount(self, target: str, flags: int = 0) -> None:
        rc = self._libc.umount2(os.fsencode(target), flags)
        if rc != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"umount {target}: {os.strerror(err)}", target)

    def mountpoints(self) -> set[str]:
        return {m.mount_point for m in read_mountinfo()}


_libc_mounter: LibcMounter | None = None


def libc_mounter() -> LibcMounter:
    """The process-wide real Mounter (created on first use)."""
    global _libc_mounter
    if _libc_mounter is None:
        _libc_mounter = LibcMounter()
    return _libc_mounter


def unmount_quietly(mounter: Mounter, target: str) -> bool:
    """Unmount `target`; fall back to a lazy detach when it is busy.

    Returns True if something was unmounted, False if nothing was mounted there.
    Other errors propagate.
    """
    try:
        mounter.unmount(target)
        return True
    except OSError as e:
        if e.errno in (errno.EINVAL, errno.ENOENT):
            return False            # not a mount point (any more)
        if e.errno != errno.EBUSY:
            raise
    mounter.unmount(target, MNT_DETACH)
    return True
