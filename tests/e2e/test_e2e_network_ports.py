"""The default bridge and published ports, through the docker CLI, sangja and docker-py.

Traffic goes only to 127.0.0.0/8, to the test's own containers' addresses and to the
daemon's own bridge address. Each test checks that what its containers had on the host
(veths, nft rules, reserved ports) is gone once they are removed.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable

import docker
import pytest

from tests.support import netleaks
from tests.support.commands import Cli
from tests.support.daemon import Daemon, SangjaDaemon, SpawnedDaemon
from tests.support.flows import http_get, inspect, state, validate_against_swagger, wait_http
from tests.support.unixhttp import ApiError
from tests.support.waiting import wait_until

PAGE = "mkdir -p /www && echo hello-from-{name} > /www/index.html && exec httpd -f -p 80 -h /www"


UDP_ECHO = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5353))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(data, peer)
"""


def _bridge(d: Daemon) -> str:
    bridge = getattr(d, "bridge", None)
    assert bridge, "these tests need a sangjad started by the harness (with its own --bridge)"
    return str(bridge)


def _nft_rules(d: Daemon) -> str:
    table = netleaks.table_for(_bridge(d))
    out = subprocess.run(["nft", "list", "table", "ip", table], capture_output=True, text=True, timeout=30)
    return out.stdout


def _port_is_free(port: int, kind: int = socket.SOCK_STREAM) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_published_port_serves_http_and_is_gone_after_rm(
    cli: Cli, daemon: Daemon, names: Callable[[str], str], free_port: int
) -> None:
    name = names("web")
    veths_before = netleaks.veths_of(_bridge(daemon))
    cli.ok("run", "-d", "--name", name, "-p", f"127.0.0.1:{free_port}:80", "busybox", "sh", "-c",
           PAGE.format(name=name))
    assert wait_http(free_port) == f"hello-from-{name}\n".encode()

    assert f"127.0.0.1:{free_port}->80/tcp" in cli.ok("ps", "--filter", f"name={name}", "--format", "{{.Ports}}")
    assert cli.ok("port", name).strip() == f"80/tcp -> 127.0.0.1:{free_port}"
    assert cli.ok("port", name, "80").strip() == f"127.0.0.1:{free_port}"
    info = inspect(cli, name)
    validate_against_swagger(info, "ContainerInspectResponse")
    ns = info["NetworkSettings"]
    assert ns["Ports"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(free_port)}]}
    bridge = ns["Networks"]["bridge"]
    assert bridge["IPAddress"] == ns["IPAddress"] and bridge["Gateway"] == ns["Gateway"] != ""
    assert ns["MacAddress"] == "02:42:" + ":".join(f"{int(b):02x}" for b in ns["IPAddress"].split("."))
    assert f"dport {free_port} dnat to {ns['IPAddress']}:80" in _nft_rules(daemon)
    assert not _port_is_free(free_port), "the host port is not reserved while published"
    mine = netleaks.veths_of(_bridge(daemon)) - veths_before
    assert len(mine) == 1

    cli.ok("rm", "-f", name)
    # the veth is deleted in the background, off the exit's path (network/teardown.py)
    wait_until(lambda: not netleaks.veths_of(_bridge(daemon)) & mine, timeout=10, what="the veth to be deleted")
    assert f"dport {free_port} " not in _nft_rules(daemon)
    assert _port_is_free(free_port)


def test_stop_releases_the_network_and_start_gives_it_back(
    cli: Cli, daemon: Daemon, names: Callable[[str], str], free_port: int
) -> None:
    name = names("web")
    cli.ok("run", "-d", "--name", name, "-p", f"127.0.0.1:{free_port}:80", "busybox", "sh", "-c",
           PAGE.format(name=name))
    wait_http(free_port)
    cli.ok("stop", "-t", "1", name)
    ns = inspect(cli, name)["NetworkSettings"]
    assert (ns["IPAddress"], ns["Ports"]) == ("", {})
    assert cli.ok("ps", "-a", "--filter", f"name={name}", "--format", "{{.Ports}}").strip() == ""
    assert _port_is_free(free_port)
    cli.ok("start", name)
    assert wait_http(free_port) == f"hello-from-{name}\n".encode()


