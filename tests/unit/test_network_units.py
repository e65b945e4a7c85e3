"""The pure parts of networking: nft rendering, port bindings, subnet choice, /etc files, views."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from sangja.daemon.container import Container, State
from sangja.daemon.etcfiles import hosts_for, resolv_conf_for
from sangja.daemon.views import inspect, port_map, port_summaries, summary
from sangja.errors import InvalidParameter
from sangja.network import nft
from sangja.network.controller import choose_subnet, parse_pool
from sangja.network.portmap import Binding, bindings_from, parse_container_port
from tests.support.flows import validate_against_swagger


def test_render_has_dnat_for_each_forward_and_masquerade_for_the_bridge() -> None:
    script = nft.render(
        "sangja",
        [nft.BridgeRules("sangja0", "172.17.0.0/16")],
        [nft.Forward("tcp", "127.0.0.1", 8080, "172.17.0.2", 80), nft.Forward("udp", "", 5353, "172.17.0.3", 53)],
    )
    lines = [ln.strip() for ln in script.splitlines()]
    # replace in one transaction: make sure it exists, delete it, define it again
    assert lines[:3] == ["table ip sangja {}", "delete table ip sangja", "table ip sangja {"]
    assert "ip daddr 127.0.0.1 tcp dport 8080 dnat to 172.17.0.2:80" in lines
    assert "udp dport 5353 dnat to 172.17.0.3:53" in lines
    assert 'ip saddr 172.17.0.0/16 oifname != "sangja0" masquerade' in lines
    assert 'oifname "sangja0" ip saddr 127.0.0.0/8 masquerade' in lines
    assert "fib daddr type local jump publish" in lines


def test_bindings_from_port_bindings_and_publish_all() -> None:
    hc: dict[str, Any] = {
        "PortBindings": {
            "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
            "53/udp": [{"HostIp": "", "HostPort": ""}],
            "8000/tcp": [{"HostIp": "0.0.0.0", "HostPort": "9000-9002"}],
            "81/tcp": [{"HostIp": "::", "HostPort": "81"}],
        },
        "PublishAllPorts": True,
    }
    got = bindings_from(hc, {"443/tcp": {}, "80/tcp": {}})
    assert set(got) == {
        Binding("tcp", 80, "127.0.0.1", 8080, 8080),
        Binding("udp", 53, "", 0, 0),
        Binding("tcp", 8000, "", 9000, 9002),
        Binding("tcp", 443, "", 0, 0),
        Binding("tcp", 81, "::", 81, 81),  # an IPv6 host address: kept (tests/unit/test_v6bind_portmap.py)
    }


@pytest.mark.parametrize(
    ("bindings", "message"),
    [
        ({"80/tcp": [{"HostPort": "99999"}]}, "invalid hostPort: 99999"),
        ({"80/tcp": [{"HostPort": "abc"}]}, "invalid hostPort: abc"),
        ({"0/tcp": [{"HostPort": "1"}]}, "invalid containerPort: 0"),
        ({"80/xyz": [{"HostPort": "1"}]}, "invalid proto: xyz"),
        ({"80/tcp": [{"HostIp": "1.2.3", "HostPort": "1"}]}, "invalid IP address: 1.2.3"),
    ],
)
def test_bad_bindings_are_invalid_parameters(bindings: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        bindings_from({"PortBindings": bindings}, None)


def test_parse_container_port_defaults_to_tcp() -> None:
    assert parse_container_port("80") == (80, "tcp")
    assert parse_container_port("53/UDP") == (53, "udp")


def test_choose_subnet_skips_every_route_of_the_host() -> None:
    taken = [ipaddress.IPv4Network("172.17.0.0/16"), ipaddress.IPv4Network("172.18.5.0/24")]
    pools = (("172.17.0.0/16", 16), ("172.18.0.0/15", 16))
    assert str(choose_subnet(pools, taken)) == "172.19.0.0/16"
    assert parse_pool("base=10.10.0.0/16,size=24") == ("10.10.0.0/16", 24)
    with pytest.raises(ValueError):
        parse_pool("size=24")


def test_resolv_conf_rules() -> None:
    host = "nameserver 127.0.0.53\nsearch lan\n"
    assert resolv_conf_for(host, "bridge") == "search lan\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"
    assert resolv_conf_for("nameserver 10.0.0.1\n", "bridge") == "nameserver 10.0.0.1\n"
    assert resolv_conf_for(host, "host") == host
    out = resolv_conf_for(host, "bridge", ["1.1.1.1"], ["a.test"], ["ndots:2"])
    assert out == "nameserver 1.1.1.1\nsearch a.test\noptions ndots:2\n"


def test_hosts_file_has_the_address_and_extra_hosts() -> None:
    out = hosts_for("web", "bridge", "", "172.17.0.2", ["db:10.0.0.5"])
    assert out.endswith("10.0.0.5\tdb\n172.17.0.2\tweb\n")
    assert hosts_for("web", "none", "").endswith("127.0.1.1\tweb\n")


def _container(network: dict[str, Any], running: bool = True) -> Container:
    return Container(
        id="a" * 64, name="/web", created="2026-01-01T00:00:00Z", created_ns=0, image="busybox",
        image_id="sha256:" + "b" * 64, path="httpd", args=[],
        config={"ExposedPorts": {"443/tcp": {}}, "Image": "busybox"},
        host_config={"NetworkMode": "bridge"},
        state=State(status="running" if running else "exited", pid=1 if running else 0),
        network=network,
    )


NET = {
    "NetworkID": "n" * 64, "EndpointID": "e" * 64, "SandboxKey": "/run/sangja/netns/x", "SandboxID": "s" * 64,
    "IPAddress": "172.17.0.2", "IPPrefixLen": 16, "Gateway": "172.17.0.1", "MacAddress": "02:42:ac:11:00:02",
    "Mappings": [{"proto": "tcp", "container_port": 80, "host_ip": "", "host_port": 8080}],
}


def test_views_show_ports_and_the_endpoint() -> None:
    c = _container(NET)
    assert port_map(c) == {"443/tcp": None, "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}
    assert port_summaries(c) == [
        {"PrivatePort": 443, "Type": "tcp"},
        {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
    ]
    s = summary(c, {})
    validate_against_swagger(s, "ContainerSummary")
    validate_against_swagger(inspect(c), "ContainerInspectResponse")
    assert s["NetworkSettings"]["Networks"]["bridge"]["IPAddress"] == "172.17.0.2"
    info = inspect(c)
    assert info["NetworkSettings"]["IPAddress"] == "172.17.0.2"
    assert info["NetworkSettings"]["SandboxKey"] == "/run/sangja/netns/x"


def test_views_of_a_stopped_container_have_no_ports() -> None:
    c = _container({}, running=False)
    assert port_map(c) == {} and port_summaries(c) == []
    assert inspect(c)["NetworkSettings"]["Networks"]["bridge"]["IPAddress"] == ""
