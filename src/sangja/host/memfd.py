"""Anonymous in-memory files (memfd_create): runc's process JSON and log for an exec, kept off the
exec root's disk (runtime/exec.py says why)."""

from __future__ import annotations

import os


def memfd_with(name: str, data: bytes = b"") -> int:
    """A close-on-exec memfd holding `data` (runc reads it, or writes into it, by its /proc path)."""
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BaseException:
        os.close(fd)
        raise
    return fd
