"""Handing the heap's free pages back to the kernel (glibc's malloc_trim).

After a burst of work glibc keeps freed memory mapped, so a process's RSS only grows;
`malloc_trim(0)` returns the free pages of every arena (api/idle.py calls it once sangjad has
gone quiet)."""

from __future__ import annotations

from typing import Any


def malloc_trim() -> bool:
    """glibc's malloc_trim(0); False where there is no glibc (then nothing is done)."""
    global _trim
    if _trim is None:
        import ctypes

        try:
            _trim = ctypes.CDLL("libc.so.6", use_errno=True).malloc_trim
        except (OSError, AttributeError):
            _trim = False
    if _trim is False:
        return False
    _trim(0)
    return True


_trim: Any = None
