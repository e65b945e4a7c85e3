"""The per-container /etc/hostname, /etc/hosts and /etc/resolv.conf that Docker bind-mounts.

Until bridge networking lands, containers are on "none" (loopback only) or "host".
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

from sangja.daemon.container import Container

_LOCAL_NS = re.compile(r"^\s*nameserver\s+(127\.\d+\.\d+\.\d+|::1)\s*$")


def resolv_conf_for(host_resolv: str, network_mode: str) -> str:
    """Docker's rule: the host's file as is for host networking; otherwise without loopback
    nameservers (they cannot be reached from another network namespace)."""
    if network_mode == "host":
        return host_resolv
    lines = [ln for ln in host_resolv.splitlines() if not _LOCAL_NS.match(ln)]
    return "\n".join(lines) + "\n"


def hosts_for(hostname: str, network_mode: str, host_hosts: str) -> str:
    if network_mode == "host":
        return host_hosts
    return (
        "127.0.0.1\tlocalhost\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\n"
        "ff00::0\tip6-mcastprefix\n"
        "ff02::1\tip6-allnodes\n"
        "ff02::2\tip6-allrouters\n"
        f"127.0.1.1\t{hostname}\n"
    )


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def write_etc_files(c: Container, directory: Path) -> None:
    mode = c.host_config.get("NetworkMode", "bridge")
    hostname = c.config.get("Hostname") or (socket.gethostname() if mode == "host" else c.short_id)
    files = {
        "hostname": hostname + "\n",
        "hosts": hosts_for(hostname, mode, _read("/etc/hosts")),
        "resolv.conf": resolv_conf_for(_read("/etc/resolv.conf"), mode),
    }
    for name, content in files.items():
        (directory / name).write_text(content)
    c.hostname_path = str(directory / "hostname")
    c.hosts_path = str(directory / "hosts")
    c.resolv_conf_path = str(directory / "resolv.conf")
