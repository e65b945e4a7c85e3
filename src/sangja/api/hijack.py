"""Take over an HTTP connection after `101 UPGRADED` (attach, exec start).

aiohttp has no raw-socket upgrade for `Upgrade: tcp`, so after sending the 101
head we swap the transport's protocol for `HijackedConnection`
(WIRE-NOTES §3, method B). Its contract:

- `read()` returns client bytes, `b""` once the client half-closed (CloseWrite) or left;
  our write side stays open after the client's EOF (`eof_received` returns True),
  so output produced after stdin EOF still reaches the client;
- `write()` waits while the transport's buffer is over its high-water mark, so a slow
  reader never makes sangjad buffer without bound; reading pauses likewise;
- `close()` ends the connection: the server closes when the process exits, which is
  how the docker CLI learns that the stream is over;
- `connection_lost` is passed on to aiohttp's own protocol so it can forget the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp import web

READ_LIMIT = 1 << 20


class HijackedConnection(asyncio.Protocol):
    def __init__(self, transport: asyncio.Transport, original: Any) -> None:
        self._transport = transport
        self._original = original
        self._buffer = bytearray()
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._eof = False
        self.closed = False
        self._reading_paused = False

    # asyncio.Protocol callbacks
    def data_received(self, data: bytes) -> None:
        self._buffer.extend(data)
        self._readable.set()
        if len(self._buffer) > READ_LIMIT and not self._reading_paused:
            self._transport.pause_reading()
            self._reading_paused = True

    def eof_received(self) -> bool:
        self._eof = True
        self._readable.set()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._eof = True
        self._readable.set()
        self._writable.set()
        with contextlib.suppress(Exception):
            self._original.connection_lost(exc)

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    # the session's side
    async def read(self) -> bytes:
        while not self._buffer and not self._eof:
            self._readable.clear()
            await self._readable.wait()
        if not self._buffer:
            return b""
        data = bytes(self._buffer)
        self._buffer.clear()
        if self._reading_paused and not self.closed:
            self._transport.resume_reading()
            self._reading_paused = False
        return data

    async def write(self, data: bytes) -> None:
        if self.closed or self._transport.is_closing():
            raise ConnectionResetError("attach client went away")
        self._transport.write(data)
        await self._writable.wait()
        if self.closed:
            raise ConnectionResetError("attach client went away")

    def close(self) -> None:
        # Through the transport, never shutdown() on its socket: write() returns while up to the
        # high-water mark of output still sits in the transport's buffer, and a shutdown before
        # that is sent loses the stream's last bytes (seen: 32-96 KiB of a 100 MB `exec -i cat`).
        # write_eof() sends the FIN once the buffer is out, and close() closes the socket then.
        if not self._transport.is_closing():
            with contextlib.suppress(OSError, RuntimeError):
                if self._transport.can_write_eof():
                    self._transport.write_eof()
            self._transport.close()


async def upgrade(request: web.Request, content_type: str) -> tuple[web.StreamResponse, HijackedConnection]:
    """Send `101 UPGRADED` on its own, then take the connection over."""
    headers = {"Content-Type": content_type, "Connection": "Upgrade", "Upgrade": "tcp"}
    resp = web.StreamResponse(status=101, reason="UPGRADED", headers=headers)
    resp.force_close()
    await resp.prepare(request)
    transport = request.transport
    if transport is None:
        raise ConnectionResetError("client went away before the upgrade")
    conn = HijackedConnection(transport, request.protocol)
    transport.set_protocol(conn)
    return resp, conn


def frame(stream: int, data: bytes) -> bytes:
    """Docker's multiplexed-stream frame: [stream, 0, 0, 0, uint32 big-endian length] + data."""
    return bytes((stream, 0, 0, 0)) + len(data).to_bytes(4, "big") + data


class FramedClient:
    """A hijacked connection as the daemon's session code sees it (`daemon.attach.ClientStream`):
    8-byte frames per stream, or raw bytes with a TTY."""

    def __init__(self, conn: HijackedConnection, tty: bool) -> None:
        self._conn = conn
        self._tty = tty

    async def read(self) -> bytes:
        return await self._conn.read()

    async def write(self, stream: int, data: bytes) -> None:
        await self._conn.write(data if self._tty else frame(stream, data))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.close()
