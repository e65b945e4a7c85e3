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


STDIN_PACKET = 32 * 1024  # conmon reads client packets into a 32 KiB buffer: a longer packet is cut


def open_stdin_socket(d: Daemon, c: Container) -> socket.socket | None:
    """A second connection to conmon that carries only the client's stdin.

    conmon ends a connection at its first EOF, so half-closing the one that carries the
    output would lose what the container writes after its stdin ended. Closing this one
    instead makes conmon close the container's stdin (unless it runs with
    --leave-stdin-open, i.e. not StdinOnce, as with Docker) while output keeps flowing.
    """
    try:
        return _connect(d.runtime.attach_socket(c.id))
    except OSError:
        return None


async def pump(sock: socket.socket, client: ClientStream, opts: AttachOptions,
               stdin_sock: socket.socket | None = None) -> None:
    """Copy until the container's side closes (it exited) or the client detaches/leaves.

    Output waits for the client (its write() blocks while the client is slow), so nothing is
    buffered here without bound; input is sent in packets conmon takes whole.
    """
    loop = asyncio.get_running_loop()
    writer = stdin_sock if stdin_sock is not None else sock

    async def from_container() -> None:
        while True:
            packet = await loop.sock_recv(sock, 8193)
            if not packet:
                return
            stream = 1 if packet[0] == 2 else 2
            if (stream == 1 and opts.stdout) or (stream == 2 and opts.stderr):
                await client.write(stream, packet[1:])

    async def drain_writer() -> None:
        # conmon sends the output to every connection: read and drop it on the stdin one.
        assert stdin_sock is not None
        with contextlib.suppress(OSError):
            while await loop.sock_recv(stdin_sock, 8193):
                pass

    async def send(data: bytes) -> None:
        for i in range(0, len(data), STDIN_PACKET):
            await loop.sock_sendall(writer, data[i : i + STDIN_PACKET])

    async def from_client() -> None:
        matched = 0
        keys = opts.detach_keys
        while True:
            data = await client.read()
            if not data:
                if opts.stdin:
                    # The client's stdin is at EOF: pass it on, keep reading output.
                    if stdin_sock is not None:
                        drainer.cancel()
                        stdin_sock.close()
                    else:
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
                            await send(data[: i + 1 - len(keys)])
                        raise DetachRequested
            await send(data)

    drainer = asyncio.ensure_future(drain_writer() if stdin_sock is not None else asyncio.sleep(0))
    out = asyncio.ensure_future(from_container())
    inp = asyncio.ensure_future(from_client())
    try:
        done, _ = await asyncio.wait({out, inp}, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            exc = task.exception()
            if exc is not None:
                log.debug("attach session ended: %r", exc)
            if exc is not None and not isinstance(exc, (DetachRequested, ConnectionError, OSError)):
                raise exc
    finally:
        for task in (out, inp, drainer):
            task.cancel()
        await asyncio.gather(out, inp, drainer, return_exceptions=True)
        sock.close()
        if stdin_sock is not None:
            stdin_sock.close()


class DetachRequested(Exception):
    """The client typed the detach key sequence."""
