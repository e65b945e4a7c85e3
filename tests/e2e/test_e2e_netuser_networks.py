"""User-defined bridge networks through the docker CLI, sangja and docker-py.

Traffic goes only to the addresses of the containers the tests create. Each test removes
its containers and networks, and checks that the network's bridge device is gone.
"""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Callable

import docker
import pytest

from tests.support.commands import Cli
from tests.support.daemon import Daemon, SpawnedDaemon
from tests.support.flows import inspect, validate_against_swagger
from tests.support.unixhttp import ApiError

PAGE = "mkdir -p /www && echo hello-from-{name} > /www/index.html && exec httpd -f -p 80 -h /www"


def _subnet() -> str:
    return f"10.231.{random.randrange(1, 250)}"


def _device_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", name], capture_output=True, timeout=30).returncode == 0


def _device(network_id: str) -> str:
    return "sjb" + network_id[:12]




def _net(cli: Cli, cleanup: list[tuple[str, str]], name: str, *flags: str) -> str:
    nid = cli.ok("network", "create", *flags, name).strip()
    cleanup.append(("network", name))
    assert len(nid) == 64
    return nid


def _run(cli: Cli, cleanup: list[tuple[str, str]], name: str, *args: str) -> str:
    out = cli.ok("run", "-d", "--name", name, *args)
    cleanup.append(("container", name))
    return out.strip()


def _netinspect(cli: Cli, ref: str) -> dict[str, object]:
    data = json.loads(cli.ok("network", "inspect", ref))
    assert isinstance(data, list) and len(data) == 1
    obj = data[0]
    assert isinstance(obj, dict)
    return obj


def test_create_ls_inspect_rm(cli: Cli, names: Callable[[str], str], cleanup: list[tuple[str, str]]) -> None:
    net = names("net")
    base = _subnet()
    nid = _net(cli, cleanup, net, "--subnet", f"{base}.0/24", "--gateway", f"{base}.254", "--label", "team=a")
    ls = cli.ok("network", "ls", "--format", "{{.ID}} {{.Name}} {{.Driver}} {{.Scope}}").splitlines()
    assert f"{nid[:12]} {net} bridge local" in ls
    assert any(line.split()[1:] == ["bridge", "bridge", "local"] for line in ls)
    assert any(line.split()[1:] == ["host", "host", "local"] for line in ls)
    assert any(line.split()[1:] == ["none", "null", "local"] for line in ls)
    assert cli.ok("network", "ls", "-q", "--filter", f"name={net}").split() == [nid[:12]]
    assert cli.ok("network", "ls", "-q", "--filter", "label=team=a").split() == [nid[:12]]
    obj = _netinspect(cli, net)
    validate_against_swagger(obj, "Network")
    assert obj["Id"] == nid and obj["Driver"] == "bridge" and obj["Internal"] is False
    assert obj["IPAM"] == {"Driver": "default", "Options": None,
                           "Config": [{"Subnet": f"{base}.0/24", "Gateway": f"{base}.254"}]}
    assert obj["Labels"] == {"team": "a"}
    assert _netinspect(cli, nid[:10])["Name"] == net  # by ID prefix
    assert _device_exists(_device(nid))

    dup = cli("network", "create", net)
    assert dup.rc != 0 and f"network with name {net} already exists" in dup.err
    assert cli.ok("network", "rm", net).strip() == net
    cleanup.clear()
    assert not _device_exists(_device(nid))
    gone = cli("network", "inspect", net)
    assert gone.rc != 0 and f"network {net} not found" in gone.err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--subnet", "10.231.0.0/33"), "invalid CIDR address"),
        (("--subnet", "10.232.1.0/24", "--gateway", "10.232.2.1"), "no matching subnet for gateway 10.232.2.1"),
        (("--driver", "nosuch"), 'plugin "nosuch" not found'),
    ],
)
def test_bad_create_requests_are_refused(cli: Cli, names: Callable[[str], str], flags: tuple[str, ...],
                                         message: str) -> None:
    net = names("bad")
    result = cli("network", "create", *flags, net)
    assert result.rc != 0 and message in result.err, result
    assert net not in cli.ok("network", "ls", "--format", "{{.Name}}")


