"""Reading a container's cgroup counters, in the shape of Docker's stats (cgroup v1 and v2).

`read_v1(dirs)` and `read_v2(directory)` only read files, so unit tests point them at fake
trees. Both return the parts of Docker's StatsResponse that come from cgroups:
cpu_stats (without system_cpu_usage), memory_stats, blkio_stats, pids_stats. The mapping
follows dockerd's statsV1/statsV2 (daemon/stats_unix.go): v2 microseconds become
nanoseconds, io.stat rbytes/wbytes become "read"/"write" entries, memory.events' oom
count is the failcnt.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

V1_MEMORY_KEYS = (
    "cache", "rss", "rss_huge", "mapped_file", "dirty", "writeback", "pgpgin", "pgpgout", "pgfault", "pgmajfault",
    "inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable", "hierarchical_memory_limit",
    "hierarchical_memsw_limit", "total_cache", "total_rss", "total_rss_huge", "total_mapped_file", "total_dirty",
    "total_writeback", "total_pgpgin", "total_pgpgout", "total_pgfault", "total_pgmajfault", "total_inactive_anon",
    "total_active_anon", "total_inactive_file", "total_active_file", "total_unevictable",
)
V2_MEMORY_KEYS = (
    "anon", "file", "kernel_stack", "slab", "sock", "shmem", "file_mapped", "file_dirty", "file_writeback",
    "anon_thp", "inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable", "slab_reclaimable",
    "slab_unreclaimable", "pgfault", "pgmajfault", "workingset_refault", "workingset_activate",
    "workingset_nodereclaim", "pgrefill", "pgscan", "pgsteal", "pgactivate", "pgdeactivate", "pglazyfree",
    "pglazyfreed", "thp_fault_alloc", "thp_collapse_alloc",
)
_MAX = 2**64 - 1  # what Docker reports for "no limit" where the kernel says "max"


def _text(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return path.read_text()
    except OSError:
        return ""


def _int(path: Path | None, default: int = 0) -> int:
    raw = _text(path).strip()
    if raw == "max":
        return _MAX
    try:
        return int(raw)
    except ValueError:
        return default


def _flat_keyed(text: str) -> dict[str, int]:
    """"key value" lines (memory.stat, cpu.stat, memory.events)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                continue
    return out


def _blkio_v1(text: str) -> list[dict[str, Any]]:
    """"8:0 Read 4096" lines (the "Total" line is dropped, as containerd does)."""
    out: list[dict[str, Any]] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 3 or ":" not in parts[0]:
            continue
        major, _, minor = parts[0].partition(":")
        try:
            out.append({"major": int(major), "minor": int(minor), "op": parts[1].lower(), "value": int(parts[2])})
        except ValueError:
            continue
    return out


def _empty_blkio() -> dict[str, Any]:
    return {k: None for k in ("io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive",
                              "io_service_time_recursive", "io_wait_time_recursive", "io_merged_recursive",
                              "io_time_recursive", "sectors_recursive")}


def read_v1(dirs: dict[str, Path | None]) -> dict[str, Any]:
    """Counters of one container on cgroup v1; `dirs` maps controller → the container's directory."""
    cpuacct = dirs.get("cpuacct")
    cpu = dirs.get("cpu")
    memory = dirs.get("memory")
    blkio = dirs.get("blkio")
    pids = dirs.get("pids")
    acct = _flat_keyed(_text(cpuacct / "cpuacct.stat" if cpuacct else None))
    tick_ns = 10_000_000  # USER_HZ = 100
    percpu = [int(x) for x in _text(cpuacct / "cpuacct.usage_percpu" if cpuacct else None).split() if x.isdigit()]
    throttle = _flat_keyed(_text(cpu / "cpu.stat" if cpu else None))
    cpu_stats = {
        "cpu_usage": {
            "total_usage": _int(cpuacct / "cpuacct.usage" if cpuacct else None),
            "percpu_usage": percpu or None,
            "usage_in_kernelmode": acct.get("system", 0) * tick_ns,
            "usage_in_usermode": acct.get("user", 0) * tick_ns,
        },
        "throttling_data": {
            "periods": throttle.get("nr_periods", 0),
            "throttled_periods": throttle.get("nr_throttled", 0),
            "throttled_time": throttle.get("throttled_time", 0),
        },
    }
    stat = _flat_keyed(_text(memory / "memory.stat" if memory else None))
    memory_stats: dict[str, Any] = {}
    if memory is not None and memory.exists():
        memory_stats = {
            "usage": _int(memory / "memory.usage_in_bytes"),
            "max_usage": _int(memory / "memory.max_usage_in_bytes"),
            "stats": {k: stat.get(k, 0) for k in V1_MEMORY_KEYS},
            "failcnt": _int(memory / "memory.failcnt"),
            "limit": _int(memory / "memory.limit_in_bytes"),
        }
    blkio_stats = _empty_blkio()
    if blkio is not None:
        for key, name in (("io_service_bytes_recursive", "blkio.throttle.io_service_bytes_recursive"),
                          ("io_serviced_recursive", "blkio.throttle.io_serviced_recursive")):
            entries = _blkio_v1(_text(blkio / name))
            blkio_stats[key] = entries or None
    pids_stats: dict[str, Any] = {}
    if pids is not None and pids.exists():
        pids_stats = {"current": _int(pids / "pids.current")}
        limit = _int(pids / "pids.max")
        if limit and limit != _MAX:
            pids_stats["limit"] = limit
    return {"cpu_stats": cpu_stats, "memory_stats": memory_stats, "blkio_stats": blkio_stats,
            "pids_stats": pids_stats}


