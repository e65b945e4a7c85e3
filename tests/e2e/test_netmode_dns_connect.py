"""A running default-bridge container connected to a user-defined network switches to the
embedded DNS (libnetwork's rebuildDNS) and resolves that network's names; disconnected, it
gets the host's resolvers back (sangja; dockerd keeps its in-namespace resolver, which still
forwards). A resolv.conf the user modified is left alone, as dockerd does.

Queries go only to the embedded DNS on the test network's gateway (no name is looked up
before the connect, when the resolvers are the host's).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.support.commands import Cli
from tests.support.daemon import target_kind
from tests.support.flows import inspect


def _sleeper(cli: Cli, cleanup: list[tuple[str, str]], name: str, *args: str) -> None:
    cli.ok("run", "-d", "--name", name, *args, "busybox", "sleep", "300")
    cleanup.append(("container", name))


def _nameservers(conf: str) -> list[str]:
    return [ln.split()[1] for ln in conf.splitlines() if ln.startswith("nameserver")]


def test_connect_switches_to_embedded_dns_and_disconnect_restores(
    cli: Cli, names: Callable[[str], str], cleanup: list[tuple[str, str]]
) -> None:
    net, web, client = names("dnsnet"), names("web"), names("client")
    cli.ok("network", "create", net)
    cleanup.append(("network", net))
    _sleeper(cli, cleanup, web, "--network", net, "--network-alias", "www")
    _sleeper(cli, cleanup, client)  # the default bridge: the host's resolvers
    before = cli.ok("exec", client, "cat", "/etc/resolv.conf")
    assert "ndots:0" not in before

    cli.ok("network", "connect", net, client)
    conf = cli.ok("exec", client, "cat", "/etc/resolv.conf")
    gateway = json.loads(cli.ok("network", "inspect", net))[0]["IPAM"]["Config"][0]["Gateway"]
    assert "options ndots:0" in conf
    if target_kind() == "sangjad":
        assert _nameservers(conf) == [gateway]
    web_ip = inspect(cli, web)["NetworkSettings"]["Networks"][net]["IPAddress"]
    for name in (web, "www"):
        r = cli("exec", client, "nslookup", name)
        assert r.rc == 0 and f"Address: {web_ip}" in r.out, r

    cli.ok("network", "disconnect", net, client)
    after = cli.ok("exec", client, "cat", "/etc/resolv.conf")
    if target_kind() == "sangjad":
        assert after == before


def test_user_modified_resolv_conf_is_left_alone(
    cli: Cli, names: Callable[[str], str], cleanup: list[tuple[str, str]]
) -> None:
    net, client = names("dnsnet"), names("client")
    cli.ok("network", "create", net)
    cleanup.append(("network", net))
    _sleeper(cli, cleanup, client)
    cli.ok("exec", client, "sh", "-c", "echo '# mine' >> /etc/resolv.conf")
    mine = cli.ok("exec", client, "cat", "/etc/resolv.conf")
    cli.ok("network", "connect", net, client)
    assert cli.ok("exec", client, "cat", "/etc/resolv.conf") == mine


def test_joined_container_sees_the_rebuilt_file(
    cli: Cli, names: Callable[[str], str], cleanup: list[tuple[str, str]]
) -> None:
    """A container in another's namespace shares its resolv.conf, so it follows the switch."""
    net, web, side = names("dnsnet"), names("web"), names("side")
    cli.ok("network", "create", net)
    cleanup.append(("network", net))
    _sleeper(cli, cleanup, web)
    _sleeper(cli, cleanup, side, "--network", f"container:{web}")
    cli.ok("network", "connect", "--alias", "webby", net, web)
    ip = inspect(cli, web)["NetworkSettings"]["Networks"][net]["IPAddress"]
    r = cli("exec", side, "nslookup", "webby")
    assert r.rc == 0 and f"Address: {ip}" in r.out, r
