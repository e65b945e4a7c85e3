"""A minimal HTTP/1.1 client over a Unix or TCP socket, with connection hijacking.

http.client costs ~25 ms of imports and cannot hand over the raw socket after a
`101 UPGRADED`, so the CLI speaks HTTP itself. Contract:

- `Endpoint.parse("unix:///run/x.sock" | "tcp://127.0.0.1:2375")` names the daemon;
  `endpoint.connect()` returns a connected `Connection` or raises OSError.
- `Connection.request(...)` sends one request and returns the `Response` once its
  head has arrived; the body is read lazily (`read()`, `chunks()`, `lines()`), with
  chunked transfer decoding. A fully read body leaves the connection reusable.
- A `101` (or a `200` to an upgrade request) leaves the socket to the caller through
  `Response.detach()`, together with any bytes that arrived after the head.
"""

from __future__ import annotations

import _socket  # the C module: socket.py (with selectors and enum) is ~3 ms of every command's start
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import BinaryIO


RECV_SIZE = 65536
DEFAULT_TCP_PORT = 2375


class ProtocolError(OSError):
    """The peer sent something that is not HTTP/1.1."""


class Endpoint:
    """Where the daemon listens: a Unix socket path, or a TCP host and port."""

    def __init__(self, url: str, unix_path: str | None = None, tcp: tuple[str, int] | None = None) -> None:
        self.url = url
        self.unix_path = unix_path
        self.tcp = tcp

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        """Parse a docker-style host URL; raise ValueError with docker's wording when malformed."""
        if url.startswith("unix://"):
            path = url[len("unix://"):]
            if not path:
                raise ValueError(f"unable to parse docker host `{url}`")
            return cls(url, unix_path=path)
        if url.startswith("tcp://") or url.startswith("http://"):
            rest = url.split("://", 1)[1].rstrip("/")
            host, sep, port_text = rest.rpartition(":")
            if not sep or "]" in port_text:
                host, port_text = rest, str(DEFAULT_TCP_PORT)
            host = host.strip("[]") or "127.0.0.1"
            try:
                port = int(port_text)
            except ValueError:
                raise ValueError(f"unable to parse docker host `{url}`") from None
            return cls(url, tcp=(host, port))
        if url.startswith("/"):
            return cls("unix://" + url, unix_path=url)
        raise ValueError(f"unable to parse docker host `{url}`")

    @property
    def host_header(self) -> str:
        # The docker CLI sends this placeholder for Unix sockets; aiohttp needs some Host.
        if self.tcp is None:
            return "api.moby.localhost"
        return f"{self.tcp[0]}:{self.tcp[1]}"

    def connect(self) -> Connection:
        if self.unix_path is not None:
            sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            try:
                sock.connect(self.unix_path)
            except BaseException:
                sock.close()
                raise
        else:
            assert self.tcp is not None
            import socket

            sock = socket.create_connection(self.tcp)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return Connection(sock)


class Connection:
    """One socket carrying sequential HTTP/1.1 requests (keep-alive)."""

    def __init__(self, sock: _socket.socket) -> None:
        self.sock = sock
        self._buf = bytearray()
        self.closed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.sock.close()

    # -- sending ---------------------------------------------------------------------------

    def request(
        self,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        body: bytes | BinaryIO | None = None,
    ) -> Response:
        """Send a request and wait for the response head (1xx other than 101 are skipped)."""
        lines = [f"{method} {target} HTTP/1.1"]
        lines.extend(f"{k}: {v}" for k, v in headers)
        stream: BinaryIO | None = None
        if body is None:
            if method in ("POST", "PUT"):
                lines.append("Content-Length: 0")
        elif isinstance(body, bytes | bytearray):
            lines.append(f"Content-Length: {len(body)}")
        else:
            stream = body
            size = _regular_file_size(body)
            lines.append(f"Content-Length: {size}" if size is not None else "Transfer-Encoding: chunked")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if isinstance(body, bytes | bytearray):
            self.sock.sendall(head + body)
        else:
            self.sock.sendall(head)
            if stream is not None:
                self._send_stream(stream)
        return self._read_head(method)

    def _send_stream(self, stream: BinaryIO) -> None:
        size = _regular_file_size(stream)
        if size is not None:
            sent = _sendfile(self.sock, stream)
            if sent != size:
                raise ProtocolError(f"short upload: sent {sent} of {size} bytes")
            return
        read = getattr(stream, "read1", stream.read)
        while True:
            data = read(RECV_SIZE)
            if not data:
                break
            self.sock.sendall(b"%x\r\n" % len(data) + data + b"\r\n")
        self.sock.sendall(b"0\r\n\r\n")

    # -- receiving -------------------------------------------------------------------------

    def _fill(self) -> bool:
        data = self.sock.recv(RECV_SIZE)
        if not data:
            return False
        self._buf += data
        return True

    def _readline(self) -> bytes:
        while True:
            i = self._buf.find(b"\n")
            if i >= 0:
                line = bytes(self._buf[: i + 1])
                del self._buf[: i + 1]
                return line
            if len(self._buf) > 1 << 20:
                raise ProtocolError("HTTP header line too long")
            if not self._fill():
                raise ProtocolError("connection closed before the response was complete")

    def _read_head(self, method: str) -> Response:
        while True:
            status_line = self._readline().decode("latin-1").rstrip("\r\n")
            parts = status_line.split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/"):
                raise ProtocolError(f"malformed HTTP response {status_line!r}")
            try:
                status = int(parts[1])
            except ValueError:
                raise ProtocolError(f"malformed HTTP status line {status_line!r}") from None
            headers: dict[str, str] = {}
            while True:
                line = self._readline().decode("latin-1").rstrip("\r\n")
                if not line:
                    break
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
            if 100 <= status < 200 and status != 101:
                continue
            return Response(self, method, status, parts[2] if len(parts) > 2 else "", headers)

    def read_some(self) -> bytes:
        """Return buffered bytes, or the next recv (b"" at EOF)."""
        if self._buf:
            data = bytes(self._buf)
            self._buf.clear()
            return data
        return self.sock.recv(RECV_SIZE)

    def read_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            if not self._fill():
                raise ProtocolError("connection closed before the response was complete")
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def take_buffer(self) -> bytes:
        data = bytes(self._buf)
        self._buf.clear()
        return data


