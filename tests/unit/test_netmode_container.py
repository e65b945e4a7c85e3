"""`--network container:…`: moby's create-time rules, and start with fakes behind the seams."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sangja.cli import runconfig
from sangja.cli.flags import parse
from sangja.daemon.create import create_container
from sangja.daemon.create_config import normalize_host_config
from sangja.daemon.daemon import Daemon
from sangja.daemon.network_container import validate_container_mode
from sangja.daemon.start import start_container
from sangja.daemon.views import inspect
from sangja.errors import Conflict, InvalidParameter, SangjaError


def _check(cfg: dict[str, Any], hc: dict[str, Any], nc: Any = None) -> None:
    validate_container_mode(cfg, normalize_host_config({"NetworkMode": "container:web", **hc}), nc)


@pytest.mark.parametrize(
    ("cfg", "hc", "nc", "message"),
    [
        ({"Hostname": "h"}, {}, None, "conflicting options: hostname and the network mode"),
        ({}, {"Links": ["a:b"]}, None, "container type network can't be used with links"),
        ({}, {"Dns": ["10.0.0.1"]}, None, "conflicting options: dns and the network mode"),
        ({}, {"ExtraHosts": ["a:10.0.0.1"]}, None, "custom host-to-IP mapping and the network mode"),
        ({}, {"PortBindings": {"80/tcp": [{"HostPort": "80"}]}}, None, "port publishing and the container type"),
        ({}, {"PublishAllPorts": True}, None, "port publishing and the container type network mode"),
        ({"ExposedPorts": {"80/tcp": {}}}, {}, None, "port exposing and the container type network mode"),
        ({"MacAddress": "02:42:ac:11:00:02"}, {}, None, "conflicting options: mac-address and the network mode"),
        ({}, {}, {"EndpointsConfig": {"container:web": {"Aliases": ["x"]}}},
         "invalid config for network container:web: network-scoped alias is supported only for containers in "
         "user defined networks"),
        ({}, {}, {"EndpointsConfig": {"container:web": {"IPAMConfig": {"IPv4Address": "10.0.0.9"}}}},
         "invalid config for network container:web: user specified IP address is supported on user defined "
         "networks only"),
        ({}, {}, {"EndpointsConfig": {"container:web": {"MacAddress": "02:42:ac:11:00:02"}}},
         "conflicting options: mac-address and the network mode"),
    ],
)
def test_conflicts(cfg: dict[str, Any], hc: dict[str, Any], nc: Any, message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        _check(cfg, hc, nc)


def test_valid_and_other_modes_pass() -> None:
    _check({}, {})
    _check({"Env": ["A=1"]}, {"Binds": ["/a:/b"]}, {"EndpointsConfig": {}})
    # the same options are fine with another mode
    validate_container_mode({"Hostname": "h"}, normalize_host_config({"Dns": ["1.1.1.1"]}), None)
    for mode in ("container:", "container"):
        with pytest.raises(InvalidParameter, match="invalid container format container:<name\\|id>"):
            validate_container_mode({}, normalize_host_config({"NetworkMode": mode}), None)


def _body(argv: list[str]) -> dict[str, Any]:
    opts, args = parse(runconfig.FLAGS, argv, interspersed=False)
    return runconfig.build(opts, args, environ={})


def test_cli_sends_container_mode_and_refuses_aliases() -> None:
    b = _body(["--net", "container:web", "img"])
    assert b["HostConfig"]["NetworkMode"] == "container:web"
    assert b["NetworkingConfig"] == {"EndpointsConfig": {}}
    b = _body(["--network", "container:web", "--mac-address", "02:42:ac:11:00:02", "img"])
    assert b["NetworkingConfig"]["EndpointsConfig"] == {"container:web": {"MacAddress": "02:42:ac:11:00:02"}}
    with pytest.raises(ValueError, match="network-scoped aliases are only supported for user-defined networks"):
        _body(["--network", "container:web", "--network-alias", "x", "img"])


def _net_ns(spec: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next(n for n in spec["linux"]["namespaces"] if n["type"] == "network")
    return found


async def test_start_joins_the_running_containers_namespace(d: Daemon) -> None:
    web, _ = await create_container(d, {"Image": "busybox", "Domainname": "example.test"}, "web")
    side, _ = await create_container(d, {"Image": "busybox", "HostConfig": {"NetworkMode": "container:web"}}, "side")
    assert side.host_config["NetworkMode"] == f"container:{web.id}"  # by ID: a rename keeps the link
    with pytest.raises(Conflict, match="cannot join network namespace of a non running container: "
                                       "container web is created"):
        await start_container(d, "side")
    assert side.state.status == "created"
    await start_container(d, "web")
    await start_container(d, "side")
    spec: dict[str, Any] = d.runtime.specs[side.id]  # type: ignore[attr-defined]
    assert _net_ns(spec) == {"type": "network", "path": f"/proc/{web.state.pid}/ns/net"}
    assert "net.ipv4.ip_unprivileged_port_start" not in spec["linux"]["sysctl"]
    assert "net.ipv4.ip_unprivileged_port_start" in d.runtime.specs[web.id]["linux"]["sysctl"]  # type: ignore[attr-defined]
    assert spec["hostname"] == web.id[:12]
    assert "HOSTNAME=" + web.id[:12] in spec["process"]["env"]
    sources = {m["destination"]: m["source"] for m in spec["mounts"]}
    assert sources["/etc/hosts"] == web.hosts_path
    assert sources["/etc/resolv.conf"] == web.resolv_conf_path
    assert sources["/etc/hostname"] == web.hostname_path
    view = inspect(side)
    assert view["NetworkSettings"]["Networks"] == {}
    assert view["NetworkSettings"]["SandboxKey"] == ""
    assert view["Config"]["Hostname"] == web.id[:12]
    assert view["Config"]["Domainname"] == "example.test"
    assert view["HostsPath"] == web.hosts_path


async def test_start_errors_own_missing(d: Daemon) -> None:
    me, _ = await create_container(d, {"Image": "busybox", "HostConfig": {"NetworkMode": "container:me"}}, "me")
    assert me.host_config["NetworkMode"] == "container:me"  # it did not exist yet
    with pytest.raises(SangjaError, match=r"^cannot join own network namespace$"):
        await start_container(d, "me")
    await create_container(d, {"Image": "busybox", "HostConfig": {"NetworkMode": "container:nope"}}, "lost")
    with pytest.raises(SangjaError, match="joining network namespace of container: No such container: nope"):
        await start_container(d, "lost")


async def test_target_restarting_is_refused(d: Daemon) -> None:
    web, _ = await create_container(d, {"Image": "busybox"}, "web")
    await create_container(d, {"Image": "busybox", "HostConfig": {"NetworkMode": "container:web"}}, "side")
    web.state.status = "restarting"
    with pytest.raises(SangjaError, match=f"Container {web.id} is restarting, wait until the container is running"):
        await start_container(d, "side")
    await asyncio.sleep(0)
