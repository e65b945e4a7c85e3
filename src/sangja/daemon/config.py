"""sangjad's settings (flags named like dockerd's)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class DaemonConfig:
    host: str = "unix:///run/sangja/sangja.sock"
    data_root: Path = Path("/var/lib/sangja")
    exec_root: Path = Path("/run/sangja")
    pidfile: Path | None = None
    runtime: str = "runc"
    runtimes: tuple[str, ...] = ("runc", "crun")
    cgroup_parent: str = "/sangja"
    log_level: str = "info"
    log_opts: dict[str, str] = field(default_factory=lambda: {"max-size": "10m", "max-file": "3"})
    init_path: str = "/usr/bin/tini-static"
    init: bool = False  # --init: an init for containers whose HostConfig.Init is unset (null)
    bridge: str = "sangja0"              # the default bridge's device; "none": no default bridge
    bip: str = ""                        # the default bridge's address/prefix, e.g. 172.30.0.1/16
    address_pools: tuple[tuple[str, int], ...] = ()  # (base CIDR, prefix size); () = Docker's defaults
    ipv6: bool = False                   # --ipv6: IPv6 on the default bridge too
    fixed_cidr_v6: str = ""              # --fixed-cidr-v6: its IPv6 subnet (else a ULA /64)
    resolv_conf: str = "/etc/resolv.conf"  # whose nameservers the embedded DNS forwards to
    insecure_registries: tuple[str, ...] = ()  # reached over plain HTTP (loopback always is)
    registry_certs_dirs: tuple[Path, ...] = ()  # certs.d roots; () = /etc/sangja/certs.d, /etc/docker/certs.d
    registry_mirrors: tuple[str, ...] = ()     # --registry-mirror: docker.io pulls try these first
    docker_io_endpoint: str = ""               # docker.io's origin; "" = https://registry-1.docker.io
    max_concurrent_downloads: int = 3
    max_concurrent_uploads: int = 5
    cgroup_version: int = 1              # detected at start (host.cgroups)

    @property
    def socket_path(self) -> str:
        if not self.host.startswith("unix://"):
            raise ValueError(f"only unix:// hosts are supported: {self.host}")
        return self.host[len("unix://") :]
