"""`--network container:<name|id>`: a container that joins another container's network namespace.

As in dockerd (daemon/container_operations.go, runconfig/hostconfig.go):

- at create, the request is checked by moby's validateNetContainerMode (no --hostname, --dns,
  --add-host, -p/-P, --expose, --mac-address, --network-alias with this mode) and the mode is
  rewritten to `container:<full id>` when the container exists (adaptSharedNamespaceContainer),
  so that a rename of the other container does not break the link; a container that does not
  exist yet is accepted and fails the *start*, like dockerd;
- at start, the other container must be running (getNetworkedContainer's errors); the joiner's
  spec gets the namespace path `/proc/<pid>/ns/net` of the other container's init, and it
  shares that container's /etc/hostname, /etc/hosts and /etc/resolv.conf files and its
  Hostname/Domainname (initializeNetworkingPaths);
- it owns no sandbox, endpoint or port: NetworkSettings.Networks is empty, connect is refused.

When the other container restarts it gets a new namespace; the joiner stays in the old one
(only `lo` is left in it) until it is restarted itself — dockerd behaves the same.
"""

from __future__ import annotations

from typing import Any

from sangja.daemon.container import Container
from sangja.daemon.daemon import Daemon
from sangja.errors import Conflict, InvalidParameter, NotFound, SangjaError

PREFIX = "container:"

# runconfig/errors.go
CONFLICT_HOSTNAME = "conflicting options: hostname and the network mode"
CONFLICT_LINKS = (
    "conflicting options: container type network can't be used with links. This would result in undefined behavior"
)
CONFLICT_DNS = "conflicting options: dns and the network mode"
CONFLICT_HOSTS = "conflicting options: custom host-to-IP mapping and the network mode"
CONFLICT_PUBLISH = "conflicting options: port publishing and the container type network mode"
CONFLICT_EXPOSE = "conflicting options: port exposing and the container type network mode"
CONFLICT_MAC = "conflicting options: mac-address and the network mode"
UNSUPPORTED_ALIAS = "network-scoped alias is supported only for containers in user defined networks"
UNSUPPORTED_IP = "user specified IP address is supported on user defined networks only"


def is_container_mode(mode: str) -> bool:
    """moby's NetworkMode.IsContainer (plus the bare word "container", which its validation
    also treats as the container mode with no container)."""
    return mode == "container" or mode.startswith(PREFIX)


def connected_container(mode: str) -> str:
    """The name or ID after `container:` ("" when there is none)."""
    return mode[len(PREFIX):] if mode.startswith(PREFIX) else ""


def validate_container_mode(cfg: dict[str, Any], hc: dict[str, Any], networking_config: Any) -> None:
    """moby's validateNetContainerMode on the request (before the image's config is merged in:
    an image's EXPOSE does not conflict), plus the MAC address and alias checks of the API."""
    mode = str(hc.get("NetworkMode") or "")
    if not is_container_mode(mode):
        return
    if not connected_container(mode):
        raise InvalidParameter("invalid network mode: invalid container format container:<name|id>")
    if cfg.get("Hostname"):
        raise InvalidParameter(CONFLICT_HOSTNAME)
    if hc.get("Links"):
        raise InvalidParameter(CONFLICT_LINKS)
    if hc.get("Dns"):
        raise InvalidParameter(CONFLICT_DNS)
    if hc.get("ExtraHosts"):
        raise InvalidParameter(CONFLICT_HOSTS)
    if hc.get("PortBindings") or hc.get("PublishAllPorts"):
        raise InvalidParameter(CONFLICT_PUBLISH)
    if cfg.get("ExposedPorts"):
        raise InvalidParameter(CONFLICT_EXPOSE)
    if cfg.get("MacAddress"):
        raise InvalidParameter(CONFLICT_MAC)
    endpoints = networking_config.get("EndpointsConfig") if isinstance(networking_config, dict) else None
    for name, ep in (endpoints or {}).items():
        if not isinstance(ep, dict):
            continue
        if ep.get("Aliases"):
            raise InvalidParameter(f"invalid config for network {name}: {UNSUPPORTED_ALIAS}")
        ipam = ep.get("IPAMConfig") or {}
        if isinstance(ipam, dict) and (ipam.get("IPv4Address") or ipam.get("IPv6Address")):
            raise InvalidParameter(f"invalid config for network {name}: {UNSUPPORTED_IP}")
        if ep.get("MacAddress"):
            raise InvalidParameter(CONFLICT_MAC)


def adapt_container_mode(d: Daemon, hc: dict[str, Any]) -> None:
    """`container:<name>` → `container:<full id>` when that container exists (else left as is:
    the start reports it)."""
    ref = connected_container(str(hc.get("NetworkMode") or ""))
    if not ref:
        return
    other = d.containers.find(ref)
    if other is not None:
        hc["NetworkMode"] = PREFIX + other.id


def networked_container(d: Daemon, c: Container) -> Container:
    """The container whose namespace `c` joins, checked like moby's getNetworkedContainer."""
    ref = connected_container(str(c.host_config.get("NetworkMode") or ""))
    try:
        other = d.containers.get(ref)
    except (NotFound, InvalidParameter) as exc:
        # dockerd masks these as a system error: the mode was accepted at create.
        raise SangjaError(f"joining network namespace of container: {exc.message}") from None
    if other.id == c.id:
        raise SangjaError("cannot join own network namespace")
    if other.state.status == "restarting":
        raise SangjaError(
            f"cannot join network namespace of container: Container {ref} is restarting, "
            "wait until the container is running"
        )
    if not other.state.running or other.state.pid <= 0:
        raise Conflict(
            "cannot join network namespace of a non running container: "
            f"container {other.name.lstrip('/')} is {other.state.status}"
        )
    return other


def join_network_of(d: Daemon, c: Container) -> None:
    """At start, instead of a sandbox: the other container's namespace and /etc files."""
    other = networked_container(d, c)
    c.hostname_path = other.hostname_path
    c.hosts_path = other.hosts_path
    c.resolv_conf_path = other.resolv_conf_path
    c.config["Hostname"] = other.config.get("Hostname") or ""
    c.config["Domainname"] = other.config.get("Domainname") or ""
    c.network = {"JoinedNetns": f"/proc/{other.state.pid}/ns/net"}