def test_udp_published_port_echoes(cli: Cli, names: Callable[[str], str]) -> None:
    name = names("udp")
    port = _free_udp_port()
    # Debian's busybox has no UDP server, so the echo server is the host's python3, run
    # inside the container from the host's /usr mounted read-only.
    cli.ok("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:5353/udp",
           "-v", "/usr:/usr:ro", "-v", "/usr/lib:/lib:ro", "-v", "/usr/lib64:/lib64:ro",
           "busybox", "/usr/bin/python3", "-c", UDP_ECHO)
    assert cli.ok("port", name, "5353/udp").strip() == f"127.0.0.1:{port}"

    def echo() -> bytes | None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.5)
            s.sendto(b"ping-udp\n", ("127.0.0.1", port))
            try:
                return s.recv(100)
            except OSError:
                return None

    assert wait_until(echo, timeout=30, what="a UDP echo through the published port") == b"ping-udp\n"


def test_port_already_allocated_fails_the_start_and_leaves_nothing(
    cli: Cli, daemon: Daemon, names: Callable[[str], str], free_port: int
) -> None:
    first, second = names("first"), names("second")
    cli.ok("run", "-d", "--name", first, "-p", f"127.0.0.1:{free_port}:80", "busybox", "sleep", "60")
    veths = netleaks.veths_of(_bridge(daemon))
    rules = _nft_rules(daemon)
    r = cli("run", "-d", "--name", second, "-p", f"127.0.0.1:{free_port}:80", "busybox", "sleep", "60")
    assert r.rc == 125, r
    assert f"Bind for 127.0.0.1:{free_port} failed: port is already allocated" in r.err
    assert state(cli, second)["Status"] == "created"
    assert netleaks.veths_of(_bridge(daemon)) <= veths  # (an earlier test's may still be going)
    assert _nft_rules(daemon) == rules


def test_publish_all_and_ranges(cli: Cli, names: Callable[[str], str], free_port: int) -> None:
    name = names("ports")
    lo = free_port
    cli.ok("run", "-d", "--name", name, "--expose", "81", "-P", "-p", f"127.0.0.1:{lo}-{lo + 1}:8000-8001",
           "busybox", "sleep", "60")
    ports = inspect(cli, name)["NetworkSettings"]["Ports"]
    assert ports["8000/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(lo)}]
    assert ports["8001/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(lo + 1)}]
    (random,) = ports["81/tcp"]
    assert random["HostIp"] == "0.0.0.0" and int(random["HostPort"]) > 0
    shown = cli.ok("ps", "--filter", f"name={name}", "--format", "{{.Ports}}")
    assert f"0.0.0.0:{random['HostPort']}->81/tcp" in shown
    # docker groups a range only where host and container ports are equal (formatter.DisplayablePorts).
    assert f"127.0.0.1:{lo}->8000/tcp, 127.0.0.1:{lo + 1}->8001/tcp" in shown


@pytest.mark.parametrize("spec", ["99999:80", "abc", "127.0.0.1:80:abc"])
def test_invalid_port_specs_are_refused(cli: Cli, names: Callable[[str], str], spec: str) -> None:
    r = cli("run", "-d", "--name", names("bad"), "-p", spec, "busybox", "true")
    assert r.rc == 125 and "invalid" in r.err.lower(), r


def test_invalid_port_binding_through_the_api(daemon: Daemon) -> None:
    body = {"Image": "busybox", "HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": "99999"}]}}}
    with pytest.raises(ApiError) as err:
        daemon.post_json("/containers/create", body)
    assert err.value.status == 400 and "invalid hostPort: 99999" in err.value.message


