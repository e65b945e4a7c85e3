"""The per-container /etc/hostname, /etc/hosts and /etc/resolv.conf that Docker bind-mounts.

Docker's rules: host networking gets the host's files; any other mode gets a generated
/etc/hosts (its own address, or 127.0.1.1 without one, plus --add-host entries) and the
host's resolv.conf without loopback nameservers (Google's public resolvers when nothing is
left), unless --dns/--dns-search/--dns-option replace them.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

from sangja.daemon.container import Container
from sangja.daemon.network_container import is_container_mode

_LOCAL_NS = re.compile(r"^\s*nameserver\s+(127\.\d+\.\d+\.\d+|::1)\s*$")


_DEFAULT_NS = ("8.8.8.8", "8.8.4.4")


def resolv_conf_for(
    host_resolv: str,
    network_mode: str,
    dns: list[str] | None = None,
    search: list[str] | None = None,
    options: list[str] | None = None,
    embedded: str = "",
) -> str:
    """Docker's rule: the host's file as is for host networking; otherwise without loopback
    nameservers (they cannot be reached from another network namespace). On a user-defined
    network (`embedded`: the embedded DNS server's address) the only nameserver is that
    server, which forwards to the host's resolvers or the --dns ones; `options ndots:0` is
    added unless ndots is set, as Docker does."""
    if embedded:
        return _embedded_resolv_conf(host_resolv, embedded, search, options)
    if network_mode == "host" and not (dns or search or options):
        return host_resolv
    lines = [ln for ln in host_resolv.splitlines() if not _LOCAL_NS.match(ln)]
    if dns:
        lines = [ln for ln in lines if not ln.strip().startswith("nameserver")] + [f"nameserver {ns}" for ns in dns]
    elif network_mode != "host" and not any(ln.strip().startswith("nameserver") for ln in lines):
        lines += [f"nameserver {ns}" for ns in _DEFAULT_NS]
    if search:
        lines = [ln for ln in lines if not ln.strip().startswith(("search", "domain"))] + ["search " + " ".join(search)]
    if options:
        lines = [ln for ln in lines if not ln.strip().startswith("options")] + ["options " + " ".join(options)]
    return "\n".join(lines) + "\n"


def _embedded_resolv_conf(host_resolv: str, server: str, search: list[str] | None, options: list[str] | None) -> str:
    lines = [ln for ln in host_resolv.splitlines() if not ln.strip().startswith("nameserver")]
    if search:
        lines = [ln for ln in lines if not ln.strip().startswith(("search", "domain"))] + ["search " + " ".join(search)]
    if options:
        lines = [ln for ln in lines if not ln.strip().startswith("options")] + ["options " + " ".join(options)]
    lines.append(f"nameserver {server}")
    if not any(ln.strip().startswith("options") and "ndots:" in ln for ln in lines):
        lines.append("options ndots:0")
    return "\n".join(lines) + "\n"


def hosts_for(
    hostname: str, network_mode: str, host_hosts: str, address: str = "", extra: list[str] | None = None
) -> str:
    added = "".join(f"{ip}\t{name}\n" for name, _, ip in (e.partition(":") for e in extra or []))
    if network_mode == "host":
        return host_hosts + added
    return (
        "127.0.0.1\tlocalhost\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\n"
        "ff00::0\tip6-mcastprefix\n"
        "ff02::1\tip6-allnodes\n"
        "ff02::2\tip6-allrouters\n"
        + added
        + f"{address or '127.0.1.1'}\t{hostname}\n"
    )


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def write_etc_files(c: Container, directory: Path) -> None:
    mode = c.host_config.get("NetworkMode", "bridge")
    if is_container_mode(str(mode)):
        return  # the other container's files, set by network_container.join_network_of
    hostname = c.config.get("Hostname") or (socket.gethostname() if mode == "host" else c.short_id)
    files = {
        "hostname": hostname + "\n",
        "hosts": hosts_for(
            hostname, mode, _read("/etc/hosts"), c.network.get("IPAddress", ""), c.host_config.get("ExtraHosts")
        ),
        "resolv.conf": resolv_conf_for(
            _read("/etc/resolv.conf"),
            mode,
            c.host_config.get("Dns"),
            c.host_config.get("DnsSearch"),
            c.host_config.get("DnsOptions"),
            str(c.network.get("DnsServer") or ""),
        ),
    }
    if c.network.get("GlobalIPv6Address") and mode != "host":  # libnetwork adds a record per address
        files["hosts"] += f"{c.network['GlobalIPv6Address']}\t{hostname}\n"
    for name, content in files.items():
        (directory / name).write_text(content)
    c.hostname_path = str(directory / "hostname")
    c.hosts_path = str(directory / "hosts")
    c.resolv_conf_path = str(directory / "resolv.conf")
