"""Attach a client to a container's stdio through conmon's attach socket.

conmon's socket (SOCK_SEQPACKET) sends packets of 1 stream byte (2 = stdout,
3 = stderr) + data, and passes raw bytes written to it on to the container's stdin
(CONMON-NOTES §4). Attaching before start (what `docker run` does) registers a hook
that `start` calls after `runc create` and before `runc start`, so nothing is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass
from typing import Protocol

from sangja.daemon.container import Container
from sangja.daemon.daemon import Daemon
from sangja.errors import Conflict, InvalidParameter

log = logging.getLogger(__name__)

DEFAULT_DETACH_KEYS = b"\x10\x11"  # ctrl-p, ctrl-q


class ClientStream(Protocol):
    """The attached client as the daemon sees it (the API layer does the framing)."""

    async def read(self) -> bytes: ...  # b"" at the client's EOF
    async def write(self, stream: int, data: bytes) -> None: ...  # stream 1 = stdout, 2 = stderr
    def close(self) -> None: ...


@dataclass(frozen=True)
class AttachOptions:
    stdin: bool = False
    stdout: bool = True
    stderr: bool = True
    stream: bool = True
    logs: bool = False
    detach_keys: bytes = DEFAULT_DETACH_KEYS


def parse_detach_keys(spec: str | None) -> bytes:
    """Docker's `--detach-keys` syntax: comma-separated 'ctrl-<x>' or single characters."""
    if spec is None or spec == "":
        return DEFAULT_DETACH_KEYS
    out = bytearray()
    for part in spec.split(","):
        if part.startswith("ctrl-") and len(part) == 6:
            ch = part[5]
            if ch.isalpha():
                out.append(ord(ch.lower()) - ord("a") + 1)
            elif ch in "@[\\]^_":
                out.append({"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}[ch])
            else:
                raise InvalidParameter(f"invalid detach keys ({spec})")
        elif len(part) == 1:
            out.append(ord(part))
        else:
            raise InvalidParameter(f"invalid detach keys ({spec})")
    return bytes(out)


def check_attachable(c: Container) -> None:
    if c.state.status == "paused":
        raise Conflict(f"container {c.id} is paused, unpause the container before attach")
    if c.state.status in ("removing", "dead"):
        raise Conflict(f"container {c.id} is marked for removal and cannot be attached")


async def connect_when_started(d: Daemon, c: Container) -> socket.socket | None:
    """The conmon attach socket: now if running, else once the next start creates it.
    None when the container exits/fails to start first."""
    if c.state.running:
        return _connect(d.runtime.attach_socket(c.id))
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[socket.socket] = loop.create_future()

    def hook() -> None:
        if not ready.done():
            try:
                ready.set_result(_connect(d.runtime.attach_socket(c.id)))
            except OSError as exc:
                ready.set_exception(exc)

    d.attach_hooks[c.id].append(hook)
    gone: asyncio.Future[int] = d.waiters.on_next_exit(c.id)
    try:
        await asyncio.wait([ready, gone], return_when=asyncio.FIRST_COMPLETED)  # type: ignore[type-var]
    finally:
        with contextlib.suppress(ValueError):
            d.attach_hooks[c.id].remove(hook)
    if ready.done() and not ready.cancelled():
        return ready.result()
    return None


def _connect(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


async def pump(sock: socket.socket, client: ClientStream, opts: AttachOptions) -> None:
    """Copy until the container's side closes (it exited) or the client detaches/leaves."""
    loop = asyncio.get_running_loop()

    async def from_container() -> None:
        while True:
            packet = await loop.sock_recv(sock, 8193)
            if not packet:
                return
            stream = 1 if packet[0] == 2 else 2
            if (stream == 1 and opts.stdout) or (stream == 2 and opts.stderr):
                await client.write(stream, packet[1:])

    async def from_client() -> None:
        matched = 0
        keys = opts.detach_keys
        while True:
            data = await client.read()
            if not data:
                if opts.stdin:
                    # The client's stdin is at EOF: pass it on, keep reading output.
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_WR)
                await asyncio.Event().wait()  # output keeps flowing until the container side ends
                return
            if not opts.stdin:
                continue
            if keys:
                for i, byte in enumerate(data):
                    matched = matched + 1 if byte == keys[matched] else (1 if byte == keys[0] else 0)
                    if matched == len(keys):
                        if i + 1 - len(keys) > 0:
                            await loop.sock_sendall(sock, data[: i + 1 - len(keys)])
                        raise DetachRequested
            await loop.sock_sendall(sock, data)

    out = asyncio.ensure_future(from_container())
    inp = asyncio.ensure_future(from_client())
    try:
        done, _ = await asyncio.wait({out, inp}, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            exc = task.exception()
            if exc is not None and not isinstance(exc, (DetachRequested, ConnectionError, OSError)):
                raise exc
    finally:
        for task in (out, inp):
            task.cancel()
        await asyncio.gather(out, inp, return_exceptions=True)
        sock.close()


class DetachRequested(Exception):
    """The client typed the detach key sequence."""