def test_containers_reach_each_other_and_the_bridge_by_address(
    cli: Cli, names: Callable[[str], str], free_port: int
) -> None:
    web = names("web")
    cli.ok("run", "-d", "--name", web, "-p", f"{free_port}:80", "busybox", "sh", "-c", PAGE.format(name=web))
    wait_http(free_port)
    ns = inspect(cli, web)["NetworkSettings"]
    # Directly to the other container's address, and to the published port on the bridge's
    # own address (DNAT in prerouting, then back out of the same bridge: hairpin).
    script = f"wget -qO- http://{ns['IPAddress']}:80/ && wget -qO- http://{ns['Gateway']}:{free_port}/"
    out = cli.ok("run", "--rm", "busybox", "sh", "-c", script)
    assert out == f"hello-from-{web}\n" * 2


def test_dns_add_host_and_hostname(cli: Cli) -> None:
    out = cli.ok("run", "--rm", "-h", "box1", "--add-host", "db.test:10.1.2.3", "--dns", "127.0.0.1",
                 "--dns-search", "example.test", "busybox", "sh", "-c",
                 "hostname; cat /etc/hosts; cat /etc/resolv.conf")
    lines = out.splitlines()
    assert lines[0] == "box1"
    assert "10.1.2.3\tdb.test" in lines
    assert any(ln.endswith("\tbox1") and not ln.startswith("127.") for ln in lines)
    assert "nameserver 127.0.0.1" in lines and "search example.test" in lines


def test_docker_py_publishes_a_port(client: docker.DockerClient, free_port: int, names: Callable[[str], str]) -> None:
    name = names("pyweb")
    c = client.containers.run(
        "busybox", ["sh", "-c", PAGE.format(name=name)], name=name, detach=True,
        ports={"80/tcp": ("127.0.0.1", free_port)},
    )
    try:
        assert wait_http(free_port) == f"hello-from-{name}\n".encode()
        c.reload()
        assert c.ports == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(free_port)}]}
        assert c.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
    finally:
        c.remove(force=True)


def test_published_port_keeps_answering_while_the_daemon_is_killed(
    fresh_cli: Cli, fresh_daemon: SpawnedDaemon, free_port: int
) -> None:
    cli = fresh_cli
    cli.ok("run", "-d", "--name", "web", "-p", f"127.0.0.1:{free_port}:80", "busybox", "sh", "-c",
           PAGE.format(name="web"))
    wait_http(free_port)
    fresh_daemon.kill9()
    assert http_get(free_port) == (200, b"hello-from-web\n")
    fresh_daemon.start()
    assert http_get(free_port) == (200, b"hello-from-web\n")
    assert f"127.0.0.1:{free_port}->80/tcp" in cli.ok("ps", "--format", "{{.Ports}}")
    assert not _port_is_free(free_port), "the restarted daemon did not take the host port back"
    cli.ok("rm", "-f", "web")
    assert isinstance(fresh_daemon, SangjaDaemon)
    wait_until(lambda: netleaks.veths_of(fresh_daemon.bridge) == set(), timeout=10, what="the veth to be deleted")


def test_daemon_leaves_no_bridge_veth_or_table_behind(fresh_daemon: SpawnedDaemon, free_port: int) -> None:
    assert isinstance(fresh_daemon, SangjaDaemon)
    bridge = fresh_daemon.bridge
    assert any(item.startswith("bridge ") for item in netleaks.find(bridge))
    cid = fresh_daemon.post_json("/containers/create", {
        "Image": "busybox", "Cmd": ["sleep", "60"],
        "HostConfig": {"PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(free_port)}]}},
    })["Id"]
    fresh_daemon.post_json(f"/containers/{cid}/start", {})
    assert len(netleaks.veths_of(bridge)) == 1
    leaked = fresh_daemon.close()
    assert not leaked, leaked.describe()
    assert netleaks.find(bridge) == []
