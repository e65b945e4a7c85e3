"""`--network container:NAME|ID` through the docker CLI, sangja and docker-py.

The joining container shares the other container's network namespace: it reaches the
other's server on 127.0.0.1 (traffic stays inside that namespace), has its hostname and
/etc files, and owns no endpoint. dockerd's checks and errors at create and at start.
"""

from __future__ import annotations

from collections.abc import Callable

import docker
import pytest

from tests.support.commands import Cli
from tests.support.flows import inspect, validate_against_swagger

SERVE = "mkdir -p /www && echo hello-from-{name} > /www/index.html && exec httpd -f -p 80 -h /www"
# (no -T: busybox-static wget crashes with it)
FETCH = "for i in $(seq 50); do wget -qO- http://127.0.0.1:80/ && exit 0; sleep 0.1; done; exit 1"


def _web(cli: Cli, cleanup: list[tuple[str, str]], name: str) -> str:
    cid = cli.ok("run", "-d", "--name", name, "busybox", "sh", "-c", SERVE.format(name=name)).strip()
    cleanup.append(("container", name))
    return cid


def test_join_shares_namespace_hostname_and_files(cli: Cli, names: Callable[[str], str],
                                                  cleanup: list[tuple[str, str]]) -> None:
    web, side = names("web"), names("side")
    web_id = _web(cli, cleanup, web)
    cleanup.append(("container", side))
    # By name: it reaches the other container's server on its own loopback.
    out = cli.ok("run", "--name", side, "--network", f"container:{web}", "busybox", "sh", "-c",
                 f"({FETCH}) && hostname")
    lines = out.split()
    assert lines[0] == f"hello-from-{web}"
    assert lines[1] == web_id[:12]  # the other container's hostname
    obj = inspect(cli, side)
    assert obj["HostConfig"]["NetworkMode"] == f"container:{web_id}"  # the name became the ID
    assert obj["NetworkSettings"]["Networks"] == {}
    assert obj["NetworkSettings"]["Ports"] in ({}, None)
    assert obj["NetworkSettings"]["IPAddress"] == ""
    target = inspect(cli, web)
    for key in ("HostnamePath", "HostsPath", "ResolvConfPath"):
        assert obj[key] == target[key] and obj[key]
    assert obj["Config"]["Hostname"] == target["Config"]["Hostname"]
    validate_against_swagger(obj, "ContainerInspectResponse")
    # ps shows the mode (the summary's HostConfig.NetworkMode)
    ps = cli.ok("ps", "-a", "--filter", f"name={side}", "--format", "{{.Networks}}|{{.Ports}}")
    assert ps.strip() == "|"


def test_join_by_id_and_address_is_the_targets(cli: Cli, names: Callable[[str], str],
                                               cleanup: list[tuple[str, str]]) -> None:
    web, side = names("web"), names("side")
    web_id = _web(cli, cleanup, web)
    addr = inspect(cli, web)["NetworkSettings"]["IPAddress"]
    assert addr
    cleanup.append(("container", side))
    cli.ok("run", "-d", "--name", side, "--net", f"container:{web_id[:12]}", "busybox", "sleep", "60")
    # The joiner's interfaces are the other container's: its eth0 carries the target's address.
    out = cli.ok("exec", side, "ip", "-4", "-o", "addr", "show", "eth0")
    assert f" {addr}/" in out
    # connect is refused for a container in another's namespace
    r = cli("network", "connect", "bridge", side)
    assert r.rc != 0
    assert "container sharing network namespace with another container or host cannot be connected" in r.err


def test_target_not_running_and_own_namespace(cli: Cli, names: Callable[[str], str],
                                              cleanup: list[tuple[str, str]]) -> None:
    web, side, me = names("web"), names("side"), names("me")
    cli.ok("create", "--name", web, "busybox", "sleep", "60")
    cleanup.append(("container", web))
    cleanup.append(("container", side))
    cli.ok("create", "--name", side, "--network", f"container:{web}", "busybox", "true")
    r = cli("start", side)
    assert r.rc != 0
    assert f"cannot join network namespace of a non running container: container {web} is created" in r.err
    # a container that does not exist is accepted at create and fails the start
    cleanup.append(("container", me))
    cli.ok("create", "--name", me, "--network", f"container:{me}", "busybox", "true")
    r = cli("start", me)
    assert r.rc != 0 and "cannot join own network namespace" in r.err
    missing = names("missing")
    r = cli("run", "--rm", "--network", f"container:{missing}", "busybox", "true")
    assert r.rc == 125
    assert f"joining network namespace of container: No such container: {missing}" in r.err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["-p", "8080:80"], "conflicting options: port publishing and the container type network mode"),
        (["-P"], "conflicting options: port publishing and the container type network mode"),
        (["--expose", "80"], "conflicting options: port exposing and the container type network mode"),
        (["--hostname", "h"], "conflicting options: hostname and the network mode"),
        (["--dns", "10.0.0.1"], "conflicting options: dns and the network mode"),
        (["--add-host", "a:10.0.0.1"], "conflicting options: custom host-to-IP mapping and the network mode"),
        (["--mac-address", "02:42:ac:11:00:09"], "conflicting options: mac-address and the network mode"),
        (["--network-alias", "x"], "network-scoped aliases are only supported for user-defined networks"),
    ],
)
def test_conflicting_options(cli: Cli, names: Callable[[str], str], flags: list[str], message: str) -> None:
    r = cli("create", "--network", "container:whatever", *flags, "busybox", "true")
    assert r.rc != 0
    assert message in r.err


def test_empty_container_mode(cli: Cli) -> None:
    r = cli("create", "--network", "container:", "busybox", "true")
    assert r.rc != 0
    assert "invalid container format container:<name|id>" in r.err


def test_target_restart_then_rejoin(cli: Cli, names: Callable[[str], str], cleanup: list[tuple[str, str]]) -> None:
    """A restarted target gets a new namespace; the joiner reaches it again once restarted
    itself (dockerd does not move a running joiner either)."""
    web, side = names("web"), names("side")
    _web(cli, cleanup, web)
    cleanup.append(("container", side))
    cli.ok("run", "-d", "--name", side, "--network", f"container:{web}", "busybox", "sleep", "300")
    cli.ok("exec", side, "sh", "-c", FETCH)
    cli.ok("stop", "-t", "1", web)
    assert inspect(cli, side)["State"]["Running"] is True  # the joiner keeps its (old) namespace
    cli.ok("start", web)
    cli.ok("restart", "-t", "1", side)
    assert cli.ok("exec", side, "sh", "-c", FETCH).strip() == f"hello-from-{web}"


def test_dockerpy_network_mode_container(client: docker.DockerClient, names: Callable[[str], str]) -> None:
    web = names("web")
    target = client.containers.run("busybox", ["sh", "-c", SERVE.format(name=web)], name=web, detach=True)
    try:
        out = client.containers.run("busybox", ["sh", "-c", FETCH], network_mode=f"container:{web}", remove=True)
        assert out.decode().strip() == f"hello-from-{web}"
        with pytest.raises(docker.errors.APIError) as info:
            client.containers.create("busybox", "true", network_mode=f"container:{web}", hostname="x")
        assert "conflicting options: hostname and the network mode" in str(info.value)
        assert info.value.status_code == 400
    finally:
        target.remove(force=True)
