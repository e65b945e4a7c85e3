"""Read a blob while it is being downloaded, so a layer inflates as its bytes arrive.

    follower = GrowingFile(path)          # the download writes `path`
    ... in the download:  follower.advance(n_bytes_written_so_far)
    ... when it is done:  follower.finish()   (verified)   or   follower.abort()
    ... in a worker thread: inflate_to(follower, tar)       # read() blocks for more bytes

read() returns only bytes the download has written, blocks (in the worker thread) until more
arrive, and returns b"" (end of stream) only after finish(), that is after the download checked
the blob's size and digest: nothing downstream ever sees the end of an unverified blob. A
download that starts over (a registry that ignored a Range request and sent the whole blob
again) makes the follower raise Restarted; the caller then inflates the finished file instead.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


class Restarted(Exception):
    """The file was rewritten from the start while being followed."""


class Aborted(Exception):
    """The download failed or the pull was cancelled."""


class GrowingFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._cond = threading.Condition()
        self._available = 0
        self._finished = False
        self._aborted = False
        self._restarted = False
        self._pos = 0
        self._fd = -1

    # -- the writer's side (any thread) ------------------------------------------------

    def advance(self, written: int) -> None:
        with self._cond:
            if written < self._available:
                self._restarted = True
            self._available = written
            self._cond.notify_all()

    def finish(self) -> None:
        with self._cond:
            self._finished = True
            self._cond.notify_all()

    def abort(self) -> None:
        with self._cond:
            self._aborted = True
            self._cond.notify_all()

    @property
    def finished(self) -> bool:
        return self._finished

    # -- the reader's side (one worker thread) -------------------------------------------

    def read(self, n: int = -1, /) -> bytes:
        """Exactly `n` bytes (all the rest for n < 0), fewer only at the end of the blob."""
        with self._cond:
            while True:
                self._check()
                if self._finished or (n >= 0 and self._available - self._pos >= n):
                    break
                self._cond.wait()
            end = self._available if n < 0 else min(self._available, self._pos + n)
        if end <= self._pos:
            return b""
        if self._fd < 0:
            self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        data = os.pread(self._fd, end - self._pos, self._pos)
        if len(data) < end - self._pos:
            raise Restarted("the file shrank: download restarted")
        self._pos = end
        return data

    def seek(self, pos: int, whence: int = os.SEEK_SET, /) -> int:
        """Move the read position (absolute positions only: what tarfile uses)."""
        if whence != os.SEEK_SET:
            raise OSError("a growing file is only seekable to absolute positions")
        self._pos = pos
        return pos

    def tell(self) -> int:
        return self._pos

    def wait_for(self, end: int) -> bool:
        """Block until the first `end` bytes are written; False when the file ended short of them."""
        with self._cond:
            while True:
                self._check()
                if self._available >= end:
                    return True
                if self._finished:
                    return False
                self._cond.wait()

    def wait_done(self) -> None:
        """Block until the download finished (verified); raise Aborted if it failed."""
        with self._cond:
            while not self._finished:
                if self._aborted:
                    raise Aborted("download aborted")
                self._cond.wait()

    def _check(self) -> None:
        if self._aborted:
            raise Aborted("download aborted")
        if self._restarted:
            raise Restarted("download restarted")

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
