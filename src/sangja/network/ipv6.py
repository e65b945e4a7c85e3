"""IPv6 on bridge networks: the IPAM rules and the `ip6` nft table (pure functions, unit-tested).

A network with IPv6 enabled (`network create --ipv6`, or sangjad's `--ipv6` for the default
bridge) has one IPv6 subnet (given with `--subnet`/`--fixed-cidr-v6`, else a random ULA /64,
as dockerd allocates from its ULA pool) whose first address is the bridge's gateway unless
one is given. Containers get the next free address, kept in their records like the IPv4 one.

The `ip6` table has the same name as the `ip` one and the same chains (network/nft.py explains
the hooks): DNAT of published ports to a container's IPv6 address when it has one, masquerade
for the subnets, hairpin, and the same isolation between networks in `forward`.

Localhost: DNAT of a connection to [::1] does not work in the kernel — IPv6 has no
route_localnet, and the kernel lets no packet from or to ::1 cross a non-loopback device
(RFC 4291 §2.5.3); tried here with and without a `masquerade` rule for ::1 towards the bridge:
the connection times out. dockerd answers [::1] only through its userland proxy (docker-proxy
listening on [::]:port); with `--userland-proxy=false` it cannot either. sangja has no proxy,
so a published port answers on the host's other IPv6 addresses and on 127.0.0.1, not on [::1].
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from typing import Any

from sangja.errors import Forbidden, InvalidParameter, SangjaError
from sangja.network.nft import NAT_HOOKS, forward_chain

IPv6Net = ipaddress.IPv6Network


def parse_ipam6(ipam: Any) -> tuple[IPv6Net | None, str]:
    """The IPv6 entry of a create request's IPAM.Config → (subnet or None, gateway or "")."""
    if not isinstance(ipam, dict):
        return None, ""
    v6 = [c for c in ipam.get("Config") or [] if isinstance(c, dict) and ":" in str(c.get("Subnet") or "")]
    if len(v6) > 1:
        raise InvalidParameter("only one IPv6 subnet per network is supported")
    if not v6:
        return None, ""
    text, gateway = str(v6[0].get("Subnet")), str(v6[0].get("Gateway") or "")
    try:
        subnet = ipaddress.IPv6Network(text, strict=False)
    except ValueError:
        raise InvalidParameter(f"invalid network config:\ninvalid subnet {text}: invalid CIDR block notation") from None
    if str(subnet) != text:
        raise InvalidParameter(f"invalid network config:\ninvalid subnet {text}: it should be {subnet}")
    if subnet.prefixlen > 126:
        raise InvalidParameter(f"invalid subnet {text}: too small for a bridge network")
    if gateway:
        try:
            gw = ipaddress.IPv6Address(gateway)
        except ValueError:
            raise InvalidParameter(f"invalid network config:\ninvalid gateway {gateway}: invalid address") from None
        if gw not in subnet:
            raise InvalidParameter(
                f"invalid network config:\ninvalid gateway {gateway}: it is not in subnet {subnet}"
            )
    return subnet, gateway


def random_ula(taken: list[IPv6Net], bits: Any = secrets.randbits) -> IPv6Net:
    """A /64 of fd00::/8 with a random 40-bit global ID (RFC 4193) that overlaps nothing taken."""
    for _ in range(100):
        prefix = (0xFD << 120) | (bits(40) << 80)
        net = ipaddress.IPv6Network((prefix, 64))
        if not any(net.overlaps(t) for t in taken):
            return net
    raise SangjaError("could not find an available, non-overlapping IPv6 address pool")


def gateway_for(subnet: IPv6Net, given: str = "") -> str:
    return given or str(subnet.network_address + 1)


def allocate6(subnet: IPv6Net, used: set[str], wanted: str = "", network_name: str = "") -> str:
    """`wanted` (--ip6) if free and in the subnet, else the first free address after the network's.
    Addresses are compared in canonical form (`fd00:0::1` is `fd00::1`)."""
    normalized = {str(ipaddress.IPv6Address(u)) for u in used if u}
    if wanted:
        try:
            addr = ipaddress.IPv6Address(wanted)
        except ValueError:
            raise InvalidParameter(f"invalid IPv6 address: {wanted}") from None
        if addr not in subnet or addr == subnet.network_address:
            raise InvalidParameter(f"no matching subnet for address {wanted} in network {network_name}")
        if str(addr) in normalized:
            raise Forbidden(f"Address already in use: {wanted}")  # as the IPv4 allocator says it
        return str(addr)
    for offset in range(1, min(subnet.num_addresses - 1, 1 << 20)):
        candidate = str(subnet.network_address + offset)
        if candidate not in normalized:
            return candidate
    raise SangjaError(f"no available IPv6 addresses on this network's address pools: {network_name}")


@dataclass(frozen=True)
class Bridge6:
    bridge: str
    subnet: str  # "fd12:3456:789a::/64"; "" for an IPv4-only bridge
    internal: bool = False


@dataclass(frozen=True)
class Forward6:
    proto: str
    host_ip: str  # "" = every local IPv6 address
    host_port: int
    container_ip: str
    container_port: int


def render6(table: str, bridges: list[Bridge6], forwards: list[Forward6]) -> str:
    """The nft script replacing the `ip6` table `table` with exactly this state; with no IPv6
    network at all it only removes the table (so a stale one never survives).

    `bridges`: every bridge of this engine (`subnet` "" for the IPv4-only ones, which are
    isolated in IPv6 too)."""
    lines = [f"table ip6 {table} {{}}", f"delete table ip6 {table}"]
    if not any(b.subnet for b in bridges):
        return "\n".join(lines) + "\n"
    lines += [f"table ip6 {table} {{", "  chain publish {"]
    for f in sorted(forwards, key=lambda f: (f.proto, f.host_port, f.host_ip)):
        daddr = f"ip6 daddr {f.host_ip} " if f.host_ip not in ("", "::") else ""
        lines.append(f"    {daddr}{f.proto} dport {f.host_port} dnat to [{f.container_ip}]:{f.container_port}")
    lines += ["  }", *NAT_HOOKS]
    for b in bridges:
        if b.internal or not b.subnet:
            continue
        lines += [
            f'    ip6 saddr {b.subnet} oifname != "{b.bridge}" masquerade',
            f'    oifname "{b.bridge}" ip6 saddr {b.subnet} ct status dnat masquerade',
        ]
    lines += ["  }", *forward_chain(bridges), "}"]
    return "\n".join(lines) + "\n"


def host_routes6() -> list[IPv6Net]:
    """The host's IPv6 route destinations (main table), to pick a ULA subnet that collides with none."""
    from pyroute2 import IPRoute

    out: list[IPv6Net] = []
    with IPRoute() as ipr:
        for r in ipr.get_routes(family=10, table=254):
            dst = r.get_attr("RTA_DST")
            if dst is not None and r["dst_len"] > 0:
                out.append(ipaddress.IPv6Network(f"{dst}/{r['dst_len']}", strict=False))
    return out


def choose_subnet6(wanted: str, saved: str, taken: list[IPv6Net]) -> IPv6Net:
    """The default bridge's IPv6 subnet: --fixed-cidr-v6, else the one it had, else a new ULA /64."""
    if wanted:
        return ipaddress.IPv6Network(wanted, strict=False)
    if saved:
        return ipaddress.IPv6Network(saved)
    return random_ula(taken)
