"""The embedded DNS server of user-defined networks (Docker's 127.0.0.11, reached here at the gateway).

One asyncio server in sangjad with one UDP socket and one TCP listener per user-defined
network, bound to the network's gateway address, port 53. A container on such a network
gets `nameserver <gateway>` in its resolv.conf (no DNAT of 127.0.0.11 inside its netns: that
would cost an nft transaction in every sandbox on the `run` path for a cosmetic address).

A query is answered from the engine's own names when `lookup` knows the name (A records;
AAAA and other types get an empty NOERROR answer, as Docker's resolver gives for a known
name without IPv6); any other name is forwarded, unchanged, to the upstream resolvers
`upstreams` returns (the host's, or the container's `--dns`), over the transport the query
came in on. Queries from outside the network's subnet are refused, so a container cannot
learn another network's names through that network's gateway.

The name tables are not kept here: `lookup` is asked on every query, so connect,
disconnect, rename, stop and rm are seen at once without any bookkeeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass

from dnslib import AAAA, QTYPE, RCODE, RR, A, DNSRecord

log = logging.getLogger(__name__)

TTL = 600  # Docker's embedded resolver's TTL for container names
UPSTREAM_TIMEOUT = 2.0  # per upstream server and attempt
IP_FREEBIND = 15  # linux/in.h: bind to the gateway even before the bridge has the address

# (network id, queried name in lower case without the final dot, client address) →
# the addresses of that name, or None when the engine does not know the name.
Lookup = Callable[[str, str, str], "list[str] | None"]
# (network id, client address) → the upstream resolvers' addresses, in order.
Upstreams = Callable[[str, str], "list[str]"]


@dataclass(frozen=True)
class Listen:
    """Where one network's server listens: its gateway; and whom it answers: its subnet."""

    address: str
    subnet: str
    port: int = 53


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer, network_id: str, subnet: ipaddress.IPv4Network) -> None:
        self.server, self.network_id, self.subnet = server, network_id, subnet
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a _SelectorDatagramTransport

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        client = str(addr[0])
        self.server.spawn(self._answer(data, client, addr))

    async def _answer(self, data: bytes, client: str, addr: tuple[str | object, ...]) -> None:
        reply = await self.server.handle(data, self.network_id, self.subnet, client, tcp=False)
        if reply is not None and self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(reply, addr)


@dataclass
class _Listener:
    listen: Listen
    udp: asyncio.DatagramTransport
    tcp: asyncio.base_events.Server


