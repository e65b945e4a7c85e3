"""Published ports: from HostConfig.PortBindings to reserved host ports.

A host port is *reserved* by binding a socket to it (never listening or reading: the
traffic itself is DNATed by the kernel before it could reach that socket). The bind is
what makes a port that another process, or another container, already holds fail with
Docker's error, and what keeps other programs from taking a published port later.
While sangjad is down the reservations lapse, the forwarding does not; they are taken
again when it starts.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any

from sangja.errors import InvalidParameter, SangjaError

PROTOS = ("tcp", "udp")


@dataclass(frozen=True)
class Binding:
    """One wanted mapping; host_port 0 = any free port, (lo, hi) a range to pick from."""

    proto: str
    container_port: int
    host_ip: str
    host_lo: int
    host_hi: int


@dataclass(frozen=True)
class Mapping:
    """One mapping as allocated."""

    proto: str
    container_port: int
    host_ip: str  # "" = every address (shown as 0.0.0.0); "::" every IPv6 address
    host_port: int

    def to_json(self) -> dict[str, Any]:
        return {"proto": self.proto, "container_port": self.container_port, "host_ip": self.host_ip,
                "host_port": self.host_port}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Mapping:
        return cls(str(d["proto"]), int(d["container_port"]), str(d["host_ip"]), int(d["host_port"]))


def _port(text: str, what: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise InvalidParameter(f"invalid {what}: {text}") from None
    if not 0 <= n <= 65535:
        raise InvalidParameter(f"invalid {what}: {text}")
    return n


def parse_container_port(key: str) -> tuple[int, str]:
    """"80/tcp" → (80, "tcp")."""
    port, _, proto = key.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in (*PROTOS, "sctp"):
        raise InvalidParameter(f"invalid proto: {proto}")
    n = _port(port, "containerPort")
    if n == 0:
        raise InvalidParameter(f"invalid containerPort: {port}")
    return n, proto


def is_ipv6(host_ip: str) -> bool:
    return ":" in host_ip


def _host_ip(text: str, key: str) -> str:
    """A binding's HostIp, validated; an IPv6 one in its canonical form ("::" = every IPv6 address)."""
    if not text:
        return ""
    try:
        socket.inet_pton(socket.AF_INET, text)
        return text
    except OSError:
        pass
    try:
        packed = socket.inet_pton(socket.AF_INET6, text)
    except OSError:
        raise InvalidParameter(f"invalid IP address: {text}") from None
    canonical = socket.inet_ntop(socket.AF_INET6, packed)
    if ipaddress.IPv6Address(canonical).ipv4_mapped is not None:
        raise InvalidParameter(f"invalid IP address: {text}: use the IPv4 address instead")
    if canonical == "::1":  # network/ipv6.py: the kernel cannot DNAT a connection to ::1
        raise InvalidParameter(
            f"cannot publish port {key} on [::1]: a connection to the IPv6 loopback address cannot be "
            "forwarded to a container (sangja has no userland proxy); publish on [::] or another IPv6 address"
        )
    return canonical


def bindings_from(host_config: dict[str, Any], exposed: dict[str, Any] | None) -> list[Binding]:
    """The wanted mappings of a container (-p, and -P for its exposed ports); validates them."""
    out: list[Binding] = []
    wanted: dict[str, list[dict[str, Any]]] = dict(host_config.get("PortBindings") or {})
    if host_config.get("PublishAllPorts"):
        for key in exposed or {}:
            wanted.setdefault(key, [{"HostIp": "", "HostPort": ""}])
    for key, hosts in sorted(wanted.items()):
        cport, proto = parse_container_port(key)
        if proto == "sctp":
            raise InvalidParameter("sctp ports are not supported")
        for h in hosts or [{"HostIp": "", "HostPort": ""}]:
            host_ip = _host_ip(str(h.get("HostIp") or ""), key)
            text = str(h.get("HostPort") or "")
            lo_s, _, hi_s = text.partition("-")
            lo = _port(lo_s, "hostPort") if lo_s else 0
            hi = _port(hi_s, "hostPort") if hi_s else lo
            if hi < lo:
                raise InvalidParameter(f"invalid hostPort: {text}")
            out.append(Binding(proto, cport, "" if host_ip == "0.0.0.0" else host_ip, lo, hi))
    return out


def require_ipv6(bindings: list[Binding], address6: str, network_name: str) -> None:
    """A binding on an IPv6 host address needs a container IPv6 address to DNAT to (the kernel
    does not translate IPv6 to IPv4): refused before any port is taken, never skipped."""
    if address6:
        return
    for b in bindings:
        if is_ipv6(b.host_ip):
            port = str(b.host_lo or "") if b.host_lo == b.host_hi else f"{b.host_lo}-{b.host_hi}"
            raise InvalidParameter(
                f"cannot publish [{b.host_ip}]:{port}:{b.container_port}/{b.proto}: the container has no "
                f"IPv6 address on network {network_name}; publishing on an IPv6 host address needs a "
                "network with IPv6 enabled (network create --ipv6)"
            )


