"""IPv6 on bridge networks: `network create --ipv6`, sangjad's `--ipv6 --fixed-cidr-v6`.

Containers get an IPv6 address next to the IPv4 one (inspect, /etc/hosts, AAAA answers of the
embedded DNS); a published port is DNATed by the kernel to the container's IPv6 address.
Traffic goes only to the test's containers' addresses and to the engine's own bridge gateway
(a published port through the `ip6` nat table). [::1] is not forwarded: the kernel does not
let a packet from or to ::1 cross a non-loopback device (network/ipv6.py).
"""

from __future__ import annotations

import ipaddress
import json
import random
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import docker
import pytest

from tests.support import netleaks
from tests.support.commands import Cli
from tests.support.daemon import Daemon, SangjaDaemon, target_kind
from tests.support.flows import inspect, validate_against_swagger

SERVE = "mkdir -p /www && echo hello-from-{name} > /www/index.html && exec httpd -f -p 80 -h /www"


def _ula() -> str:
    return f"fd{random.randrange(16, 255):02x}:{random.randrange(1, 65535):x}:{random.randrange(1, 65535):x}::/64"


def _get(host: str, port: int) -> str:
    """A plain HTTP GET over IPv6 (bounded: at most a few tries while the server starts)."""
    last: OSError | None = None
    for _ in range(30):
        try:
            with socket.create_connection((host, port), timeout=5) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                data = b""
                while chunk := s.recv(4096):
                    data += chunk
                return data.decode(errors="replace")
        except OSError as exc:
            last = exc
            subprocess.run(["sleep", "0.1"], check=True, timeout=5)
    raise AssertionError(f"no answer from [{host}]:{port}: {last}")




def test_user_network_ipv6(cli: Cli, names: Callable[[str], str], cleanup: list[tuple[str, str]],
                           free_port: int, daemon: Daemon) -> None:
    net, web = names("net6"), names("web")
    subnet = _ula()
    cli.ok("network", "create", "--ipv6", "--subnet", subnet, net)
    cleanup.append(("network", net))
    obj = json.loads(cli.ok("network", "inspect", net))[0]
    validate_against_swagger(obj, "Network")
    assert obj["EnableIPv6"] is True
    gateway6 = str(ipaddress.IPv6Network(subnet).network_address + 1)
    assert {"Subnet": subnet, "Gateway": gateway6} in obj["IPAM"]["Config"]

    cli.ok("run", "-d", "--name", web, "--network", net, "-p", f"{free_port}:80", "busybox", "sh", "-c",
           SERVE.format(name=web))
    cleanup.append(("container", web))
    c = inspect(cli, web)
    validate_against_swagger(c, "ContainerInspectResponse")
    ep = c["NetworkSettings"]["Networks"][net]
    addr6 = ep["GlobalIPv6Address"]
    assert ipaddress.IPv6Address(addr6) in ipaddress.IPv6Network(subnet)
    assert (ep["GlobalIPv6PrefixLen"], ep["IPv6Gateway"]) == (64, gateway6)
    members = json.loads(cli.ok("network", "inspect", net))[0]["Containers"]
    assert members[c["Id"]]["IPv6Address"] == f"{addr6}/64"
    assert f"{addr6}\t{c['Config']['Hostname']}" in cli.ok("exec", web, "cat", "/etc/hosts")

    # host → the container's own IPv6 address; container → container by name (AAAA) and address
    assert f"hello-from-{web}" in _get(addr6, 80)
    script = (f"nslookup {web}; wget -qO- http://[{addr6}]/ && "
              f"wget -qO- http://[{gateway6}]:{free_port}/")  # hairpin through the ip6 DNAT
    out = cli.ok("run", "--rm", "--network", net, "busybox", "sh", "-c", script)
    assert f"Address: {addr6}" in out
    assert out.count(f"hello-from-{web}") == 2
    # host → a published port on an IPv6 address of the engine's bridge (the ip6 nat output hook)
    assert f"hello-from-{web}" in _get(gateway6, free_port)

    cli.ok("rm", "-f", web)
    cli.ok("network", "rm", net)
    if isinstance(daemon, SangjaDaemon):  # the last IPv6 network is gone: so is the ip6 table
        table = netleaks.table_for(daemon.bridge)
        probe = subprocess.run(["nft", "list", "table", "ip6", table], capture_output=True, timeout=30)
        assert probe.returncode != 0


