"""Unpack one uncompressed layer tar into an empty directory, as an overlayfs lower dir.

What it does, following moby's archive.Unpack with the overlay whiteout converter:
    * `.wh.<name>`        becomes a whiteout (character device 0/0) named <name>
    * `.wh..wh..opq`      marks its directory opaque (trusted.overlay.opaque=y)
    * other `.wh..wh.*`   at the top (aufs metadata) are skipped
    * ownership, mode (incl. setuid/sticky), mtimes/atimes, xattrs (SCHILY.xattr.*), hard
      links, symlinks, devices and FIFOs are preserved; directory times are set last
    * an entry that exists is replaced, except a directory over a directory (merged)

Containment. The destination is treated like the root of a chroot:
    * names are cleaned; absolute names are taken relative to the root ("/etc/x" → etc/x);
      a name that climbs out ("../x", "a/../../x") is refused
    * a symlink whose relative target climbs out of the root is refused (Docker's rule);
      absolute targets are kept, they are resolved inside the container at run time
    * a hard link to a path outside the root is refused
    * parent directories are resolved component by component, and a symlink met on the way
      is followed *inside* the root (absolute targets restart at the root, ".." stops at it),
      so nothing is ever created through a symlink outside the root; the last component is
      never followed: an existing symlink there is replaced, not written through
    * `trusted.overlay.*` xattrs from the tar are dropped: only whiteouts may set them

The result lists where each regular file's bytes sit in the tar and which file now holds
them, so the exact tar can be rebuilt later (tarsplit.py) without keeping a copy of it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import stat
import tarfile
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Protocol

from sangja.errors import InvalidParameter
from sangja.host.syncfs import start_writeback
from sangja.image.fsops import FsOps
from sangja.image.fsutil import remove_tree

WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"
MAX_SYMLINKS = 255
COPY_CHUNK = 1 << 20


@dataclass
class PayloadRef:
    """The payload of a regular-file entry: `size` bytes at `offset` in the tar, now the content
    of `path` (relative to the layer root). `path` is None when no file holds them any more."""

    offset: int
    size: int
    path: str | None


class GrowingTar(Protocol):
    """A tar file still being written (distribution/follow.py GrowingFile): read/seek/tell
    block until the bytes asked for are written; wait_for(end) until the first `end` bytes
    are, False if the file ended short of them."""

    def read(self, n: int = -1, /) -> bytes: ...
    def seek(self, pos: int, whence: int = 0, /) -> int: ...
    def tell(self) -> int: ...
    def wait_for(self, end: int) -> bool: ...


def unpack_layer(tar_path: Path, dest: Path, ops: FsOps, growing: GrowingTar | None = None,
                 whiteouts: bool = True, writeback: bool = True) -> list[PayloadRef]:
    """Unpack `tar_path` into the existing empty directory `dest`; with `growing`, while the
    tar is still being written (each payload is copied once its bytes are there), returning
    once the whole tar is written. `whiteouts=False` is for tars that are not layers (`cp`):
    `.wh.<name>` entries are then ordinary files, as in moby's Untar without a whiteout format.
    `writeback=False` leaves the files to the kernel's flusher (a layer that is not flushed
    before it is used: daemon/layer_flush.py).

    Raises InvalidParameter for an entry that would escape `dest`, an unsupported entry type,
    or a truncated/corrupt tar. The caller discards `dest` on error."""
    unpacker = _Unpacker(tar_path, dest, ops) if growing is None else _FollowingUnpacker(tar_path, dest, ops, growing)
    unpacker.whiteouts = whiteouts
    unpacker.writeback = writeback
    return unpacker.run()


def clean_name(name: str) -> str:
    """A tar entry name as a path relative to the layer root ("" for the root itself).

    Like Go's filepath.Clean followed by filepath.Join(root, name): "/a" and "./a" are "a".
    Raises InvalidParameter when the name climbs out of the root."""
    p = posixpath.normpath(name or ".").lstrip("/")
    if p in ("", "."):
        return ""
    if p == ".." or p.startswith("../"):
        raise InvalidParameter(f'invalid tar entry "{name}": it is outside of the layer')
    return p


def _ns_times(member: tarfile.TarInfo) -> tuple[int, int]:
    """(atime, mtime) in nanoseconds; atime falls back to mtime as moby's latestTime does."""

    def pax_ns(key: str) -> int | None:
        raw = member.pax_headers.get(key)
        if raw is None:
            return None
        try:
            return int(Decimal(raw) * 1_000_000_000)
        except (InvalidOperation, ValueError):
            return None

    mtime = pax_ns("mtime")
    if mtime is None:
        mtime = int(member.mtime) * 1_000_000_000
    atime = pax_ns("atime")
    if atime is None or atime < mtime:
        atime = mtime
    return atime, mtime