def validate(host_config: dict[str, Any], exposed: dict[str, Any] | None) -> None:
    bindings_from(host_config, exposed)


class PortReservations:
    """Host ports held by sangjad, by container."""

    def __init__(self) -> None:
        self._held: dict[str, list[socket.socket]] = {}

    def reserve(self, owner: str, bindings: list[Binding], endpoint_name: str, v6: bool = False) -> list[Mapping]:
        """Bind every wanted host port; all or nothing. With `v6` (the container has an IPv6
        address, so "-p 8080:80" is DNATed on IPv6 too) a binding with no host IP holds the port
        on [::] as well, as dockerd does, so that "-p [::]:8080:80" elsewhere conflicts with it."""
        socks: list[socket.socket] = []
        out: list[Mapping] = []
        try:
            for b in bindings:
                if v6 and not b.host_ip:
                    port, both = self._bind_both(b, endpoint_name)
                    socks.extend(both)
                else:
                    port, sock = self._bind_one(b, endpoint_name)
                    socks.append(sock)
                out.append(Mapping(b.proto, b.container_port, b.host_ip, port))
        except BaseException:
            for s in socks:
                s.close()
            raise
        self._held.setdefault(owner, []).extend(socks)
        return out

    def retake(self, owner: str, mappings: list[Mapping], v6: bool = False) -> None:
        """After a daemon restart: hold again what a running container already has (best effort)."""
        for m in mappings:
            ips = [m.host_ip, "::"] if v6 and not m.host_ip else [m.host_ip]
            for ip in ips:
                try:
                    _, sock = self._bind_one(Binding(m.proto, m.container_port, ip, m.host_port, m.host_port), "")
                except SangjaError:
                    continue
                self._held.setdefault(owner, []).append(sock)

    def _bind_both(self, b: Binding, endpoint_name: str) -> tuple[int, list[socket.socket]]:
        """The port on 0.0.0.0 and the same one on [::]; an ephemeral port is picked again (a few
        times) when its IPv6 side happens to be taken."""
        for attempt in range(8 if b.host_lo == 0 else 1):
            port, sock4 = self._bind_one(b, endpoint_name)
            try:
                _, sock6 = self._bind_one(Binding(b.proto, b.container_port, "::", port, port), endpoint_name)
            except SangjaError:
                sock4.close()
                if attempt == (7 if b.host_lo == 0 else 0):
                    raise
                continue
            return port, [sock4, sock6]
        raise AssertionError("unreachable")

    def release(self, owner: str) -> None:
        for s in self._held.pop(owner, []):
            s.close()

    def release_all(self) -> None:
        for owner in list(self._held):
            self.release(owner)

    def _bind_one(self, b: Binding, endpoint_name: str) -> tuple[int, socket.socket]:
        kind = socket.SOCK_STREAM if b.proto == "tcp" else socket.SOCK_DGRAM
        shown_ip = b.host_ip or "0.0.0.0"
        v6 = is_ipv6(b.host_ip)
        candidates = [0] if b.host_lo == 0 else list(range(b.host_lo, b.host_hi + 1))
        last: OSError | None = None
        for port in candidates:
            s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, kind)
            try:
                if v6:  # "::" holds the IPv6 port only; 0.0.0.0 is a binding of its own
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.bind((shown_ip, port))
            except OSError as exc:
                s.close()
                last = exc
                continue
            return s.getsockname()[1], s
        if last is not None and last.errno == errno.EADDRINUSE:
            port_text = str(b.host_lo) if b.host_lo == b.host_hi else f"{b.host_lo}-{b.host_hi}"
            # moby's portallocator prints the address bare, IPv6 too ("Bind for :::8080 failed")
            raise SangjaError(
                f"driver failed programming external connectivity on endpoint {endpoint_name}: "
                f"Bind for {shown_ip}:{port_text} failed: port is already allocated"
            )
        addr = f"[{shown_ip}]" if v6 else shown_ip  # Go's net.OpError brackets an IPv6 host
        if last is not None and last.errno == errno.EADDRNOTAVAIL:
            raise SangjaError(
                f"driver failed programming external connectivity on endpoint {endpoint_name}: "
                f"listen {b.proto}{6 if v6 else 4} {addr}:{b.host_lo}: bind: cannot assign requested address"
            )
        raise SangjaError(f"cannot publish {addr}:{b.host_lo}/{b.proto}: {last}")
