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
    host_ip: str  # "" = every address (shown as 0.0.0.0)
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
            host_ip = str(h.get("HostIp") or "")
            if host_ip:
                try:
                    socket.inet_pton(socket.AF_INET, host_ip)
                except OSError:
                    if ":" in host_ip:
                        continue  # an IPv6 binding: this host's bridge is IPv4-only (Docker skips it too)
                    raise InvalidParameter(f"invalid IP address: {host_ip}") from None
            text = str(h.get("HostPort") or "")
            lo_s, _, hi_s = text.partition("-")
            lo = _port(lo_s, "hostPort") if lo_s else 0
            hi = _port(hi_s, "hostPort") if hi_s else lo
            if hi < lo:
                raise InvalidParameter(f"invalid hostPort: {text}")
            out.append(Binding(proto, cport, "" if host_ip == "0.0.0.0" else host_ip, lo, hi))
    return out


def validate(host_config: dict[str, Any], exposed: dict[str, Any] | None) -> None:
    bindings_from(host_config, exposed)


class PortReservations:
    """Host ports held by sangjad, by container."""

    def __init__(self) -> None:
        self._held: dict[str, list[socket.socket]] = {}

    def reserve(self, owner: str, bindings: list[Binding], endpoint_name: str) -> list[Mapping]:
        """Bind every wanted host port; all or nothing."""
        socks: list[socket.socket] = []
        out: list[Mapping] = []
        try:
            for b in bindings:
                port, sock = self._bind_one(b, endpoint_name)
                socks.append(sock)
                out.append(Mapping(b.proto, b.container_port, b.host_ip, port))
        except BaseException:
            for s in socks:
                s.close()
            raise
        self._held.setdefault(owner, []).extend(socks)
        return out

    def retake(self, owner: str, mappings: list[Mapping]) -> None:
        """After a daemon restart: hold again what a running container already has (best effort)."""
        for m in mappings:
            try:
                _, sock = self._bind_one(Binding(m.proto, m.container_port, m.host_ip, m.host_port, m.host_port), "")
            except SangjaError:
                continue
            self._held.setdefault(owner, []).append(sock)

    def release(self, owner: str) -> None:
        for s in self._held.pop(owner, []):
            s.close()

    def release_all(self) -> None:
        for owner in list(self._held):
            self.release(owner)

    def _bind_one(self, b: Binding, endpoint_name: str) -> tuple[int, socket.socket]:
        kind = socket.SOCK_STREAM if b.proto == "tcp" else socket.SOCK_DGRAM
        shown_ip = b.host_ip or "0.0.0.0"
        candidates = [0] if b.host_lo == 0 else list(range(b.host_lo, b.host_hi + 1))
        last: OSError | None = None
        for port in candidates:
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind((b.host_ip or "0.0.0.0", port))
            except OSError as exc:
                s.close()
                last = exc
                continue
            return s.getsockname()[1], s
        if last is not None and last.errno == errno.EADDRINUSE:
            port_text = str(b.host_lo) if b.host_lo == b.host_hi else f"{b.host_lo}-{b.host_hi}"
            raise SangjaError(
                f"driver failed programming external connectivity on endpoint {endpoint_name}: "
                f"Bind for {shown_ip}:{port_text} failed: port is already allocated"
            )
        if last is not None and last.errno == errno.EADDRNOTAVAIL:
            raise SangjaError(
                f"driver failed programming external connectivity on endpoint {endpoint_name}: "
                f"listen {b.proto}4 {shown_ip}:{b.host_lo}: bind: cannot assign requested address"
            )
        raise SangjaError(f"cannot publish {shown_ip}:{b.host_lo}/{b.proto}: {last}")