class Response:
    """An HTTP response whose body is read on demand, exactly once."""

    def __init__(self, conn: Connection, method: str, status: int, reason: str, headers: dict[str, str]):
        self.conn = conn
        self.status = status
        self.reason = reason
        self.headers = headers
        self._no_body = method == "HEAD" or status in (101, 204, 304)
        self.complete = self._no_body and status != 101
        self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = headers.get("content-length")
        self._remaining = int(length) if length is not None and not self._chunked else None
        self._chunk_left = 0
        self._chunk_done = False

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def keep_alive(self) -> bool:
        return self.complete and self.headers.get("connection", "").lower() != "close"

    def chunks(self) -> Iterator[bytes]:
        """Yield the decoded body as it arrives."""
        if self.complete or self._no_body:
            return
        if self._chunked:
            yield from self._chunked_body()
        elif self._remaining is not None:
            while self._remaining > 0:
                data = self.conn.read_some()
                if not data:
                    raise ProtocolError("connection closed before the response was complete")
                if len(data) > self._remaining:
                    # Bytes past the body belong to whatever follows on the connection.
                    self.conn._buf[:0] = data[self._remaining:]
                    data = data[: self._remaining]
                self._remaining -= len(data)
                yield data
        else:
            while True:
                data = self.conn.read_some()
                if not data:
                    break
                yield data
            self.conn.close()
        self.complete = True

    def _chunked_body(self) -> Iterator[bytes]:
        conn = self.conn
        while True:
            line = conn._readline().split(b";", 1)[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                raise ProtocolError(f"malformed chunk size {line!r}") from None
            if size == 0:
                # Trailers end with an empty line.
                while conn._readline().strip():
                    pass
                return
            while size > 0:
                if conn._buf:
                    take = min(size, len(conn._buf))
                    data = bytes(conn._buf[:take])
                    del conn._buf[:take]
                else:
                    data = conn.sock.recv(min(size, RECV_SIZE))
                    if not data:
                        raise ProtocolError("connection closed inside a chunked body")
                size -= len(data)
                yield data
            conn.read_exact(2)  # the CRLF after each chunk

    def read(self) -> bytes:
        return b"".join(self.chunks())

    def lines(self) -> Iterator[bytes]:
        """Yield the body split at newlines (each without its newline)."""
        pending = b""
        for data in self.chunks():
            pending += data
            while True:
                i = pending.find(b"\n")
                if i < 0:
                    break
                yield pending[:i]
                pending = pending[i + 1:]
        if pending.strip():
            yield pending

    def detach(self) -> tuple[_socket.socket, bytes]:
        """Hand the socket over (after a hijack); returns it and the bytes already received."""
        self.complete = False
        return self.conn.sock, self.conn.take_buffer()


def _regular_file_size(stream: BinaryIO) -> int | None:
    try:
        fd = stream.fileno()
        st = os.fstat(fd)
    except (AttributeError, OSError, ValueError):
        return None
    import stat

    if not stat.S_ISREG(st.st_mode):
        return None
    return st.st_size - os.lseek(fd, 0, os.SEEK_CUR)


def _sendfile(sock: _socket.socket, stream: BinaryIO) -> int:
    """socket.sendfile for a blocking socket: the rest of a regular file, zero-copy; the file
    position ends after what was sent. Returns the number of bytes sent."""
    fd = stream.fileno()
    start = stream.tell()  # as socket.sendfile: the file object's position, not the fd's
    sent = 0
    while True:
        n = os.sendfile(sock.fileno(), fd, start + sent, 1 << 24)
        if n == 0:
            break
        sent += n
    stream.seek(start + sent)
    return sent
