"""User-defined networks, the pure parts: IPAM validation, subnet choice, the isolation rules."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from sangja.errors import Conflict, Forbidden, InvalidParameter
from sangja.network import nft
from sangja.network.store import BridgeState, NetworkStore, device_for, new_network, parse_ipam

POOLS = (("172.17.0.0/16", 16), ("172.18.0.0/15", 16))


def _net(
    name: str,
    ipam: object = None,
    existing: tuple[BridgeState, ...] = (),
    routes: tuple[ipaddress.IPv4Network, ...] = (),
) -> BridgeState:
    return new_network(name, ipam, False, {}, {}, list(existing), list(routes), POOLS)


def test_subnet_is_chosen_around_routes_and_other_networks() -> None:
    a = _net("a", routes=(ipaddress.IPv4Network("172.17.0.0/16"),))
    assert (a.subnet, a.gateway) == ("172.18.0.0/16", "172.18.0.1")
    b = _net("b", existing=(a,), routes=(ipaddress.IPv4Network("172.17.0.0/16"),))
    assert b.subnet == "172.19.0.0/16"
    assert a.device == device_for(a.id) and len(a.device) == 15 and not a.user_ipam


def test_given_subnet_and_gateway() -> None:
    n = _net("n", {"Config": [{"Subnet": "10.9.0.0/24", "Gateway": "10.9.0.254"}]})
    assert (n.subnet, n.gateway, n.user_ipam) == ("10.9.0.0/24", "10.9.0.254", True)


@pytest.mark.parametrize(
    ("ipam", "message"),
    [
        ({"Config": [{"Subnet": "10.9.0.0/33"}]}, "invalid CIDR address: 10.9.0.0/33"),
        ({"Config": [{"Subnet": "nonsense"}]}, "invalid CIDR address: nonsense"),
        ({"Config": [{"Subnet": "10.9.0.0/24", "Gateway": "10.8.0.1"}]}, "no matching subnet for gateway 10.8.0.1"),
        ({"Config": [{"Subnet": "10.9.0.0/24", "Gateway": "10.9.0.0"}]}, "no matching subnet for gateway 10.9.0.0"),
        ({"Config": [{"Gateway": "10.9.0.1"}]}, "without a subnet"),
    ],
)
def test_bad_ipam_is_refused(ipam: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        parse_ipam(ipam)


def test_duplicates_and_overlaps() -> None:
    a = _net("a", {"Config": [{"Subnet": "10.9.0.0/24"}]})
    with pytest.raises(Conflict, match="network with name a already exists"):
        _net("a", existing=(a,))
    with pytest.raises(Conflict, match="network with name bridge already exists"):
        _net("bridge")
    with pytest.raises(Forbidden, match="Pool overlaps with other one on this address space"):
        _net("b", {"Config": [{"Subnet": "10.9.0.128/25"}]}, existing=(a,))


def test_store_round_trip(tmp_path: Path) -> None:
    store = NetworkStore(tmp_path)
    a = _net("a")
    a.labels = {"k": "v"}
    store.save(a)
    assert store.load_all() == [a]
    store.delete(a.id)
    assert store.load_all() == []


def test_render_isolates_networks_and_closes_internal_ones() -> None:
    script = nft.render("t", [nft.BridgeRules("b1", "10.1.0.0/24"), nft.BridgeRules("b2", "10.2.0.0/24"),
                              nft.BridgeRules("b3", "10.3.0.0/24", internal=True)], [])
    lines = [ln.strip() for ln in script.splitlines()]
    assert 'iifname "b1" oifname "b1" accept' in lines
    assert 'iifname "b1" oifname { "b2", "b3" } drop' in lines
    assert 'iifname "b2" oifname { "b1", "b3" } drop' in lines
    assert lines.index('iifname "b1" oifname { "b2", "b3" } drop') < lines.index('iifname "b1" accept')
    assert 'iifname "b3" drop' in lines and 'oifname "b3" drop' in lines
    assert not any("10.3.0.0/24" in ln and "masquerade" in ln for ln in lines)  # internal: no NAT out
