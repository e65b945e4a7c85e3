"""The bridge networks (the default `bridge` and user-defined ones), their endpoints, and the nft table.

Every network is a Linux bridge (the default one `--bridge`, user-defined ones `sjb<id>`);
a container has one sandbox (netns file) with one endpoint (veth, `eth0`, `eth1`, ...) per
network it is connected to. The default route goes through the first non-internal
network; published ports are DNATed to the address on the container's first network.

Lifecycle:
    init()       at daemon start: pick (or read back) the subnet, create the bridge
    restore()    after reconciliation: take back the host ports of the running containers,
                 drop veths and netns files that belong to no running container, and rewrite
                 the nft table from the records (so what a crashed daemon left is corrected)
    connect()    at container start, before the runtime creates it: sandbox + endpoint +
                 published ports + rules; all or nothing
    disconnect() at exit/stop/remove: everything connect made is removed; idempotent. The
                 netns file, ports and rules at once, the veths by a background reaper
                 (network/teardown.py) so that the exit is not held up by the kernel
    shutdown()   at daemon stop: the bridge and table go when no container uses them, else
                 they stay (running containers keep their network while sangjad is down)

The per-container state lives in the container's record (`Container.network`), so the
addresses and ports in use survive a daemon restart: IPAM is the set of those records.
Calls are synchronous (netlink, nft) and serialized by one lock; callers run them in a thread.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sangja.errors import Conflict, Forbidden, InvalidParameter, SangjaError
from sangja.network import ipv6, nft, sandbox, sandbox6
from sangja.network.portmap import Binding, Mapping, PortReservations, is_ipv6, require_ipv6
from sangja.network.store import BridgeState, NetworkStore, choose_subnet, new_network
from sangja.network.teardown import LinkReaper

log = logging.getLogger(__name__)

# Docker's default address pools: 172.17-31.0.0/16, then 192.168.0.0/16 cut in /20s.
DEFAULT_POOLS: tuple[tuple[str, int], ...] = (
    ("172.17.0.0/16", 16),
    ("172.18.0.0/15", 16),
    ("172.20.0.0/14", 16),
    ("172.24.0.0/13", 16),
    ("192.168.0.0/16", 20),
)


@dataclass(frozen=True)
class NetworkOptions:
    bridge: str = "sangja0"  # "none": no default bridge (bridge mode then means loopback only)
    bip: str = ""  # "172.30.0.1/16": the bridge's address and subnet
    pools: tuple[tuple[str, int], ...] = DEFAULT_POOLS
    ipv6: bool = False  # dockerd's --ipv6 for the default bridge
    fixed_cidr_v6: str = ""  # its IPv6 subnet (else a ULA /64, kept in bridge.json)

    @property
    def table(self) -> str:
        return "sangja" if self.bridge == "sangja0" else "sangja_" + "".join(
            ch if ch.isalnum() else "_" for ch in self.bridge
        )


@dataclass(frozen=True)
class EndpointRequest:
    """A container's wish to be on a network: its aliases and an optional fixed address (--ip)."""

    network_id: str
    ipv4: str = ""
    ipv6: str = ""


@dataclass
class _Ep:
    network_id: str
    address: str
    host_ifname: str
    has_gateway: bool = False
    ifname: str = "eth0"
    address6: str = ""  # on an IPv6 network (network/ipv6.py)
    has_gateway6: bool = False


@dataclass
class _Live:
    address: str  # on the first network: where published ports go
    mappings: list[Mapping] = field(default_factory=list)
    endpoints: dict[str, _Ep] = field(default_factory=dict)  # network id → endpoint
    address6: str = ""  # the same for IPv6, when the first network has it


def parse_pool(text: str) -> tuple[str, int]:
    """dockerd's --default-address-pool base=172.30.0.0/16,size=24."""
    parts = dict(p.split("=", 1) for p in text.split(",") if "=" in p)
    try:
        base = str(ipaddress.IPv4Network(parts["base"]))
        size = int(parts.get("size", "24"))
    except (KeyError, ValueError) as exc:
        raise ValueError(f"invalid default address pool {text!r}: {exc}") from None
    return base, size


