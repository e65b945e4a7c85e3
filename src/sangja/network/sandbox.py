"""Kernel side of a container's network: the bridge, the sandbox (a netns file) and its veth endpoint.

Words as in libnetwork: the *sandbox* is the container's network namespace, kept as a
bind-mounted file (`<exec-root>/netns/<id>`) so that it outlives both the container's
processes and sangjad; an *endpoint* is the veth pair joining it to the bridge.

All netlink calls go through pyroute2 (no `ip` processes); an endpoint's, on every
container start, as batches of pyroute2's messages on plain sockets (network/rtnl.py). The
namespace is made in a short-lived thread of our own: unshare(CLONE_NEWNET) moves only that
thread, which binds its new namespace to the file, opens a netlink socket there (a socket
stays in the namespace it was created in) and exits — so no pool thread is ever left in
another netns.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import time
from dataclasses import dataclass
from pathlib import Path

from sangja.host import netns
from sangja.host.pyroute2_lazy import IPRoute, NetlinkError  # not pyroute2's __init__: ~5 MB
from sangja.network import rtnl, teardown


@dataclass(frozen=True)
class Endpoint:
    """What a container's endpoint on a bridge is: its host-side veth, address and MAC."""

    host_ifname: str
    address: str  # "172.18.0.2"
    prefixlen: int
    gateway: str
    mac: str


def veth_name(cid: str) -> str:
    """The host side's name, derived from the container ID so a restarted daemon can find it."""
    return f"sjv{cid[:11]}"


def mac_for(address: str) -> str:
    """Docker's MAC for an IPv4 endpoint: 02:42 followed by the address's four bytes."""
    return "02:42:" + ":".join(f"{int(b):02x}" for b in address.split("."))


def ensure_bridge(name: str, gateway: str, prefixlen: int) -> None:
    """Create the bridge (if missing) with the gateway address, up, with route_localnet on.

    route_localnet lets DNATed connections from 127.0.0.0/8 (localhost access to a
    published port) be routed out of the bridge; they are masqueraded on the way.
    """
    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found:
            try:
                ipr.link("add", ifname=name, kind="bridge")
            except NetlinkError as exc:
                if exc.code != errno.EEXIST:
                    raise
            found = ipr.link_lookup(ifname=name)
        idx = found[0]
        have = {a.get_attr("IFA_ADDRESS") for a in ipr.get_addr(index=idx, family=2)}
        if gateway not in have:
            ipr.addr("add", index=idx, address=gateway, prefixlen=prefixlen)
        ipr.link("set", index=idx, state="up")
    _sysctl(f"net/ipv4/conf/{name}/route_localnet", "1")
    _sysctl("net/ipv4/ip_forward", "1")


def delete_bridge(name: str) -> None:
    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=name)
        if found:
            with contextlib.suppress(NetlinkError):
                ipr.link("del", index=found[0])


def bridge_exists(name: str) -> bool:
    with IPRoute() as ipr:
        return bool(ipr.link_lookup(ifname=name))


def host_routes(exclude_ifname: str = "") -> list[ipaddress.IPv4Network]:
    """The IPv4 destinations of the host's routes (main table), except those via `exclude_ifname`
    (our own bridge), to pick subnets that collide with none."""
    out: list[ipaddress.IPv4Network] = []
    with IPRoute() as ipr:
        skip = ipr.link_lookup(ifname=exclude_ifname) if exclude_ifname else []
        for r in ipr.get_routes(family=2, table=254):
            dst = r.get_attr("RTA_DST")
            if dst is None or r.get_attr("RTA_OIF") in skip:
                continue  # the default route, or our own bridge's
            out.append(ipaddress.IPv4Network(f"{dst}/{r['dst_len']}", strict=False))
    return out


@dataclass(frozen=True)
class EndpointSpec:
    """One endpoint to add to a sandbox: a veth from `bridge` to `ifname` inside it."""

    host_ifname: str
    ifname: str  # "eth0", "eth1", ...
    bridge: str
    address: str
    prefixlen: int
    gateway: str  # "" = no default route through this endpoint (internal network, or not the first)


def create_sandbox(path: Path, cid: str, bridge: str, address: str, prefixlen: int, gateway: str) -> Endpoint:
    """Make the netns file and connect it to `bridge`; undo everything on failure."""
    return add_endpoint(path, EndpointSpec(veth_name(cid), "eth0", bridge, address, prefixlen, gateway), new=True)


def endpoint_name(cid: str, network_id: str) -> str:
    """Host-side veth of a container's endpoint on a user-defined network (15 characters)."""
    return f"sjv{cid[:6]}{network_id[:6]}"


