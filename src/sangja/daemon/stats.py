"""Container stats (`GET /containers/{id}/stats`) in Docker's StatsResponse shape.

A sample reads the container's cgroup counters (host/cgroupstats.py, v1 or v2), the host's
CPU time from /proc/stat and the container's interfaces from /proc/<pid>/net/dev (its net
namespace seen through its init). Files are read in a worker thread so a slow cgroup read
never blocks the event loop.

As dockerd: a stream sends one sample per second, each carrying the previous one's CPU
numbers as precpu_stats; `stream=false` waits one interval so precpu is filled (CPU % needs
two samples) unless `one-shot`; a container that isn't running gives an empty sample
(name and id only) when not streaming.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

from sangja.daemon.container import Container
from sangja.daemon.daemon import Daemon
from sangja.daemon.timefmt import rfc3339_ns
from sangja.host import cgroupstats
from sangja.host.cgroups import CgroupLayout, detect

ZERO_TIME = "0001-01-01T00:00:00Z"
INTERVAL = 1.0
_V1_CONTROLLERS = ("cpu", "cpuacct", "memory", "blkio", "pids")
_LAYOUT: CgroupLayout | None = None


def _layout(d: Daemon) -> CgroupLayout:
    global _LAYOUT
    cgroups = getattr(d.runtime, "cgroups", None)
    if cgroups is not None:
        return cgroups.layout  # type: ignore[no-any-return]
    if _LAYOUT is None:
        _LAYOUT = detect()
    return _LAYOUT


def machine_memory(meminfo: str) -> int:
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def empty_stats(c: Container) -> dict[str, Any]:
    """What dockerd answers for a container that isn't running (all counters zero)."""
    cpu = {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
           "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}
    return {
        "name": c.name, "id": c.id, "read": ZERO_TIME, "preread": ZERO_TIME,
        "pids_stats": {}, "blkio_stats": {"io_service_bytes_recursive": None, "io_serviced_recursive": None,
                                          "io_queue_recursive": None, "io_service_time_recursive": None,
                                          "io_wait_time_recursive": None, "io_merged_recursive": None,
                                          "io_time_recursive": None, "sectors_recursive": None},
        "num_procs": 0, "storage_stats": {}, "cpu_stats": cpu, "precpu_stats": cpu, "memory_stats": {},
    }


def read_sample(layout: CgroupLayout, cgroup_path: str, pid: int, with_network: bool) -> dict[str, Any]:
    """One reading of the counters (blocking file reads: call in a thread)."""
    if layout.version == 2:
        d2 = layout.controller_dir("memory", cgroup_path)
        parts = cgroupstats.read_v2(d2) if d2 is not None else cgroupstats.read_v1({})
    else:
        parts = cgroupstats.read_v1({ctl: layout.controller_dir(ctl, cgroup_path) for ctl in _V1_CONTROLLERS})
    ncpu = os.cpu_count() or 1
    parts["cpu_stats"]["system_cpu_usage"] = cgroupstats.system_cpu_usage(_read("/proc/stat"))
    parts["cpu_stats"]["online_cpus"] = ncpu
    mem = parts["memory_stats"]
    host_mem = machine_memory(_read("/proc/meminfo"))
    if mem and host_mem and mem.get("limit", 0) > host_mem:
        mem["limit"] = host_mem
    if with_network and pid:
        parts["networks"] = cgroupstats.net_dev(_read(f"/proc/{pid}/net/dev"))
    parts["read"] = rfc3339_ns(time.time_ns())
    return parts


def _compose(c: Container, cur: dict[str, Any], prev: dict[str, Any] | None) -> dict[str, Any]:
    out = {"name": c.name, "id": c.id, "read": cur["read"], "preread": prev["read"] if prev else ZERO_TIME,
           "pids_stats": cur["pids_stats"], "blkio_stats": cur["blkio_stats"], "num_procs": 0,
           "storage_stats": {}, "cpu_stats": cur["cpu_stats"],
           "precpu_stats": prev["cpu_stats"] if prev else {
               "cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
               "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}},
           "memory_stats": cur["memory_stats"]}
    if "networks" in cur:
        out["networks"] = cur["networks"]
    return out


async def _sample(d: Daemon, c: Container) -> dict[str, Any]:
    cgroup_path = f"{d.config.cgroup_parent}/{c.id}"
    with_net = c.host_config.get("NetworkMode") not in ("host", "none")
    return await asyncio.to_thread(read_sample, _layout(d), cgroup_path, c.state.pid, with_net)


def _running(c: Container) -> bool:
    return c.state.running and c.state.status != "restarting"


async def container_stats(d: Daemon, ref: str, stream: bool, one_shot: bool) -> AsyncGenerator[dict[str, Any], None]:
    """The samples to send: one (stream=false) or one per second while the container runs."""
    c = d.containers.get(ref)
    if not stream:
        if not _running(c):
            yield empty_stats(c)
            return
        prev = None if one_shot else await _sample(d, c)
        if prev is not None:
            await asyncio.sleep(INTERVAL)
        yield _compose(c, await _sample(d, c), prev)
        return
    prev = None
    while True:
        if _running(c):
            cur = await _sample(d, c)
            yield _compose(c, cur, prev)
            prev = cur
        else:
            # dockerd keeps the stream open and sends nothing until the container runs again.
            prev = None
            if d.containers.find(c.id) is None:
                return
        await asyncio.sleep(INTERVAL)