class BridgeController:
    def __init__(self, opts: NetworkOptions, data_root: Path, exec_root: Path) -> None:
        self.opts = opts
        self.state_file = data_root / "network" / "bridge.json"
        self.store = NetworkStore(data_root)
        self.netns_dir = exec_root / "netns"
        self.state: BridgeState | None = None  # the default bridge
        self.networks: dict[str, BridgeState] = {}  # id → every bridge network, the default one included
        self._lock = threading.Lock()
        self._live: dict[str, _Live] = {}
        self.ports = PortReservations()
        self.reaper = LinkReaper()

    @property
    def enabled(self) -> bool:
        return self.opts.bridge != "none"

    @property
    def network_id(self) -> str:
        return self.state.id if self.state else ""

    # -- daemon start / stop ---------------------------------------------------------------
    def init(self) -> None:
        if not self.enabled:
            return
        with self._lock:
            saved = self._load()
            taken = sandbox.host_routes(exclude_ifname=self.opts.bridge)
            users = self.store.load_all()
            if self.opts.bip:
                iface = ipaddress.IPv4Interface(self.opts.bip)
                subnet, gateway = iface.network, str(iface.ip)
            elif saved and not any(ipaddress.IPv4Network(saved.subnet).overlaps(t) for t in taken):
                subnet, gateway = ipaddress.IPv4Network(saved.subnet), saved.gateway
            else:
                subnet = choose_subnet(self.opts.pools, taken + [u.network() for u in users])
                gateway = str(next(subnet.hosts()))
            self.state = BridgeState(
                id=saved.id if saved else secrets.token_hex(32),
                subnet=str(subnet),
                gateway=gateway,
                created=saved.created if saved else time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime()),
                device=self.opts.bridge,
            )
            if self.opts.ipv6:
                subnet6 = ipv6.choose_subnet6(self.opts.fixed_cidr_v6, saved.subnet6 if saved else "",
                                              ipv6.host_routes6())
                self.state.subnet6, self.state.gateway6 = str(subnet6), ipv6.gateway_for(subnet6)
            self._save()
            sandbox.ensure_bridge(self.opts.bridge, gateway, subnet.prefixlen)
            self._bridge_up6(self.state)
            self.networks = {self.state.id: self.state}
            for u in users:
                sandbox.ensure_bridge(u.device, u.gateway, u.network().prefixlen)
                self._bridge_up6(u)
                self.networks[u.id] = u
            self._apply()
        log.info("default bridge %s: subnet %s, gateway %s", self.opts.bridge, subnet, gateway)

    def restore(self, running: dict[str, dict[str, Any]]) -> None:
        """`running`: container id → its `Container.network` record, for containers that still run."""
        if not self.enabled:
            return
        with self._lock:
            for cid, rec in running.items():
                if not rec.get("IPAddress") or cid in self._live:
                    continue
                maps = [Mapping.from_json(m) for m in rec.get("Mappings") or []]
                live = _Live(rec["IPAddress"], maps, address6=str(rec.get("GlobalIPv6Address") or ""))
                for nid, ep in self._record_endpoints(cid, rec).items():
                    if nid in self.networks:
                        live.endpoints[nid] = ep
                self._live[cid] = live
                self.ports.retake(cid, maps, v6=bool(live.address6))
            keep = {ep.host_ifname for live in self._live.values() for ep in live.endpoints.values()}
            for net in self.networks.values():
                for name in sandbox.bridge_ports(net.device):
                    if name.startswith("sjv") and name not in keep:
                        log.info("removing leftover endpoint %s", name)
                        sandbox.delete_link(name)
            if self.netns_dir.is_dir():
                for f in self.netns_dir.iterdir():
                    if f.name not in self._live:
                        log.info("removing leftover sandbox %s", f.name[:12])
                        sandbox.delete_sandbox(f, f.name)
            self._apply()

    def _record_endpoints(self, cid: str, rec: dict[str, Any]) -> dict[str, _Ep]:
        eps = rec.get("Endpoints")
        if not eps:  # a record from before user-defined networks: one endpoint on the default bridge
            return {self.network_id: _Ep(self.network_id, rec["IPAddress"], sandbox.veth_name(cid), True)}
        return {
            nid: _Ep(nid, e["IPAddress"], e["HostIfname"], bool(e.get("HasGateway")), str(e.get("IfName") or "eth0"),
                     str(e.get("GlobalIPv6Address") or ""), bool(e.get("HasGateway6")))
            for nid, e in eps.items()
        }

    def shutdown(self) -> None:
        """At daemon stop: let go of the port reservations; remove the bridges no container uses
        (they are made again at start), and the table when no container uses any."""
        if not self.enabled:
            return
        with self._lock:
            self.reaper.stop()
            self.ports.release_all()
            used = {nid for live in self._live.values() for nid in live.endpoints}
            for nid, net in self.networks.items():
                if nid not in used:
                    sandbox.delete_bridge(net.device)
            if not self._live:
                nft.delete_table(self.opts.table)
                nft.apply(ipv6.render6(self.opts.table, [], []))  # the ip6 table too

    # -- networks ------------------------------------------------------------------------------
    def create_network(
        self, name: str, ipam: Any, internal: bool, labels: dict[str, str], options: dict[str, str],
        enable_ipv6: bool = False,
    ) -> BridgeState:
        if not self.enabled:
            raise SangjaError("bridge networking is disabled in this daemon (--bridge none)")
        with self._lock:
            users = [n for n in self.networks.values() if not n.is_default]
            taken = [n.network() for n in self.networks.values() if n.is_default]
            net = new_network(
                name, ipam, internal, labels, options, users,
                taken + sandbox.host_routes(exclude_ifname=self.opts.bridge), self.opts.pools,
            )
            if self.state and net.network().overlaps(self.state.network()):
                raise Forbidden("invalid pool request: Pool overlaps with other one on this address space")
            if enable_ipv6:
                self._configure6(net, ipam)
            try:
                sandbox.ensure_bridge(net.device, net.gateway, net.network().prefixlen)
                self._bridge_up6(net)
                self.networks[net.id] = net
                self._apply()
                self.store.save(net)
            except BaseException:
                self.networks.pop(net.id, None)
                sandbox.delete_bridge(net.device)
                with contextlib.suppress(Exception):
                    self._apply()
                raise
            return net

    def remove_network(self, network_id: str) -> None:
        with self._lock:
            net = self.networks.get(network_id)
            if net is None:
                return
            if self.endpoints_of(network_id):
                raise Conflict(
                    f"error while removing network: network {net.name} id {net.id} has active endpoints"
                )
            self.store.delete(net.id)
            del self.networks[net.id]
            sandbox.delete_bridge(net.device)
            self._apply()

    def endpoints_of(self, network_id: str) -> dict[str, str]:
        """Container id → its address on the network, for the containers connected now."""
        return {
            cid: live.endpoints[network_id].address
            for cid, live in self._live.items()
            if network_id in live.endpoints
        }

    # -- containers --------------------------------------------------------------------------
    def connect(
        self,
        cid: str,
        endpoint_name: str,
        bindings: list[Binding],
        networks: list[EndpointRequest] | None = None,
    ) -> dict[str, Any]:
        """Give container `cid` a sandbox with an endpoint on each of `networks` (default: the
        default bridge); returns the record to keep in the container. All or nothing."""
        assert self.state is not None
        wanted = networks or [EndpointRequest(self.state.id)]
        with self._lock:
            if cid in self._live:
                self._disconnect_locked(cid)
            path = self.netns_dir / cid
            self._live[cid] = _Live("")
            record: dict[str, Any] = {
                "SandboxKey": str(path),
                "SandboxID": secrets.token_hex(32),
                "Endpoints": {},
                "Mappings": [],
            }
            try:
                for i, req in enumerate(wanted):
                    ep = self._add_endpoint_locked(cid, req, new=(i == 0))
                    record["Endpoints"][req.network_id] = ep
                first = record["Endpoints"][wanted[0].network_id]
                self._live[cid].address = first["IPAddress"]
                self._live[cid].address6 = str(first.get("GlobalIPv6Address") or "")
                require_ipv6(bindings, self._live[cid].address6, self.networks[wanted[0].network_id].name)
                mappings = self.ports.reserve(cid, bindings, f"{endpoint_name} ({first['EndpointID']})",
                                              v6=bool(self._live[cid].address6))
                self._live[cid].mappings = mappings
                record["Mappings"] = [m.to_json() for m in mappings]
                if mappings:  # the table holds only ports and bridges: nothing to change without ports
                    self._apply()
            except BaseException:
                self._disconnect_locked(cid, wait=True)  # a failed start leaves no veth behind
                raise
            self._primary(record)
            return record

    def connect_endpoint(self, cid: str, req: EndpointRequest, record: dict[str, Any]) -> dict[str, Any]:
        """Connect a running container's sandbox to one more network; updates and returns `record`."""
        with self._lock:
            live = self._live.get(cid)
            if live is None or not record.get("SandboxKey"):
                raise Conflict("container has no network sandbox to connect")
            if req.network_id in live.endpoints:
                net = self.networks[req.network_id]
                raise Forbidden(f"endpoint with name {cid[:12]} already exists in network {net.name}")
            ep = self._add_endpoint_locked(cid, req, new=False)
            record.setdefault("Endpoints", {})[req.network_id] = ep
            self._apply()
            return record

    def disconnect_endpoint(self, cid: str, network_id: str, record: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            live = self._live.get(cid)
            if live is None or network_id not in live.endpoints:
                return record
            ep = live.endpoints.pop(network_id)
            sandbox.delete_link(ep.host_ifname)
            (record.get("Endpoints") or {}).pop(network_id, None)
            self._apply()
            return record

    def _add_endpoint_locked(self, cid: str, req: EndpointRequest, new: bool) -> dict[str, Any]:
        live = self._live[cid]
        net = self.networks.get(req.network_id)
        if net is None:
            raise SangjaError(f"network {req.network_id} not found")
        address = self._allocate(net, req.ipv4)
        host_ifname = (
            sandbox.veth_name(cid) if net.id == self.network_id else sandbox.endpoint_name(cid, net.id)
        )
        gateway = "" if net.internal or any(e.has_gateway for e in live.endpoints.values()) else net.gateway
        ifname = f"eth{self._next_ifindex(live)}"
        live.endpoints[net.id] = _Ep(net.id, address, host_ifname, bool(gateway), ifname)
        path = self.netns_dir / cid
        # The name may still be queued for deletion from this container's last run: the reaper
        # must not delete the new link (sandbox._add_veth replaces an old one still there).
        self.reaper.cancel([host_ifname])
        try:
            spec = sandbox.EndpointSpec(host_ifname, ifname, net.device, address, net.network().prefixlen, gateway)
            ep = sandbox.add_endpoint(path, spec, new=new)
        except BaseException:
            live.endpoints.pop(net.id, None)
            raise
        try:
            v6 = self._endpoint6(cid, net, req, live.endpoints[net.id])
        except BaseException:
            live.endpoints.pop(net.id, None)
            if not new:  # a new sandbox is removed whole by connect()
                sandbox.delete_link(host_ifname)
            raise
        return {
            **v6,
            "NetworkID": net.id,
            "EndpointID": secrets.token_hex(32),
            "IPAddress": address,
            "IPPrefixLen": net.network().prefixlen,
            "Gateway": net.gateway if not net.internal else "",
            "MacAddress": ep.mac,
            "Bridge": net.device,
            "HostIfname": host_ifname,
            "IfName": ifname,
            "HasGateway": bool(gateway),
        }

    @staticmethod
    def _next_ifindex(live: _Live) -> int:
        """The smallest N with no `ethN` in the sandbox (a disconnect may leave a gap)."""
        used = {ep.ifname for ep in live.endpoints.values()}
        return next(i for i in range(len(used) + 1) if f"eth{i}" not in used)

    def _primary(self, record: dict[str, Any]) -> None:
        """The first endpoint's fields at the top of the record (what the default bridge's views read)."""
        eps = record.get("Endpoints") or {}
        if not eps:
            return
        first = next(iter(eps.values()))
        for key in ("NetworkID", "EndpointID", "IPAddress", "IPPrefixLen", "Gateway", "MacAddress", "Bridge"):
            record[key] = first[key]
        for key, empty in (("GlobalIPv6Address", ""), ("GlobalIPv6PrefixLen", 0), ("IPv6Gateway", "")):
            record[key] = first.get(key, empty)

    def disconnect(self, cid: str) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._disconnect_locked(cid)

    def _disconnect_locked(self, cid: str, wait: bool = False) -> None:
        """Ports and rules go now; the veths are deleted by the reaper, off the exit's path
        (or here when `wait`)."""
        had = self._live.pop(cid, None)
        self.ports.release(cid)
        names = [ep.host_ifname for ep in had.endpoints.values()] if had else []
        if wait:
            sandbox.delete_sandbox(self.netns_dir / cid, cid, names)
        else:
            sandbox.release_sandbox(self.netns_dir / cid, cid, names, self.reaper)
        if had is not None and had.mappings:
            self._apply()

    # -- internals -----------------------------------------------------------------------------
    def _allocate(self, net: BridgeState, wanted: str = "") -> str:
        used = {
            ep.address for live in self._live.values() for ep in live.endpoints.values() if ep.network_id == net.id
        } | {net.gateway}
        subnet = net.network()
        if wanted:
            if not net.user_ipam:
                raise InvalidParameter(
                    "user specified IP address is supported only when connecting to networks "
                    "with user configured subnets"
                )
            try:
                addr = ipaddress.IPv4Address(wanted)
            except ValueError:
                raise InvalidParameter(f"invalid IPv4 address: {wanted}") from None
            if addr not in subnet or addr in (subnet.network_address, subnet.broadcast_address):
                raise InvalidParameter(f"no matching subnet for address {wanted} in network {net.name}")
            if wanted in used:
                raise Forbidden(f"Address already in use: {wanted}")
            return wanted
        for host in subnet.hosts():
            if str(host) not in used:
                return str(host)
        raise SangjaError(f"no available IPv4 addresses on this network's address pools: {net.name} ({net.id})")

    def _apply(self) -> None:
        assert self.state is not None
        forwards = [
            nft.Forward(m.proto, m.host_ip, m.host_port, live.address, m.container_port)
            for live in self._live.values()
            for m in live.mappings if not is_ipv6(m.host_ip)  # those are the ip6 table's
        ]
        bridges = [nft.BridgeRules(n.device, n.subnet, n.internal) for n in self.networks.values()]
        nft.apply(nft.render(self.opts.table, bridges, forwards) + self._script6())

    # -- IPv6 (network/ipv6.py) ----------------------------------------------------------------
    def _configure6(self, net: BridgeState, ipam: Any) -> None:
        """A new network's IPv6 subnet and gateway: the request's, else a ULA /64."""
        subnet6, gateway6 = ipv6.parse_ipam6(ipam)
        others = [ipaddress.IPv6Network(n.subnet6) for n in self.networks.values() if n.subnet6]
        if subnet6 is None:
            subnet6 = ipv6.random_ula(others + ipv6.host_routes6())
        elif any(subnet6.overlaps(o) for o in others):
            raise Forbidden("invalid pool request: Pool overlaps with other one on this address space")
        net.subnet6, net.gateway6 = str(subnet6), ipv6.gateway_for(subnet6, gateway6)

    @staticmethod
    def _bridge_up6(net: BridgeState) -> None:
        if net.subnet6:
            sandbox6.ensure_bridge6(net.device, net.gateway6, ipaddress.IPv6Network(net.subnet6).prefixlen)

    def _endpoint6(self, cid: str, net: BridgeState, req: EndpointRequest, ep: _Ep) -> dict[str, Any]:
        """The IPv6 address (and default route) of a new endpoint on an IPv6 network; record fields."""
        if not net.subnet6:
            return {}
        live = self._live[cid]
        used = {e.address6 for lv in self._live.values() for e in lv.endpoints.values()
                if e.network_id == net.id and e is not ep} | {net.gateway6}
        subnet6 = ipaddress.IPv6Network(net.subnet6)
        ep.address6 = ipv6.allocate6(subnet6, used, req.ipv6, net.name)
        ep.has_gateway6 = not net.internal and not any(
            e.has_gateway6 for e in live.endpoints.values() if e is not ep
        )
        sandbox6.add_endpoint6(self.netns_dir / cid, ep.ifname, ep.address6, subnet6.prefixlen,
                               net.gateway6 if ep.has_gateway6 else "")
        return {
            "GlobalIPv6Address": ep.address6,
            "GlobalIPv6PrefixLen": subnet6.prefixlen,
            "IPv6Gateway": net.gateway6 if not net.internal else "",
            "HasGateway6": ep.has_gateway6,
        }

    def _script6(self) -> str:
        bridges = [ipv6.Bridge6(n.device, n.subnet6, n.internal) for n in self.networks.values()]
        forwards = [
            ipv6.Forward6(m.proto, m.host_ip, m.host_port, live.address6, m.container_port)
            for live in self._live.values() if live.address6
            # "-p 8080:80": every address, IPv6 ones too; "-p [fd00::2]:8080:80" that one only
            for m in live.mappings if not m.host_ip or is_ipv6(m.host_ip)
        ]
        return ipv6.render6(self.opts.table, bridges, forwards)

    def _load(self) -> BridgeState | None:
        try:
            data = json.loads(self.state_file.read_text())
            return BridgeState.from_json(data)
        except (FileNotFoundError, ValueError, TypeError):
            return None

    def _save(self) -> None:
        assert self.state is not None
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self.state)))
        os.replace(tmp, self.state_file)
