"""The engines the benchmark compares, each on temp roots of its own, started and stopped by PID.

sangjad and dockerd come from the test harness (tests/support/daemon.py); podman runs
as `podman system service` (its Docker-compatible API) so the same docker CLI drives all
three. Memory is read from /proc: RSS of the daemon's own processes, PSS of the
per-container monitors (conmon for sangjad and podman, containerd-shim for dockerd).
"""

from __future__ import annotations

import os

from tests.support import leaks
from tests.support.daemon import DockerDaemon, SangjaDaemon, SpawnedDaemon

# podman as root sets RLIMIT_NOFILE/NPROC to values above this VM's hard limits, so runc
# refuses to start anything; pin them (and runc, as the others use) in a private config.
PODMAN_CONF = """\
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
"""


class PodmanService(SpawnedDaemon):
    kind = "podman"

    def argv(self) -> list[str]:
        return [
            "podman",
            "--root", self.data_root,
            "--runroot", self.exec_root,
            "--tmpdir", os.path.join(self.base_dir, "tmp"),
            "--cgroup-manager", "cgroupfs",
            "--events-backend", "file",
            "system", "service", "--time=0", self.host,
        ]

    def env(self) -> dict[str, str]:
        conf = os.path.join(self.base_dir, "containers.conf")
        with open(conf, "w") as f:
            f.write(PODMAN_CONF)
        env = super().env()
        env["CONTAINERS_CONF"] = conf
        return env

    def tolerated(self, found: leaks.Leaks) -> leaks.Leaks:
        # podman keeps its storage's own bind mount after it stops; close() still clears it.
        own = os.path.join(self.data_root, "overlay")
        return leaks.Leaks([m for m in found.mounts if m != own], found.processes, found.cgroups)


def make(kind: str) -> SpawnedDaemon:
    if kind == "sangjad":
        return SangjaDaemon.create()
    if kind == "dockerd":
        return DockerDaemon.create()
    if kind == "podman":
        return PodmanService.create()
    raise ValueError(f"unknown engine {kind!r}")


def _status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kb(pids: set[int]) -> int:
    return sum(_status_kb(pid, "VmRSS") for pid in pids)


def pss_kb(pid: int) -> int:
    """Proportional set size from /proc/<pid>/smaps_rollup (shared pages split among sharers)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def monitor_pids(engine: SpawnedDaemon) -> set[int]:
    """Per-container monitor processes: they name the engine's exec root in their arguments
    (conmon's --exit-dir, the shim's -address); the daemon's own processes are excluded."""
    return {pid for pid, _ in leaks.processes_mentioning(engine.exec_root)} - engine.pids()
