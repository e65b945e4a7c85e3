"""A container's writable layer (the overlay upper dir) read as changes and as a layer tar.

    changes(upper, lowers)            -> [Change("/etc", MODIFY), Change("/etc/x", ADD), ...]
    write_layer_tar(upper, out_file)  -> the diff ID of the layer tar written to `out_file`
    write_tree_tar(root, name, out)   -> a tar of one file or tree (export, `docker cp`)

overlayfs keeps a deletion as a whiteout (a character device 0/0) and a directory that
replaced a lower one as an opaque directory (xattr trusted.overlay.opaque=y). In a layer tar
they become `.wh.<name>` and `.wh..wh..opq` (moby's overlay whiteout converter), so the
layer unpacks the same way on any engine. Paths the engine itself creates as mount points in
every container (Docker keeps them in the "init layer": /etc/hostname, /etc/hosts,
/etc/resolv.conf, /dev, /proc, /sys, /.dockerenv) are never part of a container's changes.

Like moby's changes.go, a directory is "changed" when its mode or ownership differs from the
image's, or when something below it changed (so a layer restores the directory's metadata).
Blocking I/O: call from a worker thread.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
from dataclasses import dataclass
from typing import IO

from sangja.image.fsops import OPAQUE_XATTR

MODIFY, ADD, DELETE = 0, 1, 2
KIND_LETTER = {MODIFY: "C", ADD: "A", DELETE: "D"}

INIT_PATHS = frozenset(
    ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/etc/mtab", "/.dockerenv", "/.dockerinit",
     "/dev", "/proc", "/sys"]
)
WHITEOUT_PREFIX = ".wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"
# Docker's digest of an empty layer: a tar of nothing but its two zero end blocks.
EMPTY_LAYER_DIFF_ID = "sha256:" + hashlib.sha256(b"\0" * 1024).hexdigest()
COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class Change:
    path: str
    kind: int


def is_init_path(rel: str) -> bool:
    return any(rel == p or rel.startswith(p + "/") for p in INIT_PATHS)


def is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def is_opaque(path: str) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


class LowerView:
    """The image's file system as overlayfs shows it: `lowers` are layer dirs, top-most first."""

    def __init__(self, lowers: list[str]) -> None:
        self.lowers = lowers

    def lstat(self, rel: str) -> os.stat_result | None:
        """The entry at `rel` ("/a/b") in the merged lower layers, or None if there is none."""
        parts = [p for p in rel.split("/") if p]
        for layer in self.lowers:
            found, st, stop = self._in_layer(layer, parts)
            if found:
                return st
            if stop:
                return None
        return None

    @staticmethod
    def _in_layer(layer: str, parts: list[str]) -> tuple[bool, os.stat_result | None, bool]:
        """(decided, stat, stop): whether this layer decides the lookup, and how."""
        path = layer
        for i, part in enumerate(parts):
            path = os.path.join(path, part)
            try:
                st = os.lstat(path)
            except (FileNotFoundError, NotADirectoryError):
                return False, None, False
            if is_whiteout(st):
                return True, None, True
            if i == len(parts) - 1:
                return True, st, True
            if not stat.S_ISDIR(st.st_mode):
                return True, None, True       # a file here hides everything below the name
            if is_opaque(path):
                # Nothing of this directory shows from the layers below: decide in this layer.
                rest = os.path.join(path, *parts[i + 1 :])
                try:
                    st2 = os.lstat(rest)
                except OSError:
                    return True, None, True
                return True, (None if is_whiteout(st2) else st2), True
        return False, None, False

    def names(self, rel: str) -> set[str]:
        """The names in directory `rel` of the merged lower layers."""
        parts = [p for p in rel.split("/") if p]
        seen: set[str] = set()
        hidden: set[str] = set()
        for layer in self.lowers:
            path = os.path.join(layer, *parts)
            try:
                with os.scandir(path) as it:
                    for entry in it:
                        if entry.name in seen or entry.name in hidden:
                            continue
                        if is_whiteout(entry.stat(follow_symlinks=False)):
                            hidden.add(entry.name)
                        else:
                            seen.add(entry.name)
            except (FileNotFoundError, NotADirectoryError):
                continue
            if is_opaque(path):
                break
        return seen


def changes(upper: str, lowers: list[str]) -> list[Change]:
    """What the writable layer `upper` changes in the image whose layers are `lowers`."""
    view = LowerView(lowers)
    found: dict[str, int] = {}
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        host_dir = upper + rel_dir
        try:
            entries = sorted(os.scandir(host_dir), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}"
            if is_init_path(rel):
                continue
            st = entry.stat(follow_symlinks=False)
            if is_whiteout(st):
                if view.lstat(rel) is not None:
                    found[rel] = DELETE
                continue
            lower = view.lstat(rel)
            if stat.S_ISDIR(st.st_mode):
                if lower is None or not stat.S_ISDIR(lower.st_mode):
                    found[rel] = ADD
                elif is_opaque(entry.path):
                    found[rel] = MODIFY
                    present = {e.name for e in os.scandir(entry.path)}
                    for name in view.names(rel) - present:
                        found[f"{rel}/{name}"] = DELETE
                elif (st.st_mode, st.st_uid, st.st_gid) != (lower.st_mode, lower.st_uid, lower.st_gid):
                    found[rel] = MODIFY
                stack.append(rel)
            else:
                found[rel] = ADD if lower is None else MODIFY
    # A changed entry's directories are changed too (moby's addChanges).
    for path in list(found):
        parent = os.path.dirname(path)
        while parent != "/" and parent not in found:
            found[parent] = MODIFY
            parent = os.path.dirname(parent)
    return [Change(p, k) for p, k in sorted(found.items())]


# -- tar writing ------------------------------------------------------------------------------