def test_overlapping_subnets_and_builtin_networks(cli: Cli, names: Callable[[str], str],
                                                  cleanup: list[tuple[str, str]]) -> None:
    base = _subnet()
    _net(cli, cleanup, names("a"), "--subnet", f"{base}.0/24")
    result = cli("network", "create", "--subnet", f"{base}.128/25", names("b"))
    assert result.rc != 0 and "Pool overlaps with other one on this address space" in result.err
    for builtin in ("bridge", "host", "none"):
        result = cli("network", "rm", builtin)
        assert result.rc != 0 and f"{builtin} is a pre-defined network and cannot be removed" in result.err
    result = cli("run", "--rm", "--network", "nosuch-net", "busybox", "true")
    assert result.rc != 0 and "network nosuch-net not found" in result.err


def test_containers_on_a_network_talk_and_other_networks_are_isolated(
    cli: Cli, names: Callable[[str], str], cleanup: list[tuple[str, str]]
) -> None:
    net_a, net_b, web = names("a"), names("b"), names("web")
    base = _subnet()
    _net(cli, cleanup, net_a, "--subnet", f"{base}.0/24")
    _net(cli, cleanup, net_b)
    _run(cli, cleanup, web, "--network", net_a, "--network-alias", "www", "--ip", f"{base}.10",
         "busybox", "sh", "-c", PAGE.format(name=web))
    eps = inspect(cli, web)["NetworkSettings"]["Networks"]
    assert list(eps) == [net_a]
    assert eps[net_a]["IPAddress"] == f"{base}.10" and eps[net_a]["Gateway"] == f"{base}.1"
    assert eps[net_a]["Aliases"] == ["www"]
    assert eps[net_a]["IPAMConfig"] == {"IPv4Address": f"{base}.10"}
    net_view = _netinspect(cli, net_a)
    containers = net_view["Containers"]
    assert isinstance(containers, dict)
    assert [v["IPv4Address"] for v in containers.values()] == [f"{base}.10/24"]

    fetch = f"wget -qO- http://{base}.10/"
    assert cli.ok("run", "--rm", "--network", net_a, "busybox", "sh", "-c", fetch) == f"hello-from-{web}\n"
    ping = f"ping -c 1 -W 1 {base}.10"
    assert cli("run", "--rm", "--network", net_a, "busybox", *ping.split()).rc == 0
    # Another user network and the default bridge cannot reach it (busybox wget -T crashes
    # here, so the bounded probes are ping -W and `timeout`, not as PID 1 that ignores SIGTERM).
    for other in (net_b, "bridge"):
        result = cli("run", "--rm", "--network", other, "busybox", *ping.split())
        assert result.rc != 0, f"a container on {other} reached {net_a}: {result}"
        result = cli("run", "--rm", "--network", other, "busybox", "sh", "-c", f"timeout 2 {fetch} || exit 1")
        assert result.rc != 0, f"a container on {other} reached {net_a}: {result}"

    inuse = cli("network", "rm", net_a)
    assert inuse.rc != 0 and "has active endpoints" in inuse.err and net_a in inuse.err


def test_internal_network_has_no_outbound_route(cli: Cli, names: Callable[[str], str],
                                                cleanup: list[tuple[str, str]]) -> None:
    net = names("internal")
    _net(cli, cleanup, net, "--internal")
    assert _netinspect(cli, net)["Internal"] is True
    routes = cli.ok("run", "--rm", "--network", net, "busybox", "ip", "route")
    assert "default" not in routes and "dev eth0" in routes


def test_connect_and_disconnect_a_running_container(
    cli: Cli, names: Callable[[str], str], cleanup: list[tuple[str, str]]
) -> None:
    net, web = names("net"), names("web")
    base = _subnet()
    _net(cli, cleanup, net, "--subnet", f"{base}.0/24")
    _run(cli, cleanup, web, "busybox", "sh", "-c", PAGE.format(name=web))
    cli.ok("network", "connect", "--alias", "web2", "--ip", f"{base}.20", net, web)
    eps = inspect(cli, web)["NetworkSettings"]["Networks"]
    assert list(eps) == ["bridge", net]
    assert eps[net]["IPAddress"] == f"{base}.20" and eps[net]["Aliases"] == ["web2"]
    assert eps["bridge"]["IPAddress"]
    assert f"{base}.20/24" in cli.ok("exec", web, "ip", "addr", "show", "eth1")
    fetch = f"wget -qO- http://{base}.20/"
    assert cli.ok("run", "--rm", "--network", net, "busybox", "sh", "-c", fetch) == f"hello-from-{web}\n"

    twice = cli("network", "connect", net, web)
    assert twice.rc != 0 and f"endpoint with name {web} already exists in network {net}" in twice.err

    cli.ok("network", "disconnect", net, web)
    assert list(inspect(cli, web)["NetworkSettings"]["Networks"]) == ["bridge"]
    assert cli("exec", web, "ip", "link", "show", "eth1").rc != 0
    again = cli("network", "disconnect", net, web)
    assert again.rc != 0 and "is not connected to network" in again.err