def read_v2(directory: Path) -> dict[str, Any]:
    """Counters of one container on cgroup v2 (its directory in the unified hierarchy)."""
    cpu = _flat_keyed(_text(directory / "cpu.stat"))
    cpu_stats = {
        "cpu_usage": {
            "total_usage": cpu.get("usage_usec", 0) * 1000,
            "usage_in_kernelmode": cpu.get("system_usec", 0) * 1000,
            "usage_in_usermode": cpu.get("user_usec", 0) * 1000,
        },
        "throttling_data": {
            "periods": cpu.get("nr_periods", 0),
            "throttled_periods": cpu.get("nr_throttled", 0),
            "throttled_time": cpu.get("throttled_usec", 0) * 1000,
        },
    }
    memory_stats: dict[str, Any] = {}
    if (directory / "memory.current").exists():
        stat = _flat_keyed(_text(directory / "memory.stat"))
        events = _flat_keyed(_text(directory / "memory.events"))
        memory_stats = {
            "usage": _int(directory / "memory.current"),
            "stats": {k: stat.get(k, 0) for k in V2_MEMORY_KEYS},
            "limit": _int(directory / "memory.max"),
        }
        if events.get("oom"):
            memory_stats["failcnt"] = events["oom"]
    service_bytes: list[dict[str, Any]] = []
    serviced: list[dict[str, Any]] = []
    for line in _text(directory / "io.stat").splitlines():
        dev, *fields = line.split()
        major, _, minor = dev.partition(":")
        values = dict(f.split("=", 1) for f in fields if "=" in f)
        try:
            mj, mn = int(major), int(minor)
            service_bytes += [{"major": mj, "minor": mn, "op": "read", "value": int(values.get("rbytes", 0))},
                              {"major": mj, "minor": mn, "op": "write", "value": int(values.get("wbytes", 0))}]
            serviced += [{"major": mj, "minor": mn, "op": "read", "value": int(values.get("rios", 0))},
                         {"major": mj, "minor": mn, "op": "write", "value": int(values.get("wios", 0))}]
        except ValueError:
            continue
    blkio_stats = _empty_blkio()
    blkio_stats["io_service_bytes_recursive"] = service_bytes or None
    pids_stats: dict[str, Any] = {}
    if (directory / "pids.current").exists():
        pids_stats = {"current": _int(directory / "pids.current")}
        limit = _int(directory / "pids.max")
        if limit and limit != _MAX:
            pids_stats["limit"] = limit
    return {"cpu_stats": cpu_stats, "memory_stats": memory_stats, "blkio_stats": blkio_stats,
            "pids_stats": pids_stats}


def system_cpu_usage(proc_stat: str) -> int:
    """Host CPU time in ns from /proc/stat's "cpu" line (first 7 fields, 100 ticks/s), as dockerd."""
    for line in proc_stat.splitlines():
        parts = line.split()
        if parts and parts[0] == "cpu" and len(parts) >= 8:
            return sum(int(x) for x in parts[1:8]) * 1_000_000_000 // 100
    return 0


def net_dev(text: str) -> dict[str, dict[str, int]]:
    """/proc/<pid>/net/dev as Docker's per-interface NetworkStats (lo left out)."""
    out: dict[str, dict[str, int]] = {}
    for line in text.splitlines()[2:]:
        name, colon, rest = line.partition(":")
        name = name.strip()
        if not colon or name == "lo":
            continue
        v = [int(x) for x in rest.split()]
        if len(v) < 12:
            continue
        out[name] = {"rx_bytes": v[0], "rx_packets": v[1], "rx_errors": v[2], "rx_dropped": v[3],
                     "tx_bytes": v[8], "tx_packets": v[9], "tx_errors": v[10], "tx_dropped": v[11]}
    return out