class Unpacker:
    """The rules above, for entries from any tarfile; subclasses say where payloads come from
    (`_write_payload`) and what happens to a payload whose file is replaced (`_release`)."""

    def __init__(self, dest: Path, ops: FsOps) -> None:
        self.root = os.path.realpath(dest)
        self.ops = ops
        self.refs: list[PayloadRef] = []
        self.refs_by_path: dict[str, list[PayloadRef]] = {}
        self.dir_times: list[tuple[str, int, int]] = []
        self.whiteouts = True  # .wh. entries are overlay whiteouts and opaque markers (a layer)
        self.writeback = True  # start each file's writeback once written (see _write_file)

    def unpack_all(self, tf: tarfile.TarFile) -> None:
        try:
            for member in tf:
                self._entry(member)
        except (tarfile.TarError, EOFError) as exc:
            raise InvalidParameter(f"invalid tar archive: {exc}") from None

    def set_dir_times(self) -> None:
        for path, atime, mtime in self.dir_times:
            with contextlib.suppress(FileNotFoundError):
                os.utime(path, ns=(atime, mtime), follow_symlinks=False)

    def _write_payload(self, member: tarfile.TarInfo, fd: int) -> bool:
        """Write the entry's content to `fd`; True when the tar holds it verbatim (a ref)."""
        raise NotImplementedError

    def _new_ref(self, member: tarfile.TarInfo, target_rel: str) -> PayloadRef:
        return PayloadRef(member.offset_data, member.size, target_rel)

    def _release(self, ref: PayloadRef) -> None:
        """The file holding `ref`'s bytes is about to be removed."""
        ref.path = None


    # -- path resolution inside the root ------------------------------------------------

    def _resolve_dir(self, rel: str, create: bool) -> tuple[str, str]:
        """(absolute, root-relative) path of directory `rel`, symlinks followed inside the root.
        Missing directories are created (0755) when `create`, else FileNotFoundError."""
        done: list[str] = []
        todo = [c for c in rel.split("/") if c]
        hops = 0
        while todo:
            comp = todo.pop(0)
            if comp == ".":
                continue
            if comp == "..":
                if done:
                    done.pop()
                continue
            path = os.path.join(self.root, *done, comp)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(path, 0o755)
                os.chmod(path, 0o755)
                done.append(comp)
                continue
            if stat.S_ISLNK(st.st_mode):
                hops += 1
                if hops > MAX_SYMLINKS:
                    raise InvalidParameter(f"invalid tar entry {rel!r}: too many levels of symbolic links")
                target = os.readlink(path)
                if target.startswith("/"):
                    done = []
                todo = [c for c in target.split("/") if c] + todo
            elif stat.S_ISDIR(st.st_mode):
                done.append(comp)
            else:
                raise InvalidParameter(f"invalid tar entry {rel!r}: {'/'.join([*done, comp])} is not a directory")
        rel_out = "/".join(done)
        return (os.path.join(self.root, rel_out) if rel_out else self.root), rel_out

    def _remove(self, path: str, rel: str) -> None:
        """Remove whatever is at `path`; payloads stored in it are no longer there."""
        prefix = rel + "/"
        for key in [k for k in self.refs_by_path if k == rel or k.startswith(prefix)]:
            for ref in self.refs_by_path.pop(key):
                self._release(ref)
        remove_tree(Path(path))

    # -- one entry ----------------------------------------------------------------------

    def _entry(self, member: tarfile.TarInfo) -> None:
        rel = clean_name(member.name)
        if rel == "":
            return  # the root itself: moby skips it, the store owns the root's metadata
        if rel.startswith(WHITEOUT_META_PREFIX) and rel != WHITEOUT_OPAQUE:
            return
        parent_rel, base = posixpath.split(rel)
        parent, parent_real_rel = self._resolve_dir(parent_rel, create=True)
        if base == WHITEOUT_OPAQUE and self.whiteouts:
            self.ops.set_opaque(parent)
            return
        if base.startswith(WHITEOUT_PREFIX) and self.whiteouts:
            name = base[len(WHITEOUT_PREFIX) :]
            if name in ("", ".", ".."):
                raise InvalidParameter(f"invalid whiteout entry {member.name!r}")
            target = os.path.join(parent, name)
            if os.path.lexists(target):
                self._remove(target, posixpath.join(parent_real_rel, name))
            self.ops.whiteout(target)
            self.ops.lchown(target, member.uid, member.gid)
            return

        target = os.path.join(parent, base)
        target_rel = posixpath.join(parent_real_rel, base) if parent_real_rel else base
        try:
            existing = os.lstat(target)
        except FileNotFoundError:
            existing = None
        if existing is not None and not (stat.S_ISDIR(existing.st_mode) and member.isdir()):
            self._remove(target, target_rel)

        if member.isdir():
            if existing is None or not stat.S_ISDIR(existing.st_mode):
                os.mkdir(target, 0o700)
        elif member.isreg():
            self._write_file(member, target, target_rel)
        elif member.issym():
            link = member.linkname
            if not link.startswith("/"):
                resolved = posixpath.normpath(posixpath.join(posixpath.dirname(rel), link))
                if resolved == ".." or resolved.startswith("../"):
                    raise InvalidParameter(f'invalid symlink "{member.name}" -> "{link}"')
            os.symlink(link, target)
        elif member.islnk():
            self._hardlink(member, target)
        elif member.ischr() or member.isblk():
            kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
            self.ops.mknod(target, kind | (member.mode & 0o7777), os.makedev(member.devmajor, member.devminor))
        elif member.isfifo():
            os.mkfifo(target, 0o600)
        else:
            raise InvalidParameter(f"unhandled tar header type {member.type!r} for {member.name!r}")
        self._apply_metadata(member, target)

    def _write_file(self, member: tarfile.TarInfo, target: str, target_rel: str) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(target, flags, 0o600)
        try:
            verbatim = self._write_payload(member, fd)
            # Start writing it to disk now, so the flush that makes the layer durable has
            # little left to do (host/syncfs.py).
            if self.writeback:
                start_writeback(fd)
        finally:
            os.close(fd)
        if not verbatim:
            return
        ref = self._new_ref(member, target_rel)
        self.refs.append(ref)
        self.refs_by_path.setdefault(target_rel, []).append(ref)

    @staticmethod
    def _copy_range(src_fd: int, dst_fd: int, offset: int, size: int, name: str) -> None:
        remaining = size
        pos = offset
        while remaining > 0:
            try:
                n = os.copy_file_range(src_fd, dst_fd, min(remaining, 1 << 30), pos)
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                    raise
                data = os.pread(src_fd, min(remaining, COPY_CHUNK), pos)
                n = len(data)
                view = memoryview(data)
                while view:
                    view = view[os.write(dst_fd, view) :]
            if n == 0:
                raise InvalidParameter(f"invalid tar archive: unexpected end of data in {name!r}")
            remaining -= n
            pos += n

    def _hardlink(self, member: tarfile.TarInfo, target: str) -> None:
        try:
            link_rel = clean_name(member.linkname)
        except InvalidParameter:
            raise InvalidParameter(f'invalid hardlink "{member.name}" -> "{member.linkname}"') from None
        if link_rel == "":
            raise InvalidParameter(f'invalid hardlink "{member.name}" -> "{member.linkname}"')
        link_parent, link_base = posixpath.split(link_rel)
        try:
            source_dir, _ = self._resolve_dir(link_parent, create=False)
            source = os.path.join(source_dir, link_base)
            os.link(source, target, follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            raise InvalidParameter(
                f'invalid hardlink "{member.name}" -> "{member.linkname}": target does not exist'
            ) from None
        except PermissionError:
            raise InvalidParameter(f'invalid hardlink "{member.name}" -> "{member.linkname}"') from None

    def _apply_metadata(self, member: tarfile.TarInfo, target: str) -> None:
        self.ops.lchown(target, member.uid, member.gid)
        for key, value in member.pax_headers.items():
            if not key.startswith("SCHILY.xattr."):
                continue
            name = key[len("SCHILY.xattr.") :]
            if name.startswith("trusted.overlay."):
                continue
            try:
                self.ops.setxattr(target, name, value.encode("utf-8", "surrogateescape"))
            except OSError as exc:
                # Like moby: a filesystem without (this kind of) xattr support is not fatal.
                if exc.errno not in (errno.ENOTSUP, errno.EPERM):
                    raise
        is_link_to_symlink = member.islnk() and os.path.islink(target)
        if not member.issym() and not is_link_to_symlink:
            os.chmod(target, member.mode & 0o7777)
        atime, mtime = _ns_times(member)
        if member.isdir():
            self.dir_times.append((target, atime, mtime))
        elif not is_link_to_symlink:
            os.utime(target, ns=(atime, mtime), follow_symlinks=False)


class _Unpacker(Unpacker):
    """Payloads copied from the tar file (copy_file_range: no copy through Python)."""

    def __init__(self, tar_path: Path, dest: Path, ops: FsOps) -> None:
        super().__init__(dest, ops)
        self.tar_path = tar_path
        self.src_fd = -1

    def run(self) -> list[PayloadRef]:
        if os.path.getsize(self.tar_path) == 0:
            return []  # an empty stream is an empty layer, as Go's tar reader sees it
        self.src_fd = os.open(self.tar_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            with tarfile.open(self.tar_path, "r:", errors="surrogateescape") as tf:
                self.unpack_all(tf)
        except (tarfile.TarError, EOFError) as exc:
            raise InvalidParameter(f"invalid tar archive: {exc}") from None
        finally:
            os.close(self.src_fd)
        self.set_dir_times()
        return self.refs

    def _write_payload(self, member: tarfile.TarInfo, fd: int) -> bool:
        if member.sparse is not None:
            # GNU sparse: the tar holds a map plus data that tarfile expands. No file holds
            # those bytes as they are, so the tar index keeps them verbatim (no ref).
            self._copy_sparse(member, fd)
            return False
        self._copy_range(self.src_fd, fd, member.offset_data, member.size, member.name)
        return True

    def _copy_sparse(self, member: tarfile.TarInfo, fd: int) -> None:
        with tarfile.open(self.tar_path, "r:", errors="surrogateescape") as tf:
            src = tf.extractfile(member)
            if src is None:
                raise InvalidParameter(f"invalid sparse entry {member.name!r}")
            while chunk := src.read(COPY_CHUNK):
                os.write(fd, chunk)


class _FollowingUnpacker(_Unpacker):
    """The tar is read while it is being inflated: headers through `growing` (blocking for
    bytes not yet written), payloads copied in the kernel once written. Its Python work is per
    entry, not per byte, so it barely competes with the download for the GIL."""

    def __init__(self, tar_path: Path, dest: Path, ops: FsOps, growing: GrowingTar) -> None:
        super().__init__(tar_path, dest, ops)
        self.growing = growing

    def run(self) -> list[PayloadRef]:
        if not self.growing.wait_for(1):
            return []  # an empty stream is an empty layer, as Go's tar reader sees it
        self.src_fd = os.open(self.tar_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            with tarfile.open(fileobj=self.growing, mode="r:",  # type: ignore[call-overload]
                              errors="surrogateescape") as tf:
                self.unpack_all(tf)
        except (tarfile.TarError, EOFError) as exc:
            raise InvalidParameter(f"invalid tar archive: {exc}") from None
        finally:
            os.close(self.src_fd)
        self.growing.wait_for(1 << 62)  # the rest (padding after the end marker): the tar is complete
        self.set_dir_times()
        return self.refs

    def _write_payload(self, member: tarfile.TarInfo, fd: int) -> bool:
        if member.sparse is not None:
            self.growing.wait_for(1 << 62)  # rare: read through tarfile once the tar is complete
        elif not self.growing.wait_for(member.offset_data + member.size):
            raise InvalidParameter(f"invalid tar archive: unexpected end of data in {member.name!r}")
        return super()._write_payload(member, fd)