class DnsServer:
    def __init__(self, lookup: Lookup, upstreams: Upstreams) -> None:
        self.lookup = lookup
        self.upstreams = upstreams
        self._listeners: dict[str, _Listener] = {}  # network id → its sockets
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: object) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def bound(self, network_id: str) -> tuple[str, int] | None:
        """The (address, port) the network's UDP socket is bound to, if it listens."""
        lst = self._listeners.get(network_id)
        if lst is None:
            return None
        name = lst.udp.get_extra_info("sockname")
        return str(name[0]), int(name[1])

    async def sync(self, wanted: dict[str, Listen]) -> None:
        """Listen for exactly the networks in `wanted` (network id → where); a network whose
        sockets cannot be bound is logged and retried at the next sync."""
        for nid in list(self._listeners):
            if nid not in wanted or self._listeners[nid].listen != wanted[nid]:
                await self._stop(nid)
        for nid, where in wanted.items():
            if nid in self._listeners:
                continue
            try:
                self._listeners[nid] = await self._start(nid, where)
            except OSError as exc:
                log.warning("embedded DNS for network %s on %s:%d: %s", nid[:12], where.address, where.port, exc)

    async def close(self) -> None:
        for nid in list(self._listeners):
            await self._stop(nid)
        for task in list(self._tasks):
            task.cancel()

    async def _start(self, nid: str, where: Listen) -> _Listener:
        loop = asyncio.get_running_loop()
        subnet = ipaddress.IPv4Network(where.subnet)
        usock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            usock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            usock.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
            usock.bind((where.address, where.port))
            port = usock.getsockname()[1]
            tsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                tsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                tsock.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
                tsock.bind((where.address, port))
                tcp = await asyncio.start_server(
                    lambda r, w: self._tcp_client(r, w, nid, subnet), sock=tsock, limit=65536
                )
            except BaseException:
                tsock.close()
                raise
        except BaseException:
            usock.close()
            raise
        try:
            udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(self, nid, subnet), sock=usock)
        except BaseException:
            tcp.close()
            raise
        log.info("embedded DNS for network %s on %s:%d", nid[:12], where.address, port)
        return _Listener(where, udp, tcp)

    async def _stop(self, nid: str) -> None:
        lst = self._listeners.pop(nid, None)
        if lst is None:
            return
        lst.udp.close()
        lst.tcp.close()
        with contextlib.suppress(Exception):
            await lst.tcp.wait_closed()

    async def _tcp_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, nid: str, subnet: ipaddress.IPv4Network
    ) -> None:
        client = str(writer.get_extra_info("peername")[0])
        try:
            for _ in range(100):  # a client may send several queries on one connection
                head = await asyncio.wait_for(reader.readexactly(2), 10)
                data = await asyncio.wait_for(reader.readexactly(struct.unpack("!H", head)[0]), 10)
                reply = await self.handle(data, nid, subnet, client, tcp=True)
                if reply is None:
                    break
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    # -- answering ------------------------------------------------------------------------------
    async def handle(
        self, data: bytes, nid: str, subnet: ipaddress.IPv4Network, client: str, tcp: bool
    ) -> bytes | None:
        """The reply to one query (None: drop it, it is not a DNS query)."""
        try:
            query = DNSRecord.parse(data)
        except Exception:
            return None
        if query.header.qr or len(query.questions) != 1:
            return _reply(query, RCODE.FORMERR) if not query.header.qr else None
        if ipaddress.IPv4Address(client) not in subnet:
            return _reply(query, RCODE.REFUSED)
        q = query.questions[0]
        name = str(q.qname).rstrip(".").lower()
        try:
            found = self.lookup(nid, name, client)
        except Exception:
            log.exception("embedded DNS lookup of %s failed", name)
            return _reply(query, RCODE.SERVFAIL)
        if found is not None:
            reply = query.reply(ra=1, aa=1)
            if q.qtype == QTYPE.A:
                for ip in found:
                    if ":" not in ip:  # the IPv6 addresses of containers on IPv6 networks are AAAA answers
                        reply.add_answer(RR(q.qname, QTYPE.A, rdata=A(ip), ttl=TTL))
            elif q.qtype == QTYPE.AAAA:
                for ip in found:
                    if ":" in ip:
                        reply.add_answer(RR(q.qname, QTYPE.AAAA, rdata=AAAA(ip), ttl=TTL))
            return bytes(reply.pack())
        return await self._forward(query, data, nid, client, tcp)

    async def _forward(self, query: DNSRecord, data: bytes, nid: str, client: str, tcp: bool) -> bytes:
        try:
            servers = self.upstreams(nid, client)
        except Exception:
            log.exception("embedded DNS: upstream resolvers of network %s", nid[:12])
            servers = []
        for server in servers:
            try:
                if tcp:
                    return await asyncio.wait_for(_ask_tcp(server, data), UPSTREAM_TIMEOUT)
                return await asyncio.wait_for(_ask_udp(server, data), UPSTREAM_TIMEOUT)
            except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                log.debug("embedded DNS: upstream %s did not answer: %r", server, exc)
        return _reply(query, RCODE.SERVFAIL)


def _reply(query: DNSRecord, rcode: int) -> bytes:
    reply = query.reply(ra=1)
    reply.header.rcode = rcode
    return bytes(reply.pack())


def _server_addr(server: str) -> tuple[str, int]:
    """"1.2.3.4" or "1.2.3.4:5353" (tests run fake upstreams on other ports) → (host, port)."""
    host, sep, port = server.rpartition(":")
    if sep and host and "." in host and port.isdigit():
        return host, int(port)
    return server, 53


class _UdpAsk(asyncio.DatagramProtocol):
    def __init__(self, txid: bytes) -> None:
        self.txid = txid
        self.answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if data[:2] == self.txid and not self.answer.done():
            self.answer.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.answer.done():
            self.answer.set_exception(exc)


async def _ask_udp(server: str, data: bytes) -> bytes:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(
        lambda: _UdpAsk(data[:2]), remote_addr=_server_addr(server)
    )
    try:
        transport.sendto(data)
        return await proto.answer
    finally:
        transport.close()


async def _ask_tcp(server: str, data: bytes) -> bytes:
    host, port = _server_addr(server)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(struct.pack("!H", len(data)) + data)
        await writer.drain()
        head = await reader.readexactly(2)
        return await reader.readexactly(struct.unpack("!H", head)[0])
    finally:
        writer.close()


def nameservers(resolv_conf: str) -> list[str]:
    """The IPv4 nameservers of a resolv.conf's text, in order (IPv6 ones are skipped)."""
    out = []
    for line in resolv_conf.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver" and ":" not in parts[1]:
            with contextlib.suppress(ValueError):
                out.append(str(ipaddress.IPv4Address(parts[1])))
    return out
