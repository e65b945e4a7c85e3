"""What the host can enforce: cgroup controllers, CPUs, memory nodes, rlimit ceilings.

dockerd's pkg/sysinfo in small: `probe()` reads the cgroup files and /proc once; the
daemon's resource rules (daemon/resources.py) take the resulting `SysInfo` as plain data,
so they are unit-tested with hand-made values for cgroup v1 and v2 hosts.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass, field
from pathlib import Path

from sangja.host.cgroups import CgroupLayout, detect

CAP_SYS_RESOURCE = 24
# The rlimits Docker accepts by name (go-units' ulimit table), with their resource numbers.
RLIMITS: dict[str, int] = {
    "core": resource.RLIMIT_CORE,
    "cpu": resource.RLIMIT_CPU,
    "data": resource.RLIMIT_DATA,
    "fsize": resource.RLIMIT_FSIZE,
    "locks": getattr(resource, "RLIMIT_LOCKS", 10),
    "memlock": resource.RLIMIT_MEMLOCK,
    "msgqueue": getattr(resource, "RLIMIT_MSGQUEUE", 12),
    "nice": getattr(resource, "RLIMIT_NICE", 13),
    "nofile": resource.RLIMIT_NOFILE,
    "nproc": resource.RLIMIT_NPROC,
    "rss": resource.RLIMIT_RSS,
    "rtprio": getattr(resource, "RLIMIT_RTPRIO", 14),
    "rttime": getattr(resource, "RLIMIT_RTTIME", 15),
    "sigpending": getattr(resource, "RLIMIT_SIGPENDING", 11),
    "stack": resource.RLIMIT_STACK,
}
UNLIMITED = -1


@dataclass(frozen=True)
class SysInfo:
    """The host's abilities, as dockerd's SysInfo has them (True = the cgroup file exists).

    cpus/mems: the CPUs and memory nodes a container may be pinned to ("0-1", "0").
    rlimit_hard: per ulimit name, the highest hard limit a container can be given
    (UNLIMITED = no ceiling). Without CAP_SYS_RESOURCE that is the daemon's own hard
    limit (runc cannot raise it: "error setting rlimit type 7: operation not permitted");
    with it, RLIMIT_NOFILE still stops at fs.nr_open.
    """

    cgroup_version: int = 1
    ncpu: int = 1
    cpus: str = "0"
    mems: str = "0"
    memory_limit: bool = True
    swap_limit: bool = True
    memory_reservation: bool = True
    memory_swappiness: bool = True
    oom_kill_disable: bool = True
    cpu_shares: bool = True
    cpu_cfs: bool = True
    cpuset: bool = True
    pids_limit: bool = True
    blkio_weight: bool = True
    rlimit_hard: dict[str, int] = field(default_factory=dict)


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _has_cap(cap: int, proc_root: str = "/proc") -> bool:
    for line in _read(Path(proc_root, "self/status")).splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> cap & 1)
    return False


def rlimit_ceilings(proc_root: str = "/proc") -> dict[str, int]:
    """Highest hard limit per ulimit name that a container can be given (see SysInfo)."""
    privileged = _has_cap(CAP_SYS_RESOURCE, proc_root)
    out: dict[str, int] = {}
    for name, res in RLIMITS.items():
        if privileged:
            out[name] = UNLIMITED
        else:
            hard = resource.getrlimit(res)[1]
            out[name] = UNLIMITED if hard == resource.RLIM_INFINITY else hard
    if privileged:
        nr_open = _read(Path(proc_root, "sys/fs/nr_open"))
        out["nofile"] = int(nr_open) if nr_open.isdigit() else 1024 * 1024
    return out


def probe(layout: CgroupLayout | None = None) -> SysInfo:
    """Read the host once (cheap: a few dozen stat/read calls)."""
    layout = layout or detect()
    ncpu = os.cpu_count() or 1
    if layout.version == 2:
        root = Path(layout.unified)
        controllers = set(_read(root / "cgroup.controllers").split())
        has_mem = "memory" in controllers
        has_cpu = "cpu" in controllers
        cpus = _read(root / "cpuset.cpus.effective") or f"0-{ncpu - 1}"
        mems = _read(root / "cpuset.mems.effective") or "0"
        return SysInfo(
            cgroup_version=2, ncpu=ncpu, cpus=cpus, mems=mems,
            memory_limit=has_mem, swap_limit=has_mem, memory_reservation=has_mem, memory_swappiness=False,
            oom_kill_disable=False, cpu_shares=has_cpu, cpu_cfs=has_cpu, cpuset="cpuset" in controllers,
            pids_limit="pids" in controllers, blkio_weight="io" in controllers,
            rlimit_hard=rlimit_ceilings(),
        )

    def ctl(name: str) -> Path | None:
        return layout.controller_dir(name, "/")

    memory, cpu, cpuset = ctl("memory"), ctl("cpu"), ctl("cpuset")
    pids, blkio = ctl("pids"), ctl("blkio")

    def has(d: Path | None, f: str) -> bool:
        return d is not None and (d / f).exists()

    return SysInfo(
        cgroup_version=1,
        ncpu=ncpu,
        cpus=_read(cpuset / "cpuset.cpus") if cpuset else f"0-{ncpu - 1}",
        mems=_read(cpuset / "cpuset.mems") if cpuset else "0",
        memory_limit=has(memory, "memory.limit_in_bytes"),
        swap_limit=has(memory, "memory.memsw.limit_in_bytes"),
        memory_reservation=has(memory, "memory.soft_limit_in_bytes"),
        memory_swappiness=has(memory, "memory.swappiness"),
        oom_kill_disable=has(memory, "memory.oom_control"),
        cpu_shares=has(cpu, "cpu.shares"),
        cpu_cfs=has(cpu, "cpu.cfs_quota_us"),
        cpuset=cpuset is not None,
        pids_limit=pids is not None,
        blkio_weight=has(blkio, "blkio.weight") or has(blkio, "blkio.bfq.weight"),
        rlimit_hard=rlimit_ceilings(),
    )
