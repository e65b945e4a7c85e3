"""Small crash-safe file helpers shared by the image store's modules.

A metadata file is written to a temporary name in the same directory, fsynced, renamed over
the target and the directory fsynced: after a crash the reader sees the old or the new
content, never a torn one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any


def fsync_dir(path: Path) -> None:
    _fsync(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def fsync_file(path: Path) -> None:
    _fsync(path, os.O_RDONLY | os.O_CLOEXEC)


def _fsync(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write(path, json.dumps(obj, sort_keys=True).encode())


def read_json(path: Path) -> Any:
    with path.open("rb") as f:
        return json.load(f)


def remove_tree(path: Path) -> None:
    """Remove a file or a directory tree; a missing path is not an error.

    Layer trees may hold read-only directories (mode 0555 from the image). Root removes them
    regardless; without root, the parent is made writable and the removal retried."""
    if not os.path.lexists(path):
        return
    if os.path.islink(path) or not os.path.isdir(path):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    shutil.rmtree(path, onerror=_retry_writable)


def _retry_writable(func: Any, p: str, exc_info: Any) -> None:
    with contextlib.suppress(OSError):
        os.chmod(os.path.dirname(p), 0o700)
    if os.path.isdir(p) and not os.path.islink(p):
        with contextlib.suppress(OSError):
            os.chmod(p, 0o700)
    if func in (os.rmdir, os.unlink, os.remove):
        with contextlib.suppress(FileNotFoundError):
            func(p)
    else:
        shutil.rmtree(p, ignore_errors=True)
