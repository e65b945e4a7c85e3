"""`sangja port`: the public host ports of a container's published ports."""

from __future__ import annotations

from sangja.cli.command import Cli, Spec, quote_path
from sangja.cli.errors import CLIError
from sangja.cli.flags import Options

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SPEC = Spec(
    use="CONTAINER [PRIVATE_PORT[/PROTO]]",
    short="List port mappings or a specific mapping for the container",
    args=("range", 1, 2),
    aliases="docker container port, docker port",
)


def _host(b: dict[str, Any]) -> str:
    ip = b.get("HostIp") or ""
    return f"[{ip}]:{b.get('HostPort')}" if ":" in ip else f"{ip}:{b.get('HostPort')}"


def _sort_key(key: str) -> tuple[int, str]:
    port, _, proto = key.partition("/")
    return (int(port) if port.isdigit() else 0, proto)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    c = cli.client.get(f"/containers/{quote_path(args[0])}/json") or {}
    ports: dict[str, Any] = (c.get("NetworkSettings") or {}).get("Ports") or {}
    if len(args) == 2:
        port, _, proto = args[1].partition("/")
        key = f"{port}/{proto or 'tcp'}"
        bindings = ports.get(key)
        if not bindings:
            raise CLIError(f"Error: No public port '{key}' published for {args[0]}")
        for b in bindings:
            cli.out(_host(b))
        return 0
    for key in sorted(ports, key=_sort_key):
        for b in ports[key] or []:
            cli.out(f"{key} -> {_host(b)}")
    return 0
