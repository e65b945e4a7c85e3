"""A child process of sangjad watched through a pidfd, its stdio as non-blocking fds.

Used for `runc exec`, where every millisecond of the exec path shows in `docker exec` latency.
Why not asyncio.create_subprocess_exec: Python 3.11's default child watcher starts a thread per
child and the spawn waits until that thread runs; while runc's own threads are starting on both
CPUs that wait was ~2 ms per exec, and the exit then came back through that thread too. Here the
exit is an epoll event on the pidfd, and pipes are read and written straight from the event loop.

Lifecycle: `spawn()` starts the process (vfork+exec through subprocess.Popen) and registers its
pidfd with the running loop at once, so the child is reaped as soon as it exits whether or not
anyone awaits `wait()`. `close()` releases our ends of its pipes. The Popen object is kept, with
its returncode set when we reap, so subprocess never polls (and so never reaps) this PID itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import subprocess
from collections.abc import Sequence

PIPE_SIZE = 1 << 20  # F_SETPIPE_SZ: fewer wake-ups per MB streamed (the default is 64 KiB)
F_SETPIPE_SZ = 1031


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


async def read_fd(fd: int, size: int = 65536) -> bytes:
    """Read a non-blocking fd (pipe or pty master) from the event loop; b"" at EOF or hang-up (EIO)."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            return os.read(fd, size)
        except BlockingIOError:
            pass
        except OSError as e:
            if e.errno == 5:  # EIO: a pty whose every slave fd is closed (runc has exited)
                return b""
            raise
        ready: asyncio.Future[None] = loop.create_future()
        loop.add_reader(fd, _wake, ready)
        try:
            await ready
        finally:
            loop.remove_reader(fd)


async def write_fd(fd: int, data: bytes) -> None:
    """Write all of `data` to a non-blocking fd, waiting while its buffer is full."""
    loop = asyncio.get_running_loop()
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
            view = view[n:]
            continue
        except BlockingIOError:
            pass
        ready: asyncio.Future[None] = loop.create_future()
        loop.add_writer(fd, _wake, ready)
        try:
            await ready
        finally:
            loop.remove_writer(fd)


class OutPipe:
    """Our reading end of the child's stdout or stderr."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    async def read(self, size: int = 65536) -> bytes:
        if self.fd < 0:
            return b""
        return await read_fd(self.fd, size)

    def close(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1


class InPipe:
    """Our writing end of the child's stdin; closing it is the child's EOF."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    async def write(self, data: bytes) -> None:
        if self.fd < 0:
            raise BrokenPipeError("stdin is closed")
        await write_fd(self.fd, data)

    def is_closing(self) -> bool:
        return self.fd < 0

    def close(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1


class Child:
    """A running (or exited) child. `returncode` is None until it is reaped; then the exit
    status, or -signal when a signal killed it (as asyncio and subprocess report it)."""

    def __init__(self, popen: subprocess.Popen[bytes], pidfd: int, stdin: InPipe | None,
                 stdout: OutPipe | None, stderr: OutPipe | None) -> None:
        self._popen = popen
        self.pid = popen.pid
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.returncode: int | None = None
        self._pidfd = pidfd
        self._loop = asyncio.get_running_loop()
        self._exited: asyncio.Future[int] = self._loop.create_future()
        self._loop.add_reader(pidfd, self._reap)

    def _reap(self) -> None:
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere: nothing more can be learned
            pid, status = self.pid, 255 << 8
        if pid == 0:
            return  # not exited yet (a spurious wake-up)
        self._loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        self._pidfd = -1
        self.returncode = self._popen.returncode = os.waitstatus_to_exitcode(status)
        if not self._exited.done():
            self._exited.set_result(self.returncode)

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)

    def send_signal(self, sig: int) -> None:
        """Signal the child; ProcessLookupError once it has been reaped (never another process)."""
        if self._pidfd < 0:
            raise ProcessLookupError(self.pid)
        signal.pidfd_send_signal(self._pidfd, sig)

    def close(self) -> None:
        """Release our ends of the pipes (the process keeps running until it exits by itself)."""
        for end in (self.stdin, self.stdout, self.stderr):
            if end is not None:
                end.close()


def spawn(argv: Sequence[str], *, executable: str | None = None, stdin: int | None = None,
          stdout: int | None = None, stderr: int | None = None, pipe_in: bool = False,
          pipe_out: bool = False, pipe_err: bool = False, cwd: str | None = None) -> Child:
    """Start argv in a new session. Each stdio is the given fd, else a pipe if asked for, else
    /dev/null. Must be called from the event loop that will reap the child."""
    ours: list[int] = []
    theirs: list[int] = []

    def pipe(child_reads: bool) -> tuple[int, int]:
        r, w = os.pipe2(os.O_CLOEXEC)
        with contextlib.suppress(OSError):  # a smaller default buffer is still correct
            fcntl.fcntl(w, F_SETPIPE_SZ, PIPE_SIZE)
        mine, child_end = (w, r) if child_reads else (r, w)
        os.set_blocking(mine, False)
        ours.append(mine)
        theirs.append(child_end)
        return mine, child_end

    try:
        in_fd = out_fd = err_fd = -1
        if stdin is None and pipe_in:
            in_fd, stdin = pipe(child_reads=True)
        if stdout is None and pipe_out:
            out_fd, stdout = pipe(child_reads=False)
        if stderr is None and pipe_err:
            err_fd, stderr = pipe(child_reads=False)
        dn = subprocess.DEVNULL
        popen = subprocess.Popen(
            list(argv), executable=executable, stdin=dn if stdin is None else stdin,
            stdout=dn if stdout is None else stdout, stderr=dn if stderr is None else stderr,
            cwd=cwd, start_new_session=True)
    except BaseException:
        for fd in ours:
            os.close(fd)
        raise
    finally:
        for fd in theirs:
            os.close(fd)
    try:
        pidfd = os.pidfd_open(popen.pid)
    except OSError:
        popen.kill()
        popen.wait()
        for fd in ours:
            os.close(fd)
        raise
    return Child(popen, pidfd, InPipe(in_fd) if in_fd >= 0 else None, OutPipe(out_fd) if out_fd >= 0 else None,
                 OutPipe(err_fd) if err_fd >= 0 else None)
