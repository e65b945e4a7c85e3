"""`-p`/`--expose` port specs, parsed like docker's go-connections/nat.

    exposed, bindings = parse_port_specs(["8080:80", "127.0.0.1::53/udp"])
    exposed  == {"80/tcp": {}, "53/udp": {}}
    bindings == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}], "53/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


PROTOCOLS = ("tcp", "udp", "sctp")


def parse_port_range(text: str) -> tuple[int, int]:
    start_text, dash, end_text = text.partition("-")
    try:
        start = int(start_text)
        end = int(end_text) if dash else start
    except ValueError:
        raise ValueError(text) from None
    if not 0 <= start <= 65535 or not 0 <= end <= 65535 or end < start:
        raise ValueError(text)
    return start, end


def _split_parts(raw: str) -> tuple[str, str, str]:
    parts = raw.split(":")
    n = len(parts)
    if n == 1:
        return "", "", parts[0]
    if n == 2:
        return "", parts[0], parts[1]
    if n == 3:
        return parts[0], parts[1], parts[2]
    return ":".join(parts[: n - 2]), parts[n - 2], parts[n - 1]


def _valid_ip(ip: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return False
    return True


def to_standard_notation(spec: str) -> str:
    """The long syntax "published=8080,target=80,protocol=udp" → "8080:80/udp"."""
    if "=" not in spec:
        return spec
    params: dict[str, str] = {}
    for field in spec.split(","):
        key, eq, value = field.partition("=")
        if not eq:
            raise ValueError(f"invalid publish opts format (should be name=value but got '{field}')")
        params[key.strip().lower()] = value.strip()
    target = params.get("target", "")
    if not target:
        raise ValueError("no port specified: " + spec)
    text = f"{params['published']}:{target}" if params.get("published") else target
    return f"{text}/{params.get('protocol', 'tcp')}"


def parse_port_spec(raw: str) -> list[tuple[str, dict[str, str]]]:
    ip, host_port, container_port = _split_parts(raw)
    container_port, _, proto = container_port.partition("/")
    proto = proto or "tcp"
    if ip.startswith("[") and ip.endswith("]"):
        ip = ip[1:-1]
    if ip and not _valid_ip(ip):
        raise ValueError(f"invalid IP address: {ip}")
    if not container_port:
        raise ValueError(f"no port specified: {raw}<empty>")
    try:
        start, end = parse_port_range(container_port)
    except ValueError:
        raise ValueError(f"invalid containerPort: {container_port}") from None
    host_start = host_end = 0
    if host_port:
        try:
            host_start, host_end = parse_port_range(host_port)
        except ValueError:
            raise ValueError(f"invalid hostPort: {host_port}") from None
        if end - start != host_end - host_start and end != start:
            raise ValueError(f"invalid ranges specified for container and host Ports: {container_port} and "
                             f"{host_port}")
    if proto.lower() not in PROTOCOLS:
        raise ValueError(f"invalid proto: {proto}")
    out = []
    for i in range(end - start + 1):
        hp = str(host_start + i) if host_port else ""
        if start == end and host_start != host_end:
            hp = f"{host_start}-{host_end}"
        out.append((f"{start + i}/{proto.lower()}", {"HostIp": ip, "HostPort": hp}))
    return out


def parse_port_specs(specs: list[str]) -> tuple[dict[str, Any], dict[str, list[dict[str, str]]]]:
    exposed: dict[str, Any] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for spec in specs:
        for port, binding in parse_port_spec(to_standard_notation(spec)):
            exposed[port] = {}
            existing = bindings.setdefault(port, [])
            if binding not in existing:
                existing.append(binding)
    return exposed, bindings


def expose_range(spec: str) -> list[str]:
    port, _, proto = spec.partition("/")
    proto = proto or "tcp"
    try:
        start, end = parse_port_range(port)
    except ValueError:
        raise ValueError(f'invalid range format for --expose: invalid start port \'{port}\': '
                         f'strconv.ParseUint: parsing "{port}": invalid syntax') from None
    return [f"{p}/{proto}" for p in range(start, end + 1)]