def test_connect_and_fixed_ip6(cli: Cli, names: Callable[[str], str], cleanup: list[tuple[str, str]]) -> None:
    net, fixed, late = names("net6"), names("fixed"), names("late")
    subnet = ipaddress.IPv6Network(_ula())
    cli.ok("network", "create", "--ipv6", "--subnet", str(subnet), net)
    cleanup.append(("network", net))
    wanted = str(subnet.network_address + 0x99)
    cli.ok("run", "-d", "--name", fixed, "--network", net, "--ip6", wanted, "busybox", "sleep", "60")
    cleanup.append(("container", fixed))
    assert inspect(cli, fixed)["NetworkSettings"]["Networks"][net]["GlobalIPv6Address"] == wanted
    cli.ok("run", "-d", "--name", late, "busybox", "sleep", "60")  # the default bridge first
    cleanup.append(("container", late))
    cli.ok("network", "connect", net, late)
    addr6 = inspect(cli, late)["NetworkSettings"]["Networks"][net]["GlobalIPv6Address"]
    assert ipaddress.IPv6Address(addr6) in subnet and addr6 != wanted
    assert f"inet6 {addr6}/64" in cli.ok("exec", late, "ip", "-6", "addr", "show", "eth1")
    cli.ok("exec", late, "ping", "-c", "1", "-W", "5", wanted)
    cli.ok("network", "disconnect", net, late)
    assert addr6 not in cli.ok("exec", late, "ip", "-6", "addr")


def test_ipv6_subnet_without_enable_is_ignored_and_bad_subnets(cli: Cli, names: Callable[[str], str],
                                                               cleanup: list[tuple[str, str]]) -> None:
    net = names("net4")
    cli.ok("network", "create", "--subnet", _ula(), net)
    cleanup.append(("network", net))
    obj = json.loads(cli.ok("network", "inspect", net))[0]
    assert obj["EnableIPv6"] is False
    if target_kind() == "sangjad":
        assert all(":" not in c["Subnet"] for c in obj["IPAM"]["Config"])
    r = cli("network", "create", "--ipv6", "--subnet", "fd12:3456:789a::1/64", names("bad"))
    assert r.rc != 0 and "invalid subnet fd12:3456:789a::1/64: it should be fd12:3456:789a::/64" in r.err


def test_dockerpy_ipv6_network(client: docker.DockerClient, names: Callable[[str], str]) -> None:
    subnet = _ula()
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])
    net = client.networks.create(names("net6"), driver="bridge", enable_ipv6=True, ipam=ipam)
    try:
        c = client.containers.run("busybox", ["sleep", "60"], network=net.name, detach=True)
        try:
            c.reload()
            addr6 = c.attrs["NetworkSettings"]["Networks"][net.name]["GlobalIPv6Address"]
            assert ipaddress.IPv6Address(addr6) in ipaddress.IPv6Network(subnet)
        finally:
            c.remove(force=True)
    finally:
        net.remove()


class _Ipv6Daemon(SangjaDaemon):
    """sangjad with dockerd's --ipv6 --fixed-cidr-v6 for the default bridge."""

    def __init__(self, base_dir: str, subnet: str) -> None:
        super().__init__(base_dir)
        self.subnet6 = subnet

    def argv(self) -> list[str]:
        return [*super().argv(), "--ipv6", "--fixed-cidr-v6", self.subnet6]


@pytest.mark.skipif(target_kind() != "sangjad", reason="sangjad's own daemon flags")
def test_default_bridge_ipv6_survives_a_daemon_kill(busybox_tar: Path, cli_home: Path, free_port: int) -> None:
    subnet = _ula()
    d = _Ipv6Daemon.create(subnet=subnet)
    d.start()
    try:
        d.import_image(busybox_tar, "busybox", "latest", ('CMD ["sh"]',))
        cli = Cli.sangja(d.host, str(cli_home))
        bridge = json.loads(cli.ok("network", "inspect", "bridge"))[0]
        assert bridge["EnableIPv6"] is True
        assert {"Subnet": subnet, "Gateway": str(ipaddress.IPv6Network(subnet).network_address + 1)} in \
            bridge["IPAM"]["Config"]
        cli.ok("run", "-d", "--name", "web6", "-p", f"{free_port}:80", "busybox", "sh", "-c", SERVE.format(name="a"))
        addr6 = inspect(cli, "web6")["NetworkSettings"]["GlobalIPv6Address"]
        assert ipaddress.IPv6Address(addr6) in ipaddress.IPv6Network(subnet)
        assert "hello-from-a" in _get(addr6, 80)

        d.kill9()
        assert "hello-from-a" in _get(addr6, 80)  # the container keeps its network while sangjad is down
        d.start()
        # IPAM came back from the records: a new container gets another address
        cli.ok("run", "-d", "--name", "other6", "busybox", "sleep", "60")
        other6 = inspect(cli, "other6")["NetworkSettings"]["GlobalIPv6Address"]
        assert other6 and other6 != addr6
        gateway6 = str(ipaddress.IPv6Network(subnet).network_address + 1)
        assert "hello-from-a" in _get(gateway6, free_port)  # the ip6 DNAT restored after the restart
        cli.ok("rm", "-f", "web6", "other6")
    finally:
        leaks = d.close()
    assert not leaks, leaks
