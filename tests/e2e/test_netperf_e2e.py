"""The fast bridge path end to end (docker CLI and sangja): a `run --rm` on the default bridge
reports its exit before its veth is deleted, and the veth still goes; a restart, which reuses
the container's veth name at once, gets a working network again."""

from __future__ import annotations

from collections.abc import Callable

from tests.support import netleaks
from tests.support.commands import Cli
from tests.support.daemon import Daemon
from tests.support.flows import inspect
from tests.support.waiting import wait_until


def _bridge(d: Daemon) -> str:
    bridge = getattr(d, "bridge", None)
    assert bridge, "these tests need a sangjad started by the harness (with its own --bridge)"
    return str(bridge)


def test_run_rm_on_the_bridge_reports_the_exit_and_leaves_no_veth(
    cli: Cli, daemon: Daemon, names: Callable[[str], str]
) -> None:
    bridge = _bridge(daemon)
    before = netleaks.veths_of(bridge)
    name = names("rm")
    r = cli("run", "--rm", "--name", name, "busybox", "sh", "-c", "ip -o -4 addr show eth0; exit 3")
    assert r.rc == 3, r
    assert " eth0 " in r.out and "inet " in r.out  # it was on the bridge
    assert cli("inspect", name).rc != 0  # removed before the CLI returned
    wait_until(lambda: not netleaks.veths_of(bridge) - before, timeout=10, what="the run's veth to be deleted")


def test_restart_gives_the_container_its_network_again(
    cli: Cli, daemon: Daemon, names: Callable[[str], str]
) -> None:
    name = names("re")
    cli.ok("run", "-d", "--name", name, "busybox", "sleep", "600")
    try:
        for _ in range(2):
            cli.ok("restart", "-t", "0", name)
            ns = inspect(cli, name)["NetworkSettings"]
            assert ns["IPAddress"] and ns["Gateway"]
            assert f"inet {ns['IPAddress']}/" in cli.ok("exec", name, "ip", "-o", "-4", "addr", "show", "eth0")
            assert f"default via {ns['Gateway']} dev eth0" in cli.ok("exec", name, "ip", "route")
            assert ("sjv" + inspect(cli, name)["Id"][:11]) in netleaks.veths_of(_bridge(daemon))
    finally:
        cli.ok("rm", "-f", name)
