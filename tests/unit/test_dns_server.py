"""The embedded DNS server (network/dns.py) on loopback, without root, and the resolv.conf rule."""

from __future__ import annotations

import asyncio
import struct

from dnslib import RCODE, DNSRecord

from sangja.daemon.etcfiles import resolv_conf_for
from sangja.network.dns import DnsServer, Listen, nameservers

NET = "n" * 64


async def _ask_udp(port: int, name: str, qtype: str = "A", host: str = "127.0.0.1") -> DNSRecord:
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[bytes] = loop.create_future()

    class P(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            if not answer.done():
                answer.set_result(data)

    transport, _ = await loop.create_datagram_endpoint(P, remote_addr=(host, port))
    try:
        transport.sendto(DNSRecord.question(name, qtype).pack())
        return DNSRecord.parse(await asyncio.wait_for(answer, 5))
    finally:
        transport.close()


async def _ask_tcp(port: int, name: str) -> DNSRecord:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        q = DNSRecord.question(name).pack()
        writer.write(struct.pack("!H", len(q)) + q)
        n = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2), 5))[0]
        return DNSRecord.parse(await asyncio.wait_for(reader.readexactly(n), 5))
    finally:
        writer.close()


def _lookup(nid: str, name: str, client: str) -> list[str] | None:
    table = {"web": ["10.1.0.2"], "pair": ["10.1.0.3", "10.1.0.4"]}
    return table.get(name) if nid == NET else None


async def _server(upstreams: list[str], subnet: str = "127.0.0.0/8") -> tuple[DnsServer, int]:
    server = DnsServer(_lookup, lambda nid, client: upstreams)
    await server.sync({NET: Listen("127.0.0.1", subnet, 0)})
    bound = server.bound(NET)
    assert bound is not None
    return server, bound[1]


async def test_known_names_get_a_records_and_empty_aaaa() -> None:
    server, port = await _server([])
    try:
        r = await _ask_udp(port, "web")
        assert r.header.rcode == RCODE.NOERROR and [str(a.rdata) for a in r.rr] == ["10.1.0.2"]
        assert r.header.aa == 1 and r.rr[0].ttl == 600
        r = await _ask_udp(port, "PAIR.")
        assert sorted(str(a.rdata) for a in r.rr) == ["10.1.0.3", "10.1.0.4"]
        r = await _ask_udp(port, "web", "AAAA")
        assert r.header.rcode == RCODE.NOERROR and r.rr == []
        r = await _ask_tcp(port, "web")
        assert [str(a.rdata) for a in r.rr] == ["10.1.0.2"]
    finally:
        await server.close()


async def test_unknown_names_are_forwarded_and_servfail_without_upstreams() -> None:
    upstream = DnsServer(lambda nid, name, client: ["192.0.2.9"] if name == "far.example" else None,
                         lambda nid, client: [])
    await upstream.sync({NET: Listen("127.0.0.2", "127.0.0.0/8", 0)})
    up = upstream.bound(NET)
    assert up is not None
    server, port = await _server([f"127.0.0.2:{up[1]}"])
    lonely, lonely_port = await _server([])
    try:
        r = await _ask_udp(port, "far.example")
        assert [str(a.rdata) for a in r.rr] == ["192.0.2.9"]
        r = await _ask_tcp(port, "far.example")
        assert [str(a.rdata) for a in r.rr] == ["192.0.2.9"]
        r = await _ask_udp(lonely_port, "far.example")
        assert r.header.rcode == RCODE.SERVFAIL and r.rr == []
    finally:
        for s in (server, lonely, upstream):
            await s.close()


async def test_queries_from_outside_the_subnet_are_refused_and_listeners_follow_sync() -> None:
    server, port = await _server([], subnet="10.99.0.0/16")
    try:
        r = await _ask_udp(port, "web")
        assert r.header.rcode == RCODE.REFUSED and r.rr == []
        await server.sync({})
        assert server.bound(NET) is None
    finally:
        await server.close()


def test_nameservers_and_the_embedded_resolv_conf() -> None:
    host = "search corp.example\nnameserver 10.0.0.53\nnameserver ::1\nnameserver 127.0.0.53\noptions edns0\n"
    assert nameservers(host) == ["10.0.0.53", "127.0.0.53"]
    conf = resolv_conf_for(host, "mynet", dns=["9.9.9.9"], embedded="172.21.0.1")
    assert conf.splitlines() == ["search corp.example", "options edns0", "nameserver 172.21.0.1", "options ndots:0"]
    conf = resolv_conf_for(host, "mynet", search=["a.example"], options=["ndots:2"], embedded="172.21.0.1")
    assert conf.splitlines() == ["search a.example", "options ndots:2", "nameserver 172.21.0.1"]
    assert "nameserver 10.0.0.53" in resolv_conf_for(host, "bridge")

