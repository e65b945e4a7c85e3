"""A running container's resolv.conf after `network connect`/`disconnect` (libnetwork's rebuildDNS).

A container started on the default bridge only has the host's resolvers. When it joins its
first user-defined network, dockerd starts the sandbox's embedded resolver and rewrites the
container's resolv.conf to name it, so the container resolves the names of that network;
sangja does the same with its embedded DNS address (the first user network's gateway).

dockerd never undoes that: its resolver lives in the container's namespace and keeps
forwarding after the last user network is left. sangja's listens on the network's gateway and
answers only queries from that network's subnet, so a container that leaves the network whose
gateway its resolv.conf names gets the address on another user network it is still on, or the
resolv.conf of a default-bridge container again: external names resolve either way, the left
network's names no longer do — as with dockerd.

As in rebuildDNS, a file the user modified is not touched: the current content must be what
sangja wrote for the previous server. The file is rewritten in place (same inode), since it is
bind-mounted into the container (and shared with containers in its namespace).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from sangja.daemon.container import Container
from sangja.daemon.daemon import Daemon
from sangja.daemon.etcfiles import resolv_conf_for

log = logging.getLogger(__name__)

HOST_RESOLV_CONF = "/etc/resolv.conf"  # what write_etc_files starts from


def resolv_conf_content(c: Container, host_resolv: str, server: str) -> str:
    hc = c.host_config
    return resolv_conf_for(
        host_resolv, str(hc.get("NetworkMode", "bridge")), hc.get("Dns"), hc.get("DnsSearch"), hc.get("DnsOptions"),
        server,
    )


def rewrite_if_unmodified(path: Path, expected: str, content: str) -> bool:
    """Replace the file's content in place when it still is `expected`; False when it is not
    (modified by the user, or gone)."""
    try:
        with open(path, "r+", encoding="utf-8") as f:
            if f.read() != expected:
                return False
            f.seek(0)
            f.write(content)
            f.truncate()
    except OSError:
        return False
    return True


def _host_resolv() -> str:
    try:
        return Path(HOST_RESOLV_CONF).read_text()
    except OSError:
        return ""


async def rebuild_resolv_conf(d: Daemon, c: Container) -> None:
    """After the running container `c`'s endpoints changed: point its resolv.conf at the
    embedded DNS of its first user-defined network, or back at the host's resolvers."""
    from sangja.daemon.network_dns import embedded_dns_address

    if not c.state.running or not c.resolv_conf_path or not c.network.get("SandboxKey"):
        return
    old = str(c.network.get("DnsServer") or "")
    new = embedded_dns_address(d, c)
    if new == old:
        return
    host = await asyncio.to_thread(_host_resolv)
    done = await asyncio.to_thread(
        rewrite_if_unmodified, Path(c.resolv_conf_path), resolv_conf_content(c, host, old),
        resolv_conf_content(c, host, new),
    )
    if not done:
        log.info("resolv.conf of %s was modified, left as is", c.short_id)
        return
    if new:
        c.network["DnsServer"] = new
    else:
        c.network.pop("DnsServer", None)
