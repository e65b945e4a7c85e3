"""The networks sangjad knows: the default `bridge` and the user-defined bridge networks.

Each network is one JSON file under `<data-root>/network/` (`bridge.json` for the default
one, `networks/<id>.json` for user-defined ones), written atomically. What a network *is*
lives here (name, subnet, gateway, device, internal, labels); which addresses are in use
is derived from the containers' records by the controller (IPAM = those records plus the
gateway), so nothing here has to be kept in step with the containers.

Pure Python, no kernel calls: the subnet choice and the validation of a create request
are unit-tested.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sangja.errors import Forbidden, InvalidParameter, SangjaError

DEFAULT_NAME = "bridge"
BUILTIN = ("bridge", "host", "none")


def now_rfc3339() -> str:
    t = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t // 10**9)) + f".{t % 10**9:09d}Z"


@dataclass
class BridgeState:
    """One bridge network. `device` is its Linux bridge; `user_ipam` = subnet/gateway were given."""

    id: str
    subnet: str
    gateway: str
    created: str
    name: str = DEFAULT_NAME
    device: str = ""
    internal: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    user_ipam: bool = False
    # IPv6 (network/ipv6.py): "" when the network has none
    subnet6: str = ""
    gateway6: str = ""

    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.subnet)

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT_NAME

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BridgeState:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def device_for(network_id: str) -> str:
    """A user network's bridge device: `sjb` + 12 hex digits of its ID (15 characters, IFNAMSIZ-1)."""
    return "sjb" + network_id[:12]


def choose_subnet(
    pools: tuple[tuple[str, int], ...], taken: list[ipaddress.IPv4Network]
) -> ipaddress.IPv4Network:
    """The first subnet of the pools that overlaps nothing taken (host routes, other networks)."""
    for base, size in pools:
        for net in ipaddress.IPv4Network(base).subnets(new_prefix=size):
            if not any(net.overlaps(t) for t in taken):
                return net
    raise SangjaError("could not find an available, non-overlapping IPv4 address pool among the defaults")


def parse_ipam(ipam: Any) -> tuple[ipaddress.IPv4Network | None, str]:
    """The IPAM part of a create request → (subnet or None, gateway or ""); Docker's errors for bad input."""
    if ipam is None:
        return None, ""
    if not isinstance(ipam, dict):
        raise InvalidParameter("invalid JSON: IPAM must be an object")
    driver = ipam.get("Driver") or "default"
    if driver != "default":
        raise SangjaError(f'error looking up IPAM plugin {driver}: plugin "{driver}" not found')
    configs = ipam.get("Config") or []
    if not isinstance(configs, list):
        raise InvalidParameter("invalid JSON: IPAM.Config must be a list")
    v4 = []
    for cfg in configs:
        if not isinstance(cfg, dict):
            raise InvalidParameter("invalid JSON: IPAM.Config entries must be objects")
        text = str(cfg.get("Subnet") or "")
        if ":" in text:
            continue  # an IPv6 subnet: network/ipv6.parse_ipam6 (ignored without EnableIPv6, as in dockerd)
        v4.append(cfg)
    if len(v4) > 1:
        raise InvalidParameter("only one IPv4 subnet per network is supported")
    if not v4:
        return None, ""
    cfg = v4[0]
    subnet_text = str(cfg.get("Subnet") or "")
    gateway = str(cfg.get("Gateway") or "")
    if not subnet_text:
        if gateway:
            raise InvalidParameter(f"invalid network config: gateway {gateway} given without a subnet")
        return None, ""
    try:
        subnet = ipaddress.IPv4Network(subnet_text, strict=False)
    except ValueError:
        raise InvalidParameter(f"invalid CIDR address: {subnet_text}") from None
    if subnet.prefixlen > 30:
        raise InvalidParameter(f"invalid subnet {subnet_text}: too small for a bridge network")
    if gateway:
        try:
            gw = ipaddress.IPv4Address(gateway)
        except ValueError:
            raise InvalidParameter(f"invalid gateway address {gateway}") from None
        if gw not in subnet or gw in (subnet.network_address, subnet.broadcast_address):
            raise InvalidParameter(f"no matching subnet for gateway {gateway}")
    return subnet, gateway


class NetworkStore:
    """The user-defined networks on disk (`<data-root>/network/networks/<id>.json`)."""

    def __init__(self, data_root: Path) -> None:
        self.dir = data_root / "network" / "networks"

    def load_all(self) -> list[BridgeState]:
        out: list[BridgeState] = []
        if not self.dir.is_dir():
            return out
        for f in sorted(self.dir.glob("*.json")):
            try:
                out.append(BridgeState.from_json(json.loads(f.read_text())))
            except (ValueError, TypeError):
                continue
        return out

    def save(self, state: BridgeState) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"{state.id}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(state)))
        os.replace(tmp, path)

    def delete(self, network_id: str) -> None:
        try:
            (self.dir / f"{network_id}.json").unlink()
        except FileNotFoundError:
            pass


def new_network(
    name: str,
    ipam: Any,
    internal: bool,
    labels: dict[str, str],
    options: dict[str, str],
    existing: list[BridgeState],
    host_routes: list[ipaddress.IPv4Network],
    pools: tuple[tuple[str, int], ...],
) -> BridgeState:
    """A new user-defined network's record: validated, its subnet chosen or checked."""
    if any(n.name == name for n in existing) or name in BUILTIN:
        from sangja.errors import Conflict

        raise Conflict(f"network with name {name} already exists")
    subnet, gateway = parse_ipam(ipam)
    others = [n.network() for n in existing]
    if subnet is None:
        subnet = choose_subnet(pools, others + host_routes)
    elif any(subnet.overlaps(o) for o in others):
        raise Forbidden("invalid pool request: Pool overlaps with other one on this address space")
    nid = secrets.token_hex(32)
    while nid.isdigit():
        nid = secrets.token_hex(32)
    return BridgeState(
        id=nid,
        subnet=str(subnet),
        gateway=gateway or str(next(subnet.hosts())),
        created=now_rfc3339(),
        name=name,
        device=device_for(nid),
        internal=internal,
        labels=labels,
        options=options,
        user_ipam=bool(ipam and (ipam.get("Config") or [])),
    )
