"""The embedded DNS of user-defined networks, through the docker CLI and sangja.

Containers on a user-defined network resolve each other's names, aliases and short IDs;
the default bridge has no name resolution; names the engine does not know are forwarded
to a fake upstream resolver the test runs on 127.0.0.x (sangjad's --resolv-conf points at a
file of the harness's that names no real resolver). Traffic goes only to loopback and to the
test's containers.
"""

from __future__ import annotations

import random
import socket
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from dnslib import QTYPE, RR, A, DNSRecord

from tests.support import netleaks
from tests.support.commands import Cli
from tests.support.daemon import Daemon, SangjaDaemon, SpawnedDaemon, target_kind
from tests.support.flows import inspect


def _net(cli: Cli, cleanup: list[tuple[str, str]], name: str, *flags: str) -> str:
    nid = cli.ok("network", "create", *flags, name).strip()
    cleanup.append(("network", name))
    return nid


def _run(cli: Cli, cleanup: list[tuple[str, str]], name: str, *args: str) -> str:
    cid = cli.ok("run", "-d", "--name", name, *args, "busybox", "sleep", "300").strip()
    cleanup.append(("container", name))
    return cid


def _ip(cli: Cli, name: str, net: str) -> str:
    return str(inspect(cli, name)["NetworkSettings"]["Networks"][net]["IPAddress"])


def _nslookup(cli: Cli, net: str, name: str) -> tuple[int, str]:
    r = cli("run", "--rm", "--network", net, "busybox", "nslookup", name)
    return r.rc, r.out + r.err


def test_names_aliases_and_short_ids_resolve_on_a_user_network(
    cli: Cli, names: Callable[[str], str], cleanup: list[tuple[str, str]]
) -> None:
    net, web = names("dnsnet"), names("web")
    _net(cli, cleanup, net)
    cid = _run(cli, cleanup, web, "--network", net, "--network-alias", "www-alias")
    ip = _ip(cli, web, net)
    for name in (web, "www-alias", cid[:12], web.upper()):
        rc, out = _nslookup(cli, net, name)
        assert rc == 0 and f"Address: {ip}" in out, (name, out)
    ping = cli("run", "--rm", "--network", net, "busybox", "ping", "-c", "1", "-W", "2", web)
    assert ping.rc == 0 and f"({ip})" in ping.out, ping
    conf = cli.ok("run", "--rm", "--network", net, "busybox", "cat", "/etc/resolv.conf")
    assert "options ndots:0" in conf and len([ln for ln in conf.splitlines() if ln.startswith("nameserver")]) == 1

    # The default bridge has no name resolution (Docker's rule): its resolv.conf is the host's.
    if target_kind() == "sangjad":
        bridge_conf = cli.ok("run", "--rm", "busybox", "cat", "/etc/resolv.conf")
        assert "ndots:0" not in bridge_conf


def test_names_follow_rename_disconnect_connect_and_rm(
    cli: Cli, names: Callable[[str], str], cleanup: list[tuple[str, str]]
) -> None:
    net, other, web, renamed = names("dnsnet"), names("dnsother"), names("web"), names("renamed")
    _net(cli, cleanup, net)
    _net(cli, cleanup, other)
    _run(cli, cleanup, web, "--network", net)
    cleanup.append(("container", renamed))
    ip = _ip(cli, web, net)
    assert _nslookup(cli, net, web)[0] == 0

    cli.ok("rename", web, renamed)
    rc, out = _nslookup(cli, net, renamed)
    assert rc == 0 and f"Address: {ip}" in out, out
    assert _nslookup(cli, net, web)[0] != 0

    # Not on `other` yet: unknown there; connected with an alias: resolvable there.
    assert _nslookup(cli, other, renamed)[0] != 0
    cli.ok("network", "connect", "--alias", "late-alias", other, renamed)
    other_ip = _ip(cli, renamed, other)
    for name in (renamed, "late-alias"):
        rc, out = _nslookup(cli, other, name)
        assert rc == 0 and f"Address: {other_ip}" in out, (name, out)
    cli.ok("network", "disconnect", net, renamed)
    assert _nslookup(cli, net, renamed)[0] != 0

    cli.ok("rm", "-f", renamed)
    assert _nslookup(cli, other, renamed)[0] != 0


