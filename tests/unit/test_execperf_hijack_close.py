"""api/hijack.py: closing a hijacked stream sends everything written before it (no root)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from sangja.api.hijack import HijackedConnection


class _Original(asyncio.Protocol):
    lost: list[Any] = []

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.append(exc)


async def test_close_flushes_what_the_transport_still_buffers() -> None:
    ours, peer = socket.socketpair()
    peer.setblocking(False)
    loop = asyncio.get_running_loop()
    transport, original = await loop.connect_accepted_socket(_Original, ours)
    conn = HijackedConnection(transport, original)
    transport.set_protocol(conn)
    written = 0
    chunk = b"x" * 16384
    # The peer reads nothing yet: write until the kernel's socket buffer is full and the
    # transport holds bytes of its own (below its high-water mark, so write() returned).
    for _ in range(64 * 1024):  # bounded: 1 GiB at most
        await conn.write(chunk)
        written += len(chunk)
        if transport.get_write_buffer_size() > 0:
            break
    assert transport.get_write_buffer_size() > 0
    conn.close()  # the process exited: the stream ends here
    received = 0
    for _ in range(100000):  # bounded
        try:
            data = await loop.sock_recv(peer, 1 << 20)
        except ConnectionResetError:
            break
        if not data:
            break
        received += len(data)
    peer.close()
    assert received == written  # nothing lost at the end, then EOF
