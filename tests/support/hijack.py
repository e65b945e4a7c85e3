"""A raw client of the hijacked attach/exec streams, for tests that need control over the
socket itself (half-close, vanishing mid-stream, slow reading, several clients).

    s = hijack(sock_path, "/exec/ID/start", {"Detach": False, "Tty": False})
    s.sendall(b"data"); s.shutdown(socket.SHUT_WR); frames = read_frames(s)
"""

from __future__ import annotations

import json
import socket
from typing import Any


def hijack(socket_path: str, path: str, body: dict[str, Any] | None = None, timeout: float = 60.0) -> socket.socket:
    """POST with `Upgrade: tcp`; returns the socket right after the `101 UPGRADED` head."""
    payload = json.dumps(body).encode() if body is not None else b""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(socket_path)
    s.sendall(
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode() + payload
    )
    head = b""
    while not head.endswith(b"\r\n\r\n"):  # byte by byte: nothing after the head may be swallowed
        ch = s.recv(1)
        if not ch:
            raise ConnectionError(f"connection closed before the 101: {head!r}")
        head += ch
    status = head.split(b"\r\n", 1)[0]
    if b" 101 " not in status:
        s.close()
        raise ConnectionError(f"expected 101 UPGRADED, got {head!r}")
    return s


def read_all(s: socket.socket) -> bytes:
    """Everything until the server closes the connection."""
    chunks: list[bytes] = []
    while True:
        data = s.recv(1 << 16)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def demux(raw: bytes) -> tuple[bytes, bytes]:
    """(stdout, stderr) of a multiplexed stream; fails on a malformed frame."""
    out, err = bytearray(), bytearray()
    i = 0
    while i < len(raw):
        assert i + 8 <= len(raw), f"truncated frame header at {i}"
        stream, size = raw[i], int.from_bytes(raw[i + 4 : i + 8], "big")
        assert stream in (1, 2) and raw[i + 1 : i + 4] == b"\0\0\0", raw[i : i + 8]
        body = raw[i + 8 : i + 8 + size]
        assert len(body) == size, "truncated frame"
        (out if stream == 1 else err).extend(body)
        i += 8 + size
    return bytes(out), bytes(err)
