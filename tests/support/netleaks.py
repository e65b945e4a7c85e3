"""What sangjad's networking may leave on the host, and how to clear it (by exact names only).

For a daemon started with `--bridge NAME`: the bridge NAME, the veths enslaved to it
(`sjv…`), the nft table `sangja_<NAME>` (alphanumerics kept, others as `_`). Nothing of
another engine (docker0, cni-podman0, their tables) is looked at. Its user-defined networks'
bridges (`sjb…`, read from its data root) must be gone once it stopped, too.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


def table_for(bridge: str) -> str:
    return "sangja" if bridge == "sangja0" else "sangja_" + "".join(c if c.isalnum() else "_" for c in bridge)


def links() -> list[dict[str, object]]:
    out = subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True, timeout=30, check=True)
    data: list[dict[str, object]] = json.loads(out.stdout or "[]")
    return data


def find(bridge: str) -> list[str]:
    found: list[str] = []
    for link in links():
        name = str(link.get("ifname"))
        if name == bridge:
            found.append(f"bridge {name}")
        elif link.get("master") == bridge:
            found.append(f"veth {name}")
    table = table_for(bridge)
    for family in ("ip", "ip6"):  # ip6: the same table's IPv6 half (network/ipv6.py)
        probe = subprocess.run(["nft", "list", "table", family, table], capture_output=True, text=True, timeout=30)
        if probe.returncode == 0:
            found.append(f"nft table {family} {table}")
    return found


def veths_of(bridge: str) -> set[str]:
    return {str(link.get("ifname")) for link in links() if link.get("master") == bridge}


def clean(bridge: str) -> list[str]:
    """Delete what `find` reports; returns what was there."""
    found = find(bridge)
    for item in found:
        kind, _, name = item.partition(" ")
        if kind in ("bridge", "veth"):
            subprocess.run(["ip", "link", "del", name], capture_output=True, timeout=30)
        else:
            family = name.split()[1]  # "table ip6 sangja_x"
            subprocess.run(["nft", "delete", "table", family, table_for(bridge)], capture_output=True, timeout=30)
    return found


def user_bridges(data_root: str) -> list[str]:
    """The bridge devices (`sjb…`) of the user-defined networks a daemon has on record
    (`<data-root>/network/networks/<id>.json`)."""
    found: list[str] = []
    for f in sorted(Path(data_root, "network", "networks").glob("*.json")):
        try:
            device = json.loads(f.read_text()).get("device")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(device, str) and device.startswith("sjb"):
            found.append(device)
    return found


def clean_user_bridges(devices: list[str]) -> list[str]:
    """Delete those user-network bridges (and veths on them) that are still present after the
    daemon stopped: sangjad removes every bridge no container uses at shutdown. Returns what was there."""
    names = set(devices)
    found: list[str] = []
    for link in links():
        name = str(link.get("ifname"))
        if name in names:
            found.append(f"bridge {name}")
        elif link.get("master") in names:
            found.append(f"veth {name}")
    for item in found:
        subprocess.run(["ip", "link", "del", item.partition(" ")[2]], capture_output=True, timeout=30)
    return found
