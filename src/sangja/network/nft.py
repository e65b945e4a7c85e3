"""sangja's nftables table: masquerade for the bridge and DNAT for published ports.

The whole table is rendered from the desired state (a pure function, unit-tested) and
replaced in one `nft -f` transaction: add-then-delete-then-define, so the kernel never
sees a half-written table, established connections (conntrack) are untouched, and
reconciling after a crash is the same call as any update. Other tables (docker's,
podman's, the host's own) are never touched.

Hooks and why:
  prerouting/output (nat)  DNAT of connections to a published host port. `output` is what
                           makes localhost access (curl 127.0.0.1:8080) work without a proxy.
  postrouting (nat)        masquerade: containers going out; DNATed connections from
                           127.0.0.0/8 (needs route_localnet on the bridge); hairpin (a
                           container reaching a published port of its own bridge).
  forward (filter)         traffic inside one network is accepted; between two of sangja's
                           networks it is dropped (isolation, like Docker's
                           DOCKER-ISOLATION chains); an `--internal` network's traffic
                           neither leaves nor enters it (and it gets no masquerade); the
                           rest of a bridge's traffic is accepted so a policy of another
                           table's chain is not what decides for us.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

NFT = "nft"


@dataclass(frozen=True)
class Forward:
    """One published port: host (ip, port) → container (ip, port)."""

    proto: str  # tcp | udp
    host_ip: str  # "" or "0.0.0.0" for every address
    host_port: int
    container_ip: str
    container_port: int


@dataclass(frozen=True)
class BridgeRules:
    bridge: str
    subnet: str  # "172.18.0.0/16"
    internal: bool = False


# Both families: published ports are DNATed for traffic to a local address, from outside
# (prerouting) and from the host itself (output); postrouting's rules follow it per bridge.
NAT_HOOKS = (
    "  chain prerouting {",
    "    type nat hook prerouting priority dstnat; policy accept;",
    "    fib daddr type local jump publish",
    "  }",
    "  chain output {",
    "    type nat hook output priority -100; policy accept;",
    "    fib daddr type local jump publish",
    "  }",
    "  chain postrouting {",
    "    type nat hook postrouting priority srcnat; policy accept;",
)


def render(table: str, bridges: list[BridgeRules], forwards: list[Forward]) -> str:
    """The nft script that replaces `table` (family ip) with exactly this state."""
    lines = [
        f"table ip {table} {{}}",
        f"delete table ip {table}",
        f"table ip {table} {{",
        "  chain publish {",
    ]
    for f in sorted(forwards, key=lambda f: (f.proto, f.host_port, f.host_ip)):
        daddr = f"ip daddr {f.host_ip} " if f.host_ip not in ("", "0.0.0.0") else ""
        lines.append(f"    {daddr}{f.proto} dport {f.host_port} dnat to {f.container_ip}:{f.container_port}")
    lines += ["  }", *NAT_HOOKS]
    for b in bridges:
        if b.internal:
            continue
        lines += [
            f'    ip saddr {b.subnet} oifname != "{b.bridge}" masquerade',
            f'    oifname "{b.bridge}" ip saddr 127.0.0.0/8 masquerade',
            f'    oifname "{b.bridge}" ip saddr {b.subnet} ct status dnat masquerade',
        ]
    lines += ["  }", *forward_chain(bridges), "}"]
    return "\n".join(lines) + "\n"


class _Bridge(Protocol):
    @property
    def bridge(self) -> str: ...
    @property
    def internal(self) -> bool: ...


def forward_chain(bridges: Sequence[_Bridge]) -> list[str]:
    """The filter chain, the same in the `ip` and `ip6` tables: traffic within a bridge is allowed;
    an internal bridge talks to nothing else; bridges are isolated from each other; outbound and
    published (DNATed) inbound traffic pass."""
    lines = ["  chain forward {", "    type filter hook forward priority filter; policy accept;"]
    for b in bridges:
        lines.append(f'    iifname "{b.bridge}" oifname "{b.bridge}" accept')
    for b in bridges:
        if b.internal:
            lines += [f'    iifname "{b.bridge}" drop', f'    oifname "{b.bridge}" drop']
            continue
        others = [o.bridge for o in bridges if o.bridge != b.bridge]
        if others:
            names = ", ".join(f'"{o}"' for o in others)
            lines.append(f"    iifname \"{b.bridge}\" oifname {{ {names} }} drop")
        lines += [
            f'    iifname "{b.bridge}" accept',
            f'    oifname "{b.bridge}" ct state established,related accept',
            f'    oifname "{b.bridge}" ct status dnat accept',
        ]
    return [*lines, "  }"]


def apply(script: str) -> None:
    """Run an nft script as one transaction; raise with nft's message when the kernel refuses it."""
    proc = subprocess.run([NFT, "-f", "-"], input=script, capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise RuntimeError(f"nft failed: {proc.stderr.strip()}")


def delete_table(table: str) -> None:
    apply(f"table ip {table} {{}}\ndelete table ip {table}\n")


def table_exists(table: str) -> bool:
    proc = subprocess.run([NFT, "list", "table", "ip", table], capture_output=True, text=True, timeout=30)
    return proc.returncode == 0
