"""IPv6 IPAM rules and the ip6 nft table (network/ipv6.py): pure functions."""

from __future__ import annotations

import ipaddress

import pytest

from sangja.errors import Forbidden, InvalidParameter, SangjaError
from sangja.network import ipv6
from sangja.network.store import parse_ipam


def _ipam(*configs: dict[str, str]) -> dict[str, object]:
    return {"Driver": "default", "Config": list(configs)}


def test_parse_ipam6_and_the_ipv4_part_ignores_it() -> None:
    ipam = _ipam({"Subnet": "10.9.0.0/24"}, {"Subnet": "fd12:3456:789a::/64", "Gateway": "fd12:3456:789a::fe"})
    assert ipv6.parse_ipam6(ipam) == (ipaddress.IPv6Network("fd12:3456:789a::/64"), "fd12:3456:789a::fe")
    assert parse_ipam(ipam) == (ipaddress.IPv4Network("10.9.0.0/24"), "")
    assert ipv6.parse_ipam6(_ipam({"Subnet": "10.9.0.0/24"})) == (None, "")
    assert ipv6.parse_ipam6(None) == (None, "")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"Subnet": "fd12::1/64"}, "invalid subnet fd12::1/64: it should be fd12::/64"),
        ({"Subnet": "fd12::/zz"}, "invalid subnet fd12::/zz: invalid CIDR block notation"),
        ({"Subnet": "fd12::/64", "Gateway": "fd13::1"}, "invalid gateway fd13::1: it is not in subnet fd12::/64"),
        ({"Subnet": "fd12::/64", "Gateway": "nope:"}, "invalid gateway nope:"),
    ],
)
def test_parse_ipam6_errors(config: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        ipv6.parse_ipam6(_ipam(config))
    with pytest.raises(InvalidParameter, match="only one IPv6 subnet"):
        ipv6.parse_ipam6(_ipam({"Subnet": "fd12::/64"}, {"Subnet": "fd13::/64"}))


def test_random_ula_avoids_what_is_taken() -> None:
    values = iter([0x12_3456_789A, 0x12_3456_789A, 0xAB_CDEF_0123])
    taken = [ipaddress.IPv6Network("fd12:3456:789a::/48")]
    net = ipv6.random_ula(taken, bits=lambda n: next(values))
    assert net == ipaddress.IPv6Network("fdab:cdef:123::/64")
    with pytest.raises(SangjaError):
        ipv6.random_ula([ipaddress.IPv6Network("fd00::/8")])


def test_allocate6_sequential_wanted_and_errors() -> None:
    subnet = ipaddress.IPv6Network("fd12::/64")
    gw = ipv6.gateway_for(subnet)
    assert gw == "fd12::1" and ipv6.gateway_for(subnet, "fd12::fe") == "fd12::fe"
    assert ipv6.allocate6(subnet, {gw}) == "fd12::2"
    assert ipv6.allocate6(subnet, {gw, "fd12:0::2"}) == "fd12::3"  # compared in canonical form
    assert ipv6.allocate6(subnet, {gw}, "fd12::99") == "fd12::99"
    with pytest.raises(Forbidden, match="Address already in use: fd12::99"):  # 403, as for IPv4
        ipv6.allocate6(subnet, {gw, "fd12::99"}, "fd12::99")
    with pytest.raises(Forbidden, match="Address already in use: fd12::fe"):  # a gateway spelled otherwise
        ipv6.allocate6(subnet, {"fd12:0::fe"}, "fd12::fe")
    with pytest.raises(InvalidParameter, match="no matching subnet for address fd13::1 in network n"):
        ipv6.allocate6(subnet, set(), "fd13::1", "n")
    with pytest.raises(InvalidParameter, match="invalid IPv6 address: x"):
        ipv6.allocate6(subnet, set(), "x")
    tiny = ipaddress.IPv6Network("fd12::/126")
    with pytest.raises(SangjaError, match="no available IPv6 addresses"):
        ipv6.allocate6(tiny, {"fd12::1", "fd12::2", "fd12::3"})


def test_render6_without_ipv6_networks_only_removes_the_table() -> None:
    assert ipv6.render6("sangja", [ipv6.Bridge6("sangja0", "")], []) == (
        "table ip6 sangja {}\ndelete table ip6 sangja\n"
    )


def test_render6_dnat_masquerade_isolation() -> None:
    bridges = [ipv6.Bridge6("sangja0", "fd12::/64"), ipv6.Bridge6("sjbaaa", ""),
               ipv6.Bridge6("sjbint", "fd13::/64", True)]
    script = ipv6.render6("sangja", bridges, [ipv6.Forward6("tcp", "", 8080, "fd12::2", 80),
                                              ipv6.Forward6("udp", "fd00::2", 53, "fd12::3", 5353)])
    assert script.startswith("table ip6 sangja {}\ndelete table ip6 sangja\ntable ip6 sangja {\n")
    assert "    tcp dport 8080 dnat to [fd12::2]:80\n" in script
    assert "    ip6 daddr fd00::2 udp dport 53 dnat to [fd12::3]:5353\n" in script
    assert '    ip6 saddr fd12::/64 oifname != "sangja0" masquerade\n' in script
    assert "fd13::/64" not in script  # an internal network gets no masquerade
    assert '    iifname "sangja0" oifname { "sjbaaa", "sjbint" } drop\n' in script
    assert '    iifname "sjbint" drop\n' in script and '    oifname "sjbint" drop\n' in script
