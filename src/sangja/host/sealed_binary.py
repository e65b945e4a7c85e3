"""A sealed in-memory copy of runc that sangjad runs `runc exec` from.

runc 1.1 protects its binary on the host against a container that would overwrite it through
/proc/<pid>/exe (CVE-2019-5736): at the start of every `runc init` it copies itself (~8.7 MB) into
a memfd, seals it and executes itself again from there. That is a copy and a second execve of a
Go binary for every exec (~1.5-2 ms here). runc skips both when it already runs from a memfd
sealed with SEAL|SHRINK|GROW|WRITE (libcontainer/nsenter/cloned_binary.c `is_self_cloned`); runc's
own contrib/cmd/memfd-bind exists for this, and its README states that the protection is the
same: nobody, root included, can write to a sealed memfd.

So sangjad makes that copy once, keeps the fd open, and starts runc as /proc/<sangjad>/fd/<n>
(argv[0] stays the real path, so `ps` shows runc), for `runc exec` and, through conmon, for
`runc create`. The copy is made again when the file on disk
changes, so an upgraded runc is used by the next exec. Only runc: other runtimes (crun) have no
such copy to skip. Anything going wrong here falls back to the path itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

F_ADD_SEALS = 1033  # fcntl.F_ADD_SEALS (Python ≥ 3.8 on Linux; spelled out for the type checker)
F_GET_SEALS = 1034
RUNC_SEALS = 0x1 | 0x2 | 0x4 | 0x8  # F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE
MFD_EXEC = 0x10  # Linux ≥ 6.3: say so explicitly, or vm.memfd_noexec=1 makes the copy non-executable


class SealedBinary:
    """One binary's sealed copy, remade when the file's (device, inode, size, mtime) change."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = -1
        self._key: tuple[int, int, int, int] | None = None

    def executable(self) -> str:
        """The path to execute: the sealed copy through /proc, or `path` when no copy can be made."""
        try:
            st = os.stat(self.path)
        except OSError:
            return self.path
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        if key != self._key or self._fd < 0:
            self._replace(key)
        return f"/proc/{os.getpid()}/fd/{self._fd}" if self._fd >= 0 else self.path

    def _replace(self, key: tuple[int, int, int, int]) -> None:
        self.close()
        self._key = key
        try:
            self._fd = copy_sealed(self.path)
        except OSError as exc:
            log.info("no sealed copy of %s (%s): running it from its path", self.path, exc)

    def close(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd = -1


def copy_sealed(path: str) -> int:
    """A close-on-exec memfd holding the file at `path`, sealed against any change."""
    flags = os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING
    try:
        fd = os.memfd_create(os.path.basename(path), flags | MFD_EXEC)
    except OSError:  # EINVAL: a kernel older than MFD_EXEC, where every memfd is executable
        fd = os.memfd_create(os.path.basename(path), flags)
    try:
        with open(path, "rb") as src:
            size = os.fstat(src.fileno()).st_size
            offset = 0
            while offset < size:
                sent = os.sendfile(fd, src.fileno(), offset, size - offset)
                if sent == 0:
                    raise OSError(f"{path} shrank while being copied")
                offset += sent
        os.fchmod(fd, 0o755)
        fcntl.fcntl(fd, F_ADD_SEALS, RUNC_SEALS)
    except BaseException:
        os.close(fd)
        raise
    return fd


def seals(fd: int) -> int:
    return int(fcntl.fcntl(fd, F_GET_SEALS))


_copies: dict[str, SealedBinary] = {}


def runtime_executable(runtime_path: str) -> str:
    """What to execute for `runtime_path`: runc's sealed copy, any other runtime as it is."""
    if os.path.basename(runtime_path) != "runc":
        return runtime_path
    copy = _copies.get(runtime_path)
    if copy is None:
        copy = _copies[runtime_path] = SealedBinary(runtime_path)
    return copy.executable()


def runtime_link(runtime_path: str, where: Path) -> str:
    """What to execute for `runtime_path`: for runc, a symlink named like it (`where/runc`) to its
    sealed copy, so that the process's comm reads "runc" in ps and top rather than the fd number
    (made once per daemon process); any other runtime, or no copy, its path as it is."""
    executable = runtime_executable(runtime_path)
    if executable == runtime_path:
        return runtime_path
    where.mkdir(parents=True, exist_ok=True, mode=0o700)
    link = where / os.path.basename(runtime_path)
    try:
        if os.readlink(link) == executable:
            return str(link)
    except OSError:
        pass
    tmp = where / f".{link.name}.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    tmp.symlink_to(executable)
    tmp.replace(link)
    return str(link)
