"""The hooks that give a container its network at start and take it back at exit/stop/remove.

Only bridge-mode containers get a sandbox (a netns file with a veth on the default
bridge, published ports, rules); "host" and "none" need nothing from the network layer.
The container's record keeps what was allocated (`Container.network`), which is what
inspect/ps show and what a restarted daemon restores from.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sangja.daemon.container import Container
from sangja.daemon.daemon import Daemon
from sangja.daemon.network_container import is_container_mode
from sangja.daemon.network_verbs import endpoint_requests
from sangja.network.portmap import bindings_from, validate


def _uses_bridge(d: Daemon, c: Container) -> bool:
    """Bridge mode or a user-defined network (a name that is not host/none/container:)."""
    net = d.network
    mode = str(c.host_config.get("NetworkMode", "bridge"))
    return net is not None and net.enabled and mode not in ("host", "none") and not is_container_mode(mode)


def validate_ports(hc: dict[str, Any], config: dict[str, Any]) -> None:
    """Bad -p specs fail at create (InvalidParameter), not at start."""
    validate(hc, config.get("ExposedPorts"))


async def attach_sandbox(d: Daemon, c: Container) -> None:
    """Before `runtime.create`: sandbox, endpoint, published ports; recorded on the container."""
    if is_container_mode(str(c.host_config.get("NetworkMode", ""))):
        from sangja.daemon.network_container import join_network_of

        join_network_of(d, c)  # the other container's namespace: no sandbox of its own
        return
    if not _uses_bridge(d, c):
        return
    assert d.network is not None
    bindings = bindings_from(c.host_config, c.config.get("ExposedPorts"))
    requests = endpoint_requests(d, c)
    c.network = await asyncio.to_thread(d.network.connect, c.id, c.name.lstrip("/"), bindings, requests)
    from sangja.daemon.network_dns import embedded_dns_address

    server = embedded_dns_address(d, c)  # a user-defined network: resolv.conf names the embedded DNS
    if server:
        c.network["DnsServer"] = server


async def release_sandbox(d: Daemon, c: Container) -> None:
    """Undo attach_sandbox; safe to call when there is nothing to undo."""
    if c.network.get("JoinedNetns"):  # --network container:…: nothing of its own to release
        c.network = {}
        return
    if d.network is None or not d.network.enabled:
        c.network = {}
        return
    if c.network or _uses_bridge(d, c):
        await asyncio.to_thread(d.network.disconnect, c.id)
    c.network = {}


def runtime_network_mode(c: Container) -> str:
    """What runtime.spec gets: the sandbox's netns file for a bridge container."""
    mode = str(c.host_config.get("NetworkMode", "bridge"))
    if mode == "host":
        return "host"
    key = c.network.get("SandboxKey") or c.network.get("JoinedNetns")
    return f"netns:{key}" if key else "none"


async def restore_networks(d: Daemon) -> None:
    """After reconciliation: the running containers' endpoints are kept, everything else goes."""
    if d.network is None:
        return
    running = {c.id: c.network for c in d.containers if c.state.running and c.network}
    await asyncio.to_thread(d.network.restore, running)
