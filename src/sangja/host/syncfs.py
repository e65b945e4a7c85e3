"""syncfs(2) and sync_file_range(2): make a pull's layers durable with one flush, started early.

A layer is thousands of files plus its metadata; fsyncing each one costs a journal commit per
file, while one syncfs makes all of them durable at once, before the renames that publish the
layers. To keep that flush short, writeback of each file is started as soon as it is written
(`start_writeback`, sync_file_range with SYNC_FILE_RANGE_WRITE: asynchronous, no waiting), so
the disk works while the download and the unpacking go on. Python's os module has neither
call, hence ctypes; where syncfs is missing, sync() is the (broader) fallback, and where
sync_file_range is missing, start_writeback does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from typing import Any

_lock = threading.Lock()
_functions: dict[str, Any] = {}
SYNC_FILE_RANGE_WRITE = 2


def _libc() -> dict[str, Any]:
    with _lock:
        if not _functions:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            fn = getattr(libc, "syncfs", None)
            if fn is not None:
                fn.argtypes = [ctypes.c_int]
                fn.restype = ctypes.c_int
            _functions["syncfs"] = fn
            fn = getattr(libc, "sync_file_range", None)
            if fn is not None:
                fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
                fn.restype = ctypes.c_int
            _functions["sync_file_range"] = fn
        return _functions


def start_writeback(fd: int, offset: int = 0, nbytes: int = 0) -> None:
    """Ask the kernel to start writing the file's dirty pages in [offset, offset+nbytes)
    (nbytes 0: to the end) without waiting. Advisory: failures are ignored."""
    fn = _libc()["sync_file_range"]
    if fn is not None:
        fn(fd, offset, nbytes, SYNC_FILE_RANGE_WRITE)


def syncfs(path: str | os.PathLike[str]) -> None:
    """Make everything written to the filesystem holding `path` durable. Raises OSError."""
    fn = _libc()["syncfs"]
    if fn is None:
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if fn(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(path))
    finally:
        os.close(fd)