class FakeUpstream:
    """A UDP DNS server on 127.0.0.x:53 that knows one name."""

    def __init__(self, name: str, address: str) -> None:
        self.name, self.address = name, address
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.host = f"127.{random.randrange(100, 250)}.{random.randrange(1, 250)}.{random.randrange(1, 250)}"
        self.sock.bind((self.host, 53))
        self.sock.settimeout(0.2)
        self.asked: list[str] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.done.is_set():
            try:
                data, addr = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            q = DNSRecord.parse(data)
            qname = str(q.q.qname).rstrip(".")
            self.asked.append(qname)
            reply = q.reply()
            if qname == self.name and q.q.qtype == QTYPE.A:
                reply.add_answer(RR(q.q.qname, QTYPE.A, rdata=A(self.address), ttl=60))
            elif qname != self.name:
                reply.header.rcode = 3  # NXDOMAIN
            self.sock.sendto(reply.pack(), addr)

    def close(self) -> None:
        self.done.set()
        self.thread.join(timeout=5)
        self.sock.close()


def test_unknown_names_are_forwarded_to_the_upstream_resolvers(
    cli: Cli, daemon: Daemon, names: Callable[[str], str], cleanup: list[tuple[str, str]]
) -> None:
    if not isinstance(daemon, SangjaDaemon):
        pytest.skip("the fake upstream is configured through sangjad's --resolv-conf")
    net = names("dnsnet")
    _net(cli, cleanup, net)
    upstream = FakeUpstream("outside.example", "192.0.2.77")
    conf = Path(daemon.upstream_resolv_conf)
    try:
        conf.write_text(f"nameserver {upstream.host}\n")
        rc, out = _nslookup(cli, net, "outside.example")
        assert rc == 0 and "192.0.2.77" in out, out
        assert "outside.example" in upstream.asked
        rc, out = _nslookup(cli, net, "nosuch.example")
        assert rc != 0, out
        # A container's --dns servers replace the host's as the upstreams; resolv.conf still
        # names only the embedded server.
        r = cli("run", "--rm", "--network", net, "--dns", upstream.host, "busybox", "sh", "-c",
                "cat /etc/resolv.conf; nslookup outside.example")
        assert r.rc == 0 and "192.0.2.77" in r.out and f"nameserver {upstream.host}" not in r.out, r
        # Like dockerd, nothing is forwarded for a container on internal networks only;
        # the engine's own names still resolve there.
        internal, peer = names("dnsinternal"), names("peer")
        _net(cli, cleanup, internal, "--internal")
        _run(cli, cleanup, peer, "--network", internal)
        asked = len(upstream.asked)
        rc, out = _nslookup(cli, internal, "outside.example")
        assert rc != 0 and len(upstream.asked) == asked, out
        rc, out = _nslookup(cli, internal, peer)
        assert rc == 0 and f"Address: {_ip(cli, peer, internal)}" in out, out
    finally:
        conf.write_text("")
        upstream.close()


def test_embedded_dns_is_back_after_a_daemon_kill9(fresh_cli: Cli, fresh_daemon: SpawnedDaemon,
                                                   names: Callable[[str], str]) -> None:
    cli = fresh_cli
    net, web = names("dnsnet"), names("web")
    cli.ok("network", "create", net)
    cli.ok("run", "-d", "--name", web, "--network", net, "busybox", "sleep", "300")
    ip = _ip(cli, web, net)
    fresh_daemon.kill9()
    fresh_daemon.start()
    rc, out = _nslookup(cli, net, web)
    assert rc == 0 and f"Address: {ip}" in out, out
    cli.ok("rm", "-f", web)
    cli.ok("network", "rm", net)


def test_the_leak_check_covers_user_network_bridges(fresh_daemon: SpawnedDaemon) -> None:
    if not isinstance(fresh_daemon, SangjaDaemon):
        pytest.skip("sangjad's user-network bridges (sjb…)")
    nid = fresh_daemon.post_json("/networks/create", {"Name": "leakcheck"})["Id"]
    device = "sjb" + nid[:12]
    assert netleaks.user_bridges(fresh_daemon.data_root) == [device]
    fresh_daemon.stop()  # sangjad removes the bridges no container uses
    assert netleaks.clean_user_bridges([device]) == []
    subprocess.run(["ip", "link", "add", device, "type", "bridge"], check=True, timeout=30)  # a leak
    assert netleaks.clean_user_bridges([device]) == [f"bridge {device}"]
    assert netleaks.clean_user_bridges([device]) == []
