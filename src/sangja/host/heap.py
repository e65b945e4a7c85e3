"""The C heap's memory: handing free pages back to the kernel, and one malloc arena.

After a burst of work glibc keeps freed memory mapped, so a process's RSS only grows;
`malloc_trim(0)` returns the free pages of every arena (api/idle.py calls it once sangjad has
gone quiet).

`malloc_trim` cannot give back the free top of a worker thread's arena, though: glibc trims a
thread arena's top only on free(), and only above a threshold that it raises each time a large
mmapped block (an import's 1 MiB read buffers) is freed. After `docker import` that top
stayed resident in sangjad: +4 MiB of idle RSS. With one arena (`limit_malloc_arenas`, before
any thread starts) the worker threads allocate from the main heap, whose top `malloc_trim`
does trim. The cost is one malloc lock for every thread; sangjad's threads run Python code
that holds the GIL anyway.
"""

from __future__ import annotations

from typing import Any

M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)


def _libc() -> Any:
    """glibc, or False where there is none (then nothing is done)."""
    global _glibc
    if _glibc is None:
        import ctypes

        try:
            lib = ctypes.CDLL("libc.so.6", use_errno=True)
            _glibc = lib if hasattr(lib, "malloc_trim") and hasattr(lib, "mallopt") else False
        except OSError:
            _glibc = False
    return _glibc


def malloc_trim() -> bool:
    """glibc's malloc_trim(0); False where there is no glibc (then nothing is done)."""
    lib = _libc()
    if lib is False:
        return False
    lib.malloc_trim(0)
    return True


def limit_malloc_arenas(count: int = 1) -> bool:
    """mallopt(M_ARENA_MAX, count): threads started afterwards share `count` arenas. Call it
    before the first thread starts (glibc fixes the limit when a thread first needs an arena).
    False where there is no glibc or it refused."""
    lib = _libc()
    if lib is False:
        return False
    return bool(lib.mallopt(M_ARENA_MAX, count))


_glibc: Any = None
