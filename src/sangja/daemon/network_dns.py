"""The embedded DNS server's view of the engine: which names a container on a user-defined
network can resolve, and where other names are forwarded.

Names (Docker's DNSNames): the container's name, its `--network-alias`es on that network,
its short ID and an explicitly set hostname. The asking container (found by its address on
the network the query came in on) resolves the names of every user-defined network it is
on; the default bridge has no name resolution (Docker's rule). Only running containers
with an endpoint are resolved, so start/stop/rm/rename/connect/disconnect are seen at once.

Upstreams: the asking container's `--dns` servers if it has any, else the nameservers of
the daemon's `--resolv-conf` (default /etc/resolv.conf), read on each forward; none for a
container that is only on internal networks.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sangja.daemon.container import Container
from sangja.daemon.daemon import Daemon
from sangja.network.dns import DnsServer, Listen, nameservers

log = logging.getLogger(__name__)

DEFAULT_RESOLV_CONF = "/etc/resolv.conf"


def _endpoints(c: Container) -> dict[str, Any]:
    if not c.state.running:
        return {}
    eps = c.network.get("Endpoints") or {}
    return eps if isinstance(eps, dict) else {}


def _user_network_ids(d: Daemon) -> set[str]:
    if d.network is None or not d.network.enabled:
        return set()
    return {nid for nid, n in d.network.networks.items() if not n.is_default}


def _aliases(d: Daemon, c: Container, nid: str) -> list[str]:
    net = d.network.networks.get(nid) if d.network else None
    for name, cfg in (c.endpoints_config or {}).items():
        if isinstance(cfg, dict) and (cfg.get("NetworkID") == nid or (net is not None and name == net.name)):
            return [str(a) for a in cfg.get("Aliases") or []]
    return []


def dns_names(d: Daemon, c: Container, nid: str) -> list[str]:
    names = [c.name.lstrip("/"), *_aliases(d, c, nid), c.id[:12]]
    if c.config.get("Hostname"):
        names.append(str(c.config["Hostname"]))
    return list(dict.fromkeys(n.lower() for n in names if n))


def _asker(d: Daemon, nid: str, client: str) -> Container | None:
    for c in d.containers:
        ep = _endpoints(c).get(nid)
        if ep and ep.get("IPAddress") == client:
            return c
    return None


def lookup(d: Daemon, nid: str, name: str, client: str) -> list[str] | None:
    users = _user_network_ids(d)
    asker = _asker(d, nid, client)
    scope = {n for n in _endpoints(asker) if n in users} if asker else set()
    scope.add(nid)
    found: list[str] = []
    for c in d.containers:
        for net_id, ep in _endpoints(c).items():
            if net_id in scope and name in dns_names(d, c, net_id):
                for key in ("IPAddress", "GlobalIPv6Address"):  # A and AAAA answers
                    ip = str(ep.get(key) or "")
                    if ip and ip not in found:
                        found.append(ip)
    return found or None


def upstreams(d: Daemon, nid: str, client: str) -> list[str]:
    """Where a name the engine does not know is forwarded; nowhere (SERVFAIL) for a container
    on internal networks only, as dockerd's resolver does not forward for those."""
    asker = _asker(d, nid, client)
    nets = d.network.networks if d.network else {}
    on = set(_endpoints(asker)) if asker else {nid}
    if all(nets[n].internal for n in on if n in nets):
        return []
    dns = (asker.host_config.get("Dns") or []) if asker else []
    if dns:
        return [str(x) for x in dns]
    path = getattr(d.config, "resolv_conf", "") or DEFAULT_RESOLV_CONF
    try:
        return nameservers(Path(path).read_text())
    except OSError:
        return []


def embedded_dns_address(d: Daemon, c: Container) -> str:
    """The nameserver a starting container's resolv.conf names: the gateway of its first
    user-defined network, or "" (default bridge only: the host's resolvers, as in Docker)."""
    users = _user_network_ids(d)
    assert d.network is not None or not users
    for nid in (c.network.get("Endpoints") or {}):
        if nid in users and d.network is not None:
            return d.network.networks[nid].gateway
    return ""


def _wanted(d: Daemon) -> dict[str, Listen]:
    if d.network is None:
        return {}
    return {
        nid: Listen(n.gateway, n.subnet)
        for nid, n in d.network.networks.items()
        if not n.is_default
    }


async def start_dns(d: Daemon) -> None:
    """At daemon start (after the networks are set up): listen on every user network's gateway."""
    if d.network is None or not d.network.enabled:
        return
    server = DnsServer(lambda nid, name, client: lookup(d, nid, name, client),
                       lambda nid, client: upstreams(d, nid, client))
    d.dns = server
    await server.sync(_wanted(d))


async def sync_dns(d: Daemon) -> None:
    """After a network create/remove/prune: listeners for exactly the user networks there are."""
    server = getattr(d, "dns", None)
    if isinstance(server, DnsServer):
        await server.sync(_wanted(d))


async def stop_dns(d: Daemon) -> None:
    server = getattr(d, "dns", None)
    if isinstance(server, DnsServer):
        await server.close()
        d.dns = None
