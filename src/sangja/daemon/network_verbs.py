"""The network verbs: create, list, inspect, remove, prune, connect, disconnect.

The networks are the controller's (`d.network`: the default bridge and the user-defined
bridge networks) plus the two built-in pseudo networks `host` and `none`. Which networks
a container is on is its `endpoints_config` (name → Docker's EndpointSettings config:
NetworkID, Aliases, IPAMConfig), set at create and by connect/disconnect; the live
endpoints are in its `network` record while it runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from typing import Any

from sangja.daemon.container import Container
from sangja.daemon.daemon import Daemon
from sangja.daemon.network_container import is_container_mode
from sangja.errors import Conflict, Forbidden, InvalidParameter, NotFound, SangjaError
from sangja.network.store import BridgeState

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
LIST_FILTERS = ("name", "id", "driver", "type", "label", "scope", "dangling")
PRUNE_FILTERS = ("label", "label!", "until")


def _pseudo(d: Daemon) -> dict[str, dict[str, Any]]:
    """The `host` and `none` networks: stable IDs derived from the default bridge's, Docker's shapes."""
    base = d.network.network_id if d.network else ""
    out = {}
    for name, driver in (("host", "host"), ("none", "null")):
        nid = hashlib.sha256(f"{base}/{name}/{d.config.data_root}".encode()).hexdigest()
        out[name] = {"Name": name, "Id": nid, "Driver": driver}
    return out


def _networks(d: Daemon) -> list[BridgeState]:
    if d.network is None or not d.network.enabled:
        return []
    return list(d.network.networks.values())


def find_network(d: Daemon, ref: str) -> BridgeState | dict[str, Any]:
    """A network by name, full ID or unique ID prefix (Docker's order); NotFound otherwise."""
    pseudo = _pseudo(d)
    nets = _networks(d)
    for n in nets:
        if n.name == ref or n.id == ref:
            return n
    for p in pseudo.values():
        if ref in (p["Name"], p["Id"]):
            return p
    if ref:
        matches: list[BridgeState | dict[str, Any]] = [n for n in nets if n.id.startswith(ref)]
        matches += [p for p in pseudo.values() if p["Id"].startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise NotFound(f"network {ref} is ambiguous ({len(matches)} matches found based on ID prefix)")
    raise NotFound(f"network {ref} not found")


def _ipam_view(n: BridgeState) -> dict[str, Any]:
    configs = [{"Subnet": n.subnet, "Gateway": n.gateway}]
    if n.subnet6:
        configs.append({"Subnet": n.subnet6, "Gateway": n.gateway6})
    return {"Driver": "default", "Options": None, "Config": configs}


def network_view(d: Daemon, n: BridgeState | dict[str, Any], with_containers: bool = True) -> dict[str, Any]:
    """Docker's Network object."""
    if isinstance(n, dict):
        return {
            "Name": n["Name"], "Id": n["Id"], "Created": d.network.state.created if d.network and d.network.state
            else "0001-01-01T00:00:00Z", "Scope": "local", "Driver": n["Driver"], "EnableIPv4": True,
            "EnableIPv6": False, "IPAM": {"Driver": "default", "Options": None, "Config": []}, "Internal": False,
            "Attachable": False, "Ingress": False, "ConfigFrom": {"Network": ""}, "ConfigOnly": False,
            "Containers": _pseudo_containers(d, n["Name"]) if with_containers else {}, "Options": {},
            "Labels": {},
        }
    options = dict(n.options)
    if n.is_default:
        options = {
            "com.docker.network.bridge.default_bridge": "true",
            "com.docker.network.bridge.enable_icc": "true",
            "com.docker.network.bridge.enable_ip_masquerade": "true",
            "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
            "com.docker.network.bridge.name": n.device,
            "com.docker.network.driver.mtu": "1500",
        }
    return {
        "Name": n.name,
        "Id": n.id,
        "Created": n.created,
        "Scope": "local",
        "Driver": "bridge",
        "EnableIPv4": True,
        "EnableIPv6": bool(n.subnet6),
        "IPAM": _ipam_view(n),
        "Internal": n.internal,
        "Attachable": False,
        "Ingress": False,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": False,
        "Containers": _containers_of(d, n) if with_containers else {},
        "Options": options,
        "Labels": dict(n.labels),
    }


def _containers_of(d: Daemon, n: BridgeState) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in d.containers:
        ep = (c.network.get("Endpoints") or {}).get(n.id) if c.state.running else None
        if not ep:
            continue
        out[c.id] = {
            "Name": c.name.lstrip("/"),
            "EndpointID": ep["EndpointID"],
            "MacAddress": ep["MacAddress"],
            "IPv4Address": f"{ep['IPAddress']}/{ep['IPPrefixLen']}",
            "IPv6Address": f"{ep['GlobalIPv6Address']}/{ep['GlobalIPv6PrefixLen']}"
            if ep.get("GlobalIPv6Address") else "",
        }
    return out


def _pseudo_containers(d: Daemon, mode: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in d.containers:
        if c.state.running and c.host_config.get("NetworkMode") == mode:
            out[c.id] = {"Name": c.name.lstrip("/"), "EndpointID": "", "MacAddress": "", "IPv4Address": "",
                         "IPv6Address": ""}
    return out


# -- create-time and start-time hooks ---------------------------------------------------------
def resolve_endpoints(d: Daemon, hc: dict[str, Any], networking_config: Any) -> dict[str, Any]:
    """At container create: the networks the container asks for → its `endpoints_config`.

    The NetworkMode network comes first (it is the one published ports go to). As in
    dockerd, a network that does not exist fails the *start* ("network x not found"),
    not the create; it is recorded by name until then."""
    mode = str(hc.get("NetworkMode") or "bridge")
    wanted: dict[str, Any] = {}
    if isinstance(networking_config, dict):
        wanted = {("bridge" if k == "default" else k): v
                  for k, v in (networking_config.get("EndpointsConfig") or {}).items()}
    if mode in ("host", "none") or is_container_mode(mode):
        return {}
    out: dict[str, Any] = {}
    for i, ref in enumerate([mode, *[k for k in wanted if k != mode]]):
        try:
            n: BridgeState | dict[str, Any] | None = find_network(d, ref)
        except NotFound:
            n = None
        if isinstance(n, dict):
            raise InvalidParameter(
                "container cannot be connected to multiple networks with one of the networks in private (none) mode"
                if n["Name"] == "none" else
                "container cannot be disconnected from host network or connected to host network"
            )
        name = n.name if n is not None else ref
        if i == 0:
            hc["NetworkMode"] = name  # given by ID: Docker records the network's name
        out[name] = _endpoint_config(n, wanted.get(ref) or {})
    return out


def _endpoint_config(n: BridgeState | None, cfg: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(cfg, dict):
        raise InvalidParameter("invalid JSON: EndpointsConfig entries must be objects")
    aliases = cfg.get("Aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise InvalidParameter("invalid JSON: Aliases must be a list of strings")
    default = n is not None and n.is_default
    if aliases and default:
        raise InvalidParameter("network-scoped alias is supported only for containers in user defined networks")
    ipam = cfg.get("IPAMConfig") or {}
    ipv4 = str(ipam.get("IPv4Address") or "") if isinstance(ipam, dict) else ""
    ipv6 = str(ipam.get("IPv6Address") or "") if isinstance(ipam, dict) else ""
    if (ipv4 or ipv6) and default:
        raise InvalidParameter("user specified IP address is supported on user defined networks only")
    wanted = {k: v for k, v in (("IPv4Address", ipv4), ("IPv6Address", ipv6)) if v}
    return {
        "NetworkID": n.id if n is not None else "",
        "Aliases": list(aliases),
        "IPAMConfig": wanted or None,
    }


def endpoint_requests(d: Daemon, c: Container) -> list[Any]:
    """At container start: what the controller connects, first network first; a network
    removed since create fails the start with Docker's message."""
    from sangja.network.controller import EndpointRequest

    configs = c.endpoints_config or {"bridge": {}}
    out = []
    for name, cfg in configs.items():
        try:
            n = find_network(d, str(cfg.get("NetworkID") or name))
        except NotFound:
            raise NotFound(f"network {name} not found") from None
        if isinstance(n, dict):
            continue
        ipam = cfg.get("IPAMConfig") or {}
        out.append(EndpointRequest(n.id, str(ipam.get("IPv4Address") or ""), str(ipam.get("IPv6Address") or "")))
    return out


# -- the verbs ----------------------------------------------------------------------------------
def _labels(where: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidParameter(f"invalid JSON: {where} must be an object of strings")
    return dict(value)


async def create_network(d: Daemon, body: dict[str, Any]) -> dict[str, Any]:
    name = body.get("Name")
    if not isinstance(name, str) or not name:
        raise InvalidParameter("invalid name: name is required")
    if not _NAME.match(name):
        raise InvalidParameter(f'invalid network name "{name}": must match [a-zA-Z0-9][a-zA-Z0-9_.-]')
    driver = body.get("Driver") or "bridge"
    if driver != "bridge":
        if driver in ("host", "null"):
            raise Forbidden(f"only one instance of \"{driver}\" network is allowed")
        raise NotFound(f'plugin "{driver}" not found')
    if d.network is None:
        raise SangjaError("networking is not available in this daemon")
    labels = _labels("Labels", body.get("Labels"))
    options = _labels("Options", body.get("Options"))
    net = await asyncio.to_thread(
        d.network.create_network, name, body.get("IPAM"), bool(body.get("Internal")), labels, options,
        bool(body.get("EnableIPv6")),
    )
    await _sync_dns(d)
    d.events.publish("network", "create", net.id, {"name": net.name, "type": "bridge"})
    return {"Id": net.id, "Warning": ""}


def _match(d: Daemon, view: dict[str, Any], builtin: bool, f: dict[str, list[str]]) -> bool:
    for key, values in f.items():
        if key == "name" and not any(v in view["Name"] for v in values):
            return False
        if key == "id" and not any(view["Id"].startswith(v) for v in values):
            return False
        if key == "driver" and view["Driver"] not in values:
            return False
        if key == "scope" and view["Scope"] not in values:
            return False
        if key == "type":
            for v in values:
                if v not in ("custom", "builtin"):
                    raise InvalidParameter(f"invalid filter: 'type'='{v}'")
            if ("builtin" if builtin else "custom") not in values:
                return False
        if key == "label" and not all(_label_match(view["Labels"], v) for v in values):
            return False
        if key == "dangling":
            dangling = values[-1].lower() in ("1", "true")
            if builtin or (not view["Containers"]) != dangling:
                return False
    return True


def _label_match(labels: dict[str, str], cond: str) -> bool:
    key, eq, value = cond.partition("=")
    return key in labels and (not eq or labels[key] == value)


def list_networks(d: Daemon, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
    for key in filters:
        if key not in LIST_FILTERS:
            raise InvalidParameter(f"invalid filter '{key}'")
    out = []
    items: list[BridgeState | dict[str, Any]] = [*_networks(d), *_pseudo(d).values()]
    for n in items:
        view = network_view(d, n, with_containers="dangling" in filters)
        builtin = isinstance(n, dict) or n.is_default
        if _match(d, view, builtin, filters):
            if "dangling" in filters:
                view["Containers"] = {}
            out.append(view)
    return out


def inspect_network(d: Daemon, ref: str) -> dict[str, Any]:
    return network_view(d, find_network(d, ref))


async def remove_network(d: Daemon, ref: str) -> None:
    n = find_network(d, ref)
    if isinstance(n, dict) or n.is_default:
        name = n["Name"] if isinstance(n, dict) else n.name
        raise Forbidden(f"{name} is a pre-defined network and cannot be removed")
    assert d.network is not None
    await asyncio.to_thread(d.network.remove_network, n.id)
    await _sync_dns(d)
    d.events.publish("network", "destroy", n.id, {"name": n.name, "type": "bridge"})


async def prune_networks(d: Daemon, filters: dict[str, list[str]]) -> dict[str, Any]:
    for key in filters:
        if key not in PRUNE_FILTERS:
            raise InvalidParameter(f"invalid filter '{key}'")
    deleted: list[str] = []
    for n in list(_networks(d)):
        if n.is_default:
            continue
        if not all(_label_match(n.labels, v) for v in filters.get("label", [])):
            continue
        if any(_label_match(n.labels, v) for v in filters.get("label!", [])):
            continue
        assert d.network is not None
        if d.network.endpoints_of(n.id):
            continue
        try:
            await asyncio.to_thread(d.network.remove_network, n.id)
        except Conflict:
            continue
        d.events.publish("network", "destroy", n.id, {"name": n.name, "type": "bridge"})
        deleted.append(n.name)
    await _sync_dns(d)
    return {"NetworksDeleted": deleted}


async def _sync_dns(d: Daemon) -> None:
    """The embedded DNS server listens on exactly the user networks there are now."""
    from sangja.daemon.network_dns import sync_dns

    await sync_dns(d)


async def _rebuild_resolv_conf(d: Daemon, c: Container) -> None:
    """The embedded DNS in resolv.conf once on a user network, the host's resolvers once off all."""
    from sangja.daemon.network_resolv import rebuild_resolv_conf

    await rebuild_resolv_conf(d, c)


def _container(d: Daemon, ref: Any) -> Container:
    if not isinstance(ref, str) or not ref:
        raise InvalidParameter("invalid JSON: Container is required")
    c = d.containers.find(ref)
    if c is None:
        raise NotFound(f"No such container: {ref}")
    return c


async def connect_container(d: Daemon, ref: str, body: dict[str, Any]) -> None:
    n = find_network(d, ref)
    c = _container(d, body.get("Container"))
    mode = str(c.host_config.get("NetworkMode") or "bridge")
    if isinstance(n, dict) or mode == "host":
        raise Forbidden("container cannot be disconnected from host network or connected to host network")
    if mode == "none":
        raise Forbidden(
            "container cannot be connected to multiple networks with one of the networks in private (none) mode"
        )
    if is_container_mode(mode):
        raise Forbidden("container sharing network namespace with another container or host cannot be "
                        "connected to any other network")
    cfg = _endpoint_config(n, body.get("EndpointConfig") or {})
    async with d.lock(c.id):
        configs = dict(c.endpoints_config or {"bridge": {"NetworkID": d.network.network_id if d.network else ""}})
        if n.name in configs:
            raise Forbidden(f"endpoint with name {c.name.lstrip('/')} already exists in network {n.name}")
        if c.state.running and d.network is not None and c.network.get("SandboxKey"):
            from sangja.network.controller import EndpointRequest

            ipam = cfg.get("IPAMConfig") or {}
            c.network = await asyncio.to_thread(
                d.network.connect_endpoint, c.id,
                EndpointRequest(n.id, str(ipam.get("IPv4Address") or ""), str(ipam.get("IPv6Address") or "")),
                c.network,
            )
            await _rebuild_resolv_conf(d, c)
        configs[n.name] = cfg
        c.endpoints_config = configs
        d.containers.save(c)
    d.events.publish("network", "connect", n.id, {"container": c.id, "name": n.name, "type": "bridge"})


async def disconnect_container(d: Daemon, ref: str, body: dict[str, Any]) -> None:
    n = find_network(d, ref)
    c = _container(d, body.get("Container"))
    if isinstance(n, dict):
        raise Forbidden("container cannot be disconnected from host network or connected to host network")
    async with d.lock(c.id):
        mode = str(c.host_config.get("NetworkMode") or "bridge")
        configs = dict(c.endpoints_config or ({"bridge": {}} if mode == "bridge" else {}))
        if n.name not in configs:
            raise Forbidden(f"container {c.id} is not connected to network {n.name}")
        if c.state.running and d.network is not None:
            c.network = await asyncio.to_thread(d.network.disconnect_endpoint, c.id, n.id, c.network)
            await _rebuild_resolv_conf(d, c)
        del configs[n.name]
        c.endpoints_config = configs
        d.containers.save(c)
    d.events.publish("network", "disconnect", n.id, {"container": c.id, "name": n.name, "type": "bridge"})