def test_prune_removes_only_unused_networks(cli: Cli, names: Callable[[str], str],
                                            cleanup: list[tuple[str, str]]) -> None:
    used, unused, web = names("used"), names("unused"), names("web")
    _net(cli, cleanup, used, "--label", f"prune={used}")
    nid = _net(cli, cleanup, unused, "--label", f"prune={used}")
    _run(cli, cleanup, web, "--network", used, "busybox", "sleep", "600")
    out = cli.ok("network", "prune", "-f", "--filter", f"label=prune={used}")
    assert out.splitlines() == ["Deleted Networks:", unused, ""][: len(out.splitlines())]
    assert unused in out and used not in out.replace(unused, "")
    names_left = cli.ok("network", "ls", "--format", "{{.Name}}").split()
    assert used in names_left and unused not in names_left
    assert not _device_exists(_device(nid))


def test_network_api_shapes(daemon: Daemon, names: Callable[[str], str]) -> None:
    net = names("api")
    created = daemon.post_json("/networks/create", {"Name": net, "Labels": {"k": "v"}})
    try:
        validate_against_swagger(created, "NetworkCreateResponse")
        for obj in daemon.get_json("/networks"):
            validate_against_swagger(obj, "Network")
        validate_against_swagger(daemon.get_json(f"/networks/{created['Id']}"), "Network")
        with pytest.raises(ApiError) as err:
            daemon.post_json("/networks/create", {"Name": net})
        assert err.value.status == 409
        with pytest.raises(ApiError) as err:
            daemon.api("DELETE", "/networks/bridge")
        assert err.value.status == 403
    finally:
        daemon.api("DELETE", f"/networks/{created['Id']}")
    with pytest.raises(ApiError) as err:
        daemon.get_json(f"/networks/{net}")
    assert err.value.status == 404


def test_docker_py_networks(client: docker.DockerClient, names: Callable[[str], str]) -> None:
    net = client.networks.create(names("pynet"), driver="bridge")
    c = None
    try:
        c = client.containers.run("busybox", ["sleep", "600"], detach=True, name=names("py"), network=net.name)
        net.reload()
        assert [x.id for x in net.containers] == [c.id]
        c.reload()
        assert c.attrs["NetworkSettings"]["Networks"][net.name]["IPAddress"]
        net.disconnect(c)
        c.reload()
        assert net.name not in c.attrs["NetworkSettings"]["Networks"]
    finally:
        if c is not None:
            c.remove(force=True)
        net.remove()


def test_user_network_survives_a_daemon_kill(fresh_cli: Cli, fresh_daemon: SpawnedDaemon,
                                             names: Callable[[str], str]) -> None:
    cli = fresh_cli
    base = _subnet()
    nid = cli.ok("network", "create", "--subnet", f"{base}.0/24", "n1").strip()
    cli.ok("run", "-d", "--name", "web", "--network", "n1", "busybox", "sh", "-c", PAGE.format(name="web"))
    fetch = f"wget -qO- http://{base}.2/"
    assert cli.ok("run", "--rm", "--network", "n1", "busybox", "sh", "-c", fetch) == "hello-from-web\n"
    fresh_daemon.kill9()
    fresh_daemon.start()
    assert cli.ok("run", "--rm", "--network", "n1", "busybox", "sh", "-c", fetch) == "hello-from-web\n"
    containers = _netinspect(cli, "n1")["Containers"]
    assert isinstance(containers, dict) and len(containers) == 1
    # the address stays taken: a new container gets the next one
    cli.ok("run", "-d", "--name", "second", "--network", "n1", "busybox", "sleep", "600")
    assert inspect(cli, "second")["NetworkSettings"]["Networks"]["n1"]["IPAddress"] == f"{base}.3"
    cli.ok("rm", "-f", "web", "second")
    cli.ok("network", "rm", "n1")
    assert not _device_exists(_device(nid))
