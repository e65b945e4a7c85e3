"""Kernel side of IPv6 on a bridge network: the bridge's gateway address, a container's address
and default route inside its sandbox (netlink through pyroute2, as network/sandbox.py).

Addresses are added with IFA_F_NODAD: duplicate address detection would leave them
"tentative" (unusable) for about a second, and the engine's IPAM already guarantees they are
unique on the bridge. IPv6 forwarding is turned on for the host when the first IPv6 network
is set up, as dockerd does (this stops the host from honouring router advertisements on
interfaces whose accept_ra is 1).
"""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from sangja.host import netns

IFA_F_NODAD = 0x02


def _sysctl(key: str, value: str) -> None:
    with contextlib.suppress(OSError):
        Path("/proc/sys", key).write_text(value)


def ensure_bridge6(name: str, gateway6: str, prefixlen: int) -> None:
    """Give the (existing) bridge its IPv6 gateway address; IPv6 enabled on it, forwarding on."""
    _sysctl(f"net/ipv6/conf/{name}/disable_ipv6", "0")
    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found:
            raise OSError(f"bridge {name} does not exist")
        have = {a.get_attr("IFA_ADDRESS") for a in ipr.get_addr(index=found[0], family=socket.AF_INET6)}
        if gateway6 not in have:
            try:
                ipr.addr("add", index=found[0], address=gateway6, prefixlen=prefixlen, flags=IFA_F_NODAD)
            except NetlinkError as exc:
                if exc.code != 17:  # EEXIST
                    raise
    _sysctl("net/ipv6/conf/all/forwarding", "1")
    _sysctl("net/ipv6/conf/default/forwarding", "1")


def add_endpoint6(path: Path, ifname: str, address6: str, prefixlen: int, gateway6: str) -> None:
    """Inside the sandbox at `path`: `address6` on `ifname`, and the default route via `gateway6`
    when it is given. Runs in a short-lived thread that enters the namespace and exits."""
    def work() -> None:
        netns.enter(path)
        with IPRoute() as ns:
            idx = ns.link_lookup(ifname=ifname)[0]
            ns.addr("add", index=idx, address=address6, prefixlen=prefixlen, flags=IFA_F_NODAD)
            if gateway6:
                ns.route("add", dst="::/0", gateway=gateway6, oif=idx, family=socket.AF_INET6)

    netns.in_own_thread(f"netns6-{path.name[:12]}", work)