def _xattrs(path: str) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return out
    for name in names:
        if name.startswith("trusted.overlay."):
            continue
        try:
            value = os.getxattr(path, name, follow_symlinks=False)
        except OSError:
            continue
        out["SCHILY.xattr." + name] = value.decode("utf-8", "surrogateescape")
    return out


class TreeWriter:
    """Writes entries of a host tree into a PAX tar, hard links and xattrs kept."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = _Counting(out)
        self.tar = tarfile.TarFile(fileobj=self.out, mode="w", format=tarfile.PAX_FORMAT,  # type: ignore[arg-type]
                                   errors="surrogateescape")
        self._inodes: dict[tuple[int, int], str] = {}

    def add(self, host_path: str, name: str, st: os.stat_result | None = None) -> None:
        st = st or os.lstat(host_path)
        info = tarfile.TarInfo(name + ("/" if stat.S_ISDIR(st.st_mode) and name and not name.endswith("/") else ""))
        info.mode = stat.S_IMODE(st.st_mode)
        info.uid, info.gid = st.st_uid, st.st_gid
        info.uname = info.gname = ""
        info.mtime = st.st_mtime_ns // 1_000_000_000
        pax = _xattrs(host_path)
        key = (st.st_dev, st.st_ino)
        if stat.S_ISREG(st.st_mode) and st.st_nlink > 1 and key in self._inodes:
            info.type = tarfile.LNKTYPE
            info.linkname = self._inodes[key]
            info.pax_headers = pax
            self.tar.addfile(info)
            return
        if stat.S_ISREG(st.st_mode):
            info.type = tarfile.REGTYPE
            info.size = st.st_size
            if st.st_nlink > 1:
                self._inodes[key] = info.name
        elif stat.S_ISDIR(st.st_mode):
            info.type = tarfile.DIRTYPE
        elif stat.S_ISLNK(st.st_mode):
            info.type = tarfile.SYMTYPE
            info.linkname = os.readlink(host_path)
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            info.type = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        elif stat.S_ISFIFO(st.st_mode):
            info.type = tarfile.FIFOTYPE
        else:
            return  # sockets are not archived (like Go's tar writer)
        info.pax_headers = pax
        if info.type == tarfile.REGTYPE:
            fd = os.open(host_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            with os.fdopen(fd, "rb") as f:
                self.tar.addfile(info, f)
        else:
            self.tar.addfile(info)

    def add_empty(self, name: str, mode: int = 0) -> None:
        info = tarfile.TarInfo(name)
        info.mode = mode
        info.uname = info.gname = ""
        self.tar.addfile(info)

    def add_tree(self, host_path: str, name: str, *, skip: frozenset[str] = frozenset()) -> None:
        """`host_path` as `name`, and (for a directory) everything below it, depth first,
        sorted by name. `skip`: names relative to the tree ("/proc") left out. With `name` ""
        the tree's root itself is not archived, only what it holds (`docker export`)."""
        st = os.lstat(host_path)
        if name:
            self.add(host_path, name, st)
        if not stat.S_ISDIR(st.st_mode):
            return  # a file, or a symlink: archived as itself, never followed
        stack = [(host_path, name, "")]
        while stack:
            hdir, tname, rel = stack.pop()
            try:
                entries = sorted(os.scandir(hdir), key=lambda e: e.name)
            except NotADirectoryError:
                continue
            subdirs = []
            for entry in entries:
                erel = f"{rel}/{entry.name}"
                if erel in skip:
                    continue
                child = f"{tname}/{entry.name}" if tname else entry.name
                st = entry.stat(follow_symlinks=False)
                self.add(entry.path, child, st)
                if stat.S_ISDIR(st.st_mode):
                    subdirs.append((entry.path, child, erel))
            stack.extend(reversed(subdirs))

    def close(self) -> int:
        """End the archive with its two zero blocks, without tarfile's record padding (like Go's
        tar writer: an empty archive is exactly 1024 bytes). Returns the archive's size."""
        self.out.write(tarfile.NUL * (tarfile.BLOCKSIZE * 2))
        self.out.flush()
        return self.out.count


class _Counting:
    """A write-only file that knows its position (tarfile asks; pipes cannot tell)."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self.count = 0

    def write(self, data: bytes) -> int:
        self._out.write(data)
        self.count += len(data)
        return len(data)

    def tell(self) -> int:
        return self.count

    def flush(self) -> None:
        self._out.flush()


def write_layer_tar(upper: str, out: IO[bytes]) -> None:
    """The writable layer as a layer tar: whiteouts as `.wh.` files, opaque directories marked."""
    w = TreeWriter(out)
    stack = [""] if os.path.isdir(upper) else []   # never started: no upper dir, no changes
    while stack:
        rel_dir = stack.pop()
        entries = sorted(os.scandir(upper + rel_dir), key=lambda e: e.name)
        subdirs = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}"
            if is_init_path(rel):
                continue
            name = rel[1:]
            st = entry.stat(follow_symlinks=False)
            if is_whiteout(st):
                w.add_empty(os.path.join(os.path.dirname(name), WHITEOUT_PREFIX + entry.name))
                continue
            w.add(entry.path, name, st)
            if stat.S_ISDIR(st.st_mode):
                if is_opaque(entry.path):
                    w.add_empty(f"{name}/{WHITEOUT_OPAQUE}")
                subdirs.append(rel)
        stack.extend(reversed(subdirs))
    w.close()


def write_tree_tar(host_path: str, name: str, out: IO[bytes], *, skip: frozenset[str] = frozenset()) -> None:
    w = TreeWriter(out)
    w.add_tree(host_path, name, skip=skip)
    w.close()


def file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(COPY_CHUNK):
            h.update(chunk)
    return "sha256:" + h.hexdigest()
