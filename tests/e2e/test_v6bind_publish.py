"""`-p [addr6]:port:cport` and `-p [::]:port:cport`: a published port on an IPv6 host address.

Forwarded by the `ip6` nat table to the container's IPv6 address; refused on a network without
IPv6 (the kernel cannot forward IPv6 to IPv4) and on [::1] (network/ipv6.py). Traffic only to the
engine's own bridge gateway address."""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Callable

import pytest

from tests.e2e.test_netmode_ipv6 import SERVE, _get, _ula
from tests.support.commands import Cli
from tests.support.daemon import target_kind
from tests.support.flows import inspect, validate_against_swagger


def _free_port() -> int:
    """A TCP port free on 0.0.0.0 and on [::] a moment ago (bounded tries)."""
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("0.0.0.0", 0))
            port = int(s.getsockname()[1])
            if not _held6(port):
                return port
    raise AssertionError("no port free on both IPv4 and IPv6")


def _held6(port: int) -> bool:
    """Whether [::]:port is taken (by the engine's reservation)."""
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            s.bind(("::", port))
        except OSError:
            return True
    return False


def test_publish_on_ipv6_host_addresses(cli: Cli, names: Callable[[str], str], cleanup: list[tuple[str, str]],
                                        free_port: int) -> None:
    net, web = names("net6"), names("web")
    subnet = ipaddress.IPv6Network(_ula())
    gateway6 = str(subnet.network_address + 1)
    cli.ok("network", "create", "--ipv6", "--subnet", str(subnet), net)
    cleanup.append(("network", net))
    other, third = _free_port(), _free_port()
    cli.ok("run", "-d", "--name", web, "--network", net, "-p", f"[{gateway6}]:{free_port}:80",
           "-p", f"[::]:{other}:80", "busybox", "sh", "-c", SERVE.format(name=web))
    cleanup.append(("container", web))
    c = inspect(cli, web)
    validate_against_swagger(c, "ContainerInspectResponse")
    assert c["NetworkSettings"]["Ports"]["80/tcp"] == [
        {"HostIp": gateway6, "HostPort": str(free_port)}, {"HostIp": "::", "HostPort": str(other)},
    ]
    ps = cli.ok("ps", "--filter", f"name={web}", "--format", "{{.Ports}}")
    assert f"[{gateway6}]:{free_port}->80/tcp" in ps and f"[::]:{other}->80/tcp" in ps
    assert sorted(cli.ok("port", web, "80").split()) == sorted([f"[{gateway6}]:{free_port}", f"[::]:{other}"])

    assert f"hello-from-{web}" in _get(gateway6, free_port)
    assert f"hello-from-{web}" in _get(gateway6, other)  # "::": every IPv6 address of the host
    if target_kind() == "sangjad":  # the reservation is held while it runs, released on stop
        assert _held6(other)
        r = cli("run", "--rm", "--network", net, "-p", f"[::]:{other}:80", "busybox", "true")
        assert r.rc != 0 and f"Bind for :::{other} failed: port is already allocated" in r.err
        both = names("both")  # "-p PORT:80" on an IPv6 network holds [::]:PORT too, as dockerd does
        cli.ok("run", "-d", "--name", both, "--network", net, "-p", f"{third}:80", "busybox", "sleep", "60")
        cleanup.append(("container", both))
        r = cli("run", "--rm", "--network", net, "-p", f"[::]:{third}:80", "busybox", "true")
        assert r.rc != 0 and f"Bind for :::{third} failed: port is already allocated" in r.err
        cli.ok("stop", "-t", "1", web)
        assert not _held6(other)


def test_ipv6_host_address_needs_an_ipv6_network(cli: Cli, names: Callable[[str], str],
                                                  cleanup: list[tuple[str, str]], free_port: int) -> None:
    if target_kind() != "sangjad":
        pytest.skip("dockerd's userland proxy forwards IPv6 to the container's IPv4 address instead")
    net, web = names("net4"), names("web")
    cli.ok("network", "create", net)
    cleanup.append(("network", net))
    r = cli("run", "-d", "--name", web, "--network", net, "-p", f"[::]:{free_port}:80", "busybox", "sleep", "60")
    cleanup.append(("container", web))
    assert r.rc != 0
    assert f"cannot publish [::]:{free_port}:80/tcp" in r.err and f"network {net}" in r.err, r.err
    state = json.loads(cli.ok("inspect", web))[0]["State"]
    assert state["Running"] is False
    assert not _held6(free_port)  # nothing left half-configured
    r = cli("run", "--rm", "-p", f"[::1]:{free_port}:80", "busybox", "true")
    assert r.rc != 0 and "[::1]" in r.err, r.err
