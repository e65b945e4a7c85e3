"""Network namespaces as bind-mounted files: the kernel calls networking needs.

`create_in_thread` and `enter` act on the *calling thread* only (unshare/setns with
CLONE_NEWNET), so callers run them in a short-lived thread of their own (`in_own_thread`).
Mounting goes through host.mounts (the one module that calls mount(2)).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sangja.host.mounts import libc_mounter

CLONE_NEWNET = 0x40000000
MS_BIND = 0x1000
MNT_DETACH = 0x2

_libc = ctypes.CDLL(None, use_errno=True)

T = TypeVar("T")


def in_own_thread(name: str, fn: Callable[[], T]) -> T:
    """fn() in a short-lived thread of its own, waited for: its result, or its exception raised
    here. A namespace the thread entered dies with it, never reaching the caller's threads."""
    result: list[T] = []
    error: list[BaseException] = []

    def work() -> None:
        try:
            result.append(fn())
        except BaseException as exc:  # handed to the caller
            error.append(exc)

    t = threading.Thread(target=work, name=name)
    t.start()
    t.join()
    if error:
        raise error[0]
    return result[0]


def create_in_thread(path: Path) -> None:
    """Move this thread into a new network namespace and pin it at `path` (bind mount)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))
    if _libc.unshare(CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"unshare(CLONE_NEWNET): {os.strerror(e)}")
    libc_mounter().mount(f"/proc/self/task/{threading.get_native_id()}/ns/net", str(path), "none", MS_BIND)


def enter(path: Path) -> None:
    """Move this thread into the network namespace pinned at `path`."""
    nsfd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(nsfd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, f"setns({path}): {os.strerror(e)}")
    finally:
        os.close(nsfd)


def remove(path: Path) -> None:
    """Unpin and delete the namespace file; whatever is already gone is fine."""
    with contextlib.suppress(OSError):
        libc_mounter().unmount(str(path), MNT_DETACH)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