def add_endpoint(path: Path, spec: EndpointSpec, new: bool = False) -> Endpoint:
    """Connect the sandbox at `path` to `spec.bridge` (creating the sandbox first when `new`).

    The work runs in a short-lived thread that enters the namespace (unshare for a new one,
    setns for an existing one) and exits afterwards. On failure the endpoint (and a new
    sandbox) is removed again.
    """
    try:
        return netns.in_own_thread(f"netns-{path.name[:12]}", lambda: _endpoint_in_thread(path, spec, new))
    except BaseException:
        if new:
            delete_sandbox(path, path.name, [spec.host_ifname])
        else:
            delete_link(spec.host_ifname)
            delete_link(_peer_name(spec.host_ifname))
        raise


def _peer_name(host_ifname: str) -> str:
    """The temporary host-namespace name of a peer, from before peers were made in place:
    only ever deleted (leftovers of an older sangjad)."""
    return "sjp" + host_ifname[3:]


# A veth of the same name still being destroyed (a restarted container reuses its name while
# the kernel or the reaper is still deleting the old one) is waited for this long at most.
STALE_LINK_WAIT = 2.0


def _endpoint_in_thread(path: Path, spec: EndpointSpec, new: bool) -> Endpoint:
    """Three batches of netlink requests on two sockets; no interface is moved or renamed.

    The veth is created with its peer already in the sandbox, under its final name and MAC
    (IFLA_NET_NS_FD in the peer's request), its host end enslaved and up in the same
    request: moving a link to another namespace costs ~25 ms of RCU waiting here.
    """
    mac = mac_for(spec.address)
    with rtnl.Rtnl() as host:  # opened before this thread enters the sandbox: it stays in the host's
        try:
            (bridge_index,) = host.link_index(spec.bridge)
        except NetlinkError:
            raise OSError(errno.ENODEV, f"bridge {spec.bridge} does not exist") from None
        if new:
            netns.create_in_thread(path)
        else:
            netns.enter(path)
        nsfd = os.open(path, os.O_RDONLY)
        try:
            _add_veth(host, spec, bridge_index, mac, nsfd)
        finally:
            os.close(nsfd)
    with rtnl.Rtnl() as ns:  # this thread is in the sandbox now
        lo, idx = ns.link_index("lo", spec.ifname)
        batch = [rtnl.link_up(lo)] if new else []
        batch += [rtnl.link_up(idx), rtnl.new_address(idx, spec.address, spec.prefixlen)]
        if spec.gateway:
            batch.append(rtnl.default_route(spec.gateway, idx))
        ns.run(*batch)
    return Endpoint(spec.host_ifname, spec.address, spec.prefixlen, spec.gateway, mac)


def _add_veth(host: rtnl.Rtnl, spec: EndpointSpec, bridge_index: int, mac: str, nsfd: int) -> None:
    deadline = time.monotonic() + STALE_LINK_WAIT
    while True:
        try:
            host.run(rtnl.new_veth(spec.host_ifname, bridge_index, spec.ifname, mac, nsfd))
            return
        except NetlinkError as exc:
            if exc.code != errno.EEXIST or time.monotonic() > deadline:
                raise
        with contextlib.suppress(NetlinkError):  # the old endpoint of a restarted container
            host.run(rtnl.del_link(spec.host_ifname))
        time.sleep(0.01)


def delete_sandbox(path: Path, cid: str, host_ifnames: list[str] | None = None) -> None:
    """Remove the endpoints and the netns file; whatever is already gone is fine."""
    names = [veth_name(cid), *(host_ifnames or [])]
    with IPRoute() as ipr:
        for name in dict.fromkeys(names):
            for n in (name, _peer_name(name)):
                found = ipr.link_lookup(ifname=n)
                if found:
                    with contextlib.suppress(NetlinkError):
                        ipr.link("del", index=found[0])
    netns.remove(path)


def release_sandbox(path: Path, cid: str, host_ifnames: list[str], reaper: teardown.LinkReaper) -> None:
    """Unpin the netns (which dooms the veths in it) now; the host ends are deleted by `reaper`.

    A container's exit must not wait ~35 ms per veth for the kernel; restore() at the next
    start deletes any host end the reaper did not get to.
    """
    pinned = path.exists()
    netns.remove(path)
    if pinned or host_ifnames:
        reaper.delete([veth_name(cid), *host_ifnames])


def bridge_ports(bridge: str) -> list[str]:
    """Names of the interfaces enslaved to `bridge`."""
    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=bridge)
        if not found:
            return []
        links = ipr.get_links()
        return [str(x.get_attr("IFLA_IFNAME")) for x in links if x.get_attr("IFLA_MASTER") == found[0]]


def delete_link(name: str) -> None:
    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=name)
        if found:
            with contextlib.suppress(NetlinkError):
                ipr.link("del", index=found[0])


def _sysctl(key: str, value: str) -> None:
    with contextlib.suppress(OSError):
        Path("/proc/sys", key).write_text(value)
