"""Copy between the terminal and a hijacked attach connection (docker's hijackedIOStreamer).

After `101 UPGRADED` the socket carries raw bytes: the container's output (8-byte framed
unless the container has a TTY) and, when stdin is attached, our input. Contract of
`HijackedIO.stream()`:
- output goes to stdout/stderr as it arrives, flushed, until the daemon closes the socket;
- stdin is copied by a helper thread; at its EOF the socket is half-closed (SHUT_WR) and
  reading continues; without stdin the socket is half-closed at once, like docker;
- with a TTY and stdin attached, the detach sequence (ctrl-p ctrl-q by default) ends the
  session: `detached` becomes True and stream() returns.
"""

from __future__ import annotations

import _socket
import os

from sangja.cli.stdcopy import FrameDemuxer, write_frames
from sangja.cli.terminal import EscapeMatcher

TYPE_CHECKING = False
if TYPE_CHECKING:
    import threading
    from typing import BinaryIO

CHUNK = 65536


class HijackedIO:
    def __init__(
        self,
        sock: _socket.socket,
        leftover: bytes,
        tty: bool,
        stdout: BinaryIO | None,
        stderr: BinaryIO | None,
        stdin: BinaryIO | None = None,
        detach_keys: bytes | None = None,
    ) -> None:
        self.sock = sock
        self.leftover = leftover
        self.tty = tty
        self.stdout = stdout
        self.stderr = stderr
        self.stdin = stdin
        self.detach_keys = detach_keys if (tty and stdin is not None) else None
        self.detached = False
        self._input_thread: threading.Thread | None = None

    def stream(self) -> None:
        if self.stdin is not None:
            import threading  # only with stdin attached: ~1 ms of start-up otherwise

            self._input_thread = threading.Thread(target=self._copy_input, name="stdin", daemon=True)
            self._input_thread.start()
        else:
            self._close_write()
        try:
            self._copy_output()
        finally:
            try:
                self.sock.close()
            except OSError:
                pass

    def _copy_output(self) -> None:
        demux = None if self.tty else FrameDemuxer()
        data = self.leftover
        while True:
            if data:
                self._write(data, demux)
            if self.detached:
                return
            try:
                data = self.sock.recv(CHUNK)
            except OSError:
                return
            if not data:
                return

    def _write(self, data: bytes, demux: FrameDemuxer | None) -> None:
        if demux is None:
            if self.stdout is not None:
                self.stdout.write(data)
                self.stdout.flush()
            return
        frames = demux.feed(data)
        if self.stdout is None:
            frames = [f for f in frames if f[0] not in (0, 1)]
        if self.stderr is None:
            frames = [f for f in frames if f[0] != 2]
        out = self.stdout if self.stdout is not None else _Discard()
        err = self.stderr if self.stderr is not None else _Discard()
        write_frames(frames, out, err)  # type: ignore[arg-type]

    def _read_input(self) -> bytes:
        assert self.stdin is not None
        try:
            fd = self.stdin.fileno()
        except (AttributeError, OSError, ValueError):
            read1 = getattr(self.stdin, "read1", None)
            return bytes(read1(CHUNK) if read1 is not None else self.stdin.read(CHUNK))
        return os.read(fd, CHUNK)

    def _copy_input(self) -> None:
        escape = EscapeMatcher(self.detach_keys) if self.detach_keys else None
        try:
            while True:
                data = self._read_input()
                if not data:
                    break
                hit = False
                if escape is not None:
                    data, hit = escape.feed(data)
                if data:
                    self.sock.sendall(data)
                if hit:
                    self.detached = True
                    self.sock.shutdown(_socket.SHUT_RDWR)
                    return
        except OSError:
            return  # the daemon closed the connection: the container is gone
        self._close_write()

    def _close_write(self) -> None:
        try:
            self.sock.shutdown(_socket.SHUT_WR)
        except OSError:
            pass


class _Discard:
    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        pass
