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
    cgroup_version: int = 1              # detected at start (host.cgroups)

    @property
    def socket_path(self) -> str:
        if not self.host.startswith("unix://"):
            raise ValueError(f"only unix:// hosts are supported: {self.host}")
        return self.host[len("unix://") :]
