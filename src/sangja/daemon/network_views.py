"""NetworkSettings.Networks of a container: one EndpointSettings per network it is on.

The configured networks come from `Container.endpoints_config` (in order: the first is the
NetworkMode network), the runtime fields (address, MAC, endpoint ID) from its `network`
record while it runs; a stopped container shows its networks with empty runtime fields,
as Docker does.
"""

from __future__ import annotations

from typing import Any

from sangja.daemon.container import Container
from sangja.daemon.network_container import is_container_mode


def endpoint_views(c: Container) -> dict[str, Any] | None:
    """NetworkSettings.Networks of a bridge/user-network container; None for the other modes."""
    mode = str(c.host_config.get("NetworkMode") or "bridge")
    if is_container_mode(mode):
        return {}  # dockerd: a container in another's namespace has no endpoint of its own
    if mode in ("host", "none"):
        return None
    configs = c.endpoints_config or {"bridge": {}}
    live = c.network.get("Endpoints") or {}
    out: dict[str, Any] = {}
    for name, cfg in configs.items():
        nid = cfg.get("NetworkID") or (c.network.get("NetworkID", "") if name == "bridge" else "")
        ep = live.get(nid) or {}
        if not ep and name == "bridge" and c.network.get("IPAddress") and not live:
            ep = c.network  # a record from before user-defined networks
        view: dict[str, Any] = {
            "MacAddress": ep.get("MacAddress", ""),
            "NetworkID": nid or ep.get("NetworkID", ""),
            "EndpointID": ep.get("EndpointID", ""),
            "Gateway": ep.get("Gateway", ""),
            "IPAddress": ep.get("IPAddress", ""),
            "IPPrefixLen": ep.get("IPPrefixLen", 0),
            "IPv6Gateway": ep.get("IPv6Gateway", ""),
            "GlobalIPv6Address": ep.get("GlobalIPv6Address", ""),
            "GlobalIPv6PrefixLen": ep.get("GlobalIPv6PrefixLen", 0),
        }
        if cfg.get("IPAMConfig"):
            view["IPAMConfig"] = cfg["IPAMConfig"]
        if name != "bridge":
            view["Aliases"] = list(cfg.get("Aliases") or []) or None
            view["DNSNames"] = [c.name.lstrip("/"), c.id[:12], *(cfg.get("Aliases") or [])]
            if view["Aliases"] is None:
                del view["Aliases"]
        out[name] = view
    return out
