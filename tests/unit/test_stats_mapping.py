"""Stats without root: cgroup v1 and v2 counters on fake trees mapped to Docker's StatsResponse parts,
/proc/stat and /proc/<pid>/net/dev parsing, and the empty answer for a stopped container."""

from __future__ import annotations

from pathlib import Path

from sangja.daemon.container import Container, State
from sangja.daemon.stats import empty_stats, machine_memory
from sangja.host.cgroupstats import net_dev, read_v1, read_v2, system_cpu_usage
from tests.support.swagger import validate


def _write(d: Path, files: dict[str, str]) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (d / name).write_text(text)
    return d


def test_v2_mapping(tmp_path: Path) -> None:
    d = _write(tmp_path, {
        "cpu.stat": "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\nnr_periods 10\nnr_throttled 4\n"
                    "throttled_usec 300\n",
        "memory.current": "1048576\n",
        "memory.max": "max\n",
        "memory.stat": "anon 4096\nfile 8192\ninactive_file 1024\n",
        "memory.events": "low 0\nhigh 0\nmax 3\noom 2\noom_kill 2\n",
        "io.stat": "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n",
        "pids.current": "3\n",
        "pids.max": "max\n",
    })
    s = read_v2(d)
    assert s["cpu_stats"]["cpu_usage"] == {"total_usage": 2_500_000, "usage_in_kernelmode": 500_000,
                                           "usage_in_usermode": 2_000_000}
    assert s["cpu_stats"]["throttling_data"] == {"periods": 10, "throttled_periods": 4, "throttled_time": 300_000}
    mem = s["memory_stats"]
    assert mem["usage"] == 1048576 and mem["failcnt"] == 2 and mem["limit"] == 2**64 - 1
    assert mem["stats"]["anon"] == 4096 and mem["stats"]["inactive_file"] == 1024 and mem["stats"]["slab"] == 0
    assert "max_usage" not in mem  # v2 has none
    assert s["blkio_stats"]["io_service_bytes_recursive"] == [
        {"major": 8, "minor": 0, "op": "read", "value": 4096}, {"major": 8, "minor": 0, "op": "write", "value": 8192}]
    assert s["blkio_stats"]["io_serviced_recursive"] is None  # only service bytes on v2, as dockerd
    assert s["pids_stats"] == {"current": 3}
    (d / "pids.max").write_text("20\n")
    assert read_v2(d)["pids_stats"] == {"current": 3, "limit": 20}


def test_v1_mapping(tmp_path: Path) -> None:
    acct = _write(tmp_path / "cpuacct", {"cpuacct.usage": "3000\n", "cpuacct.usage_percpu": "1000 2000 \n",
                                         "cpuacct.stat": "user 5\nsystem 2\n"})
    cpu = _write(tmp_path / "cpu", {"cpu.stat": "nr_periods 7\nnr_throttled 1\nthrottled_time 99\n"})
    mem = _write(tmp_path / "memory", {"memory.usage_in_bytes": "65536\n", "memory.max_usage_in_bytes": "131072\n",
                                       "memory.limit_in_bytes": "67108864\n", "memory.failcnt": "4\n",
                                       "memory.stat": "cache 100\nrss 200\ntotal_inactive_file 50\n"})
    blk = _write(tmp_path / "blkio", {"blkio.throttle.io_service_bytes_recursive": "8:0 Read 10\n8:0 Write 20\n"
                                      "8:0 Sync 30\nTotal 30\n", "blkio.throttle.io_serviced_recursive": ""})
    pids = _write(tmp_path / "pids", {"pids.current": "2\n", "pids.max": "30\n"})
    s = read_v1({"cpuacct": acct, "cpu": cpu, "memory": mem, "blkio": blk, "pids": pids})
    assert s["cpu_stats"]["cpu_usage"] == {"total_usage": 3000, "percpu_usage": [1000, 2000],
                                           "usage_in_kernelmode": 20_000_000, "usage_in_usermode": 50_000_000}
    assert s["cpu_stats"]["throttling_data"] == {"periods": 7, "throttled_periods": 1, "throttled_time": 99}
    m = s["memory_stats"]
    assert (m["usage"], m["max_usage"], m["limit"], m["failcnt"]) == (65536, 131072, 67108864, 4)
    assert m["stats"]["cache"] == 100 and m["stats"]["total_inactive_file"] == 50 and m["stats"]["dirty"] == 0
    assert s["blkio_stats"]["io_service_bytes_recursive"] == [
        {"major": 8, "minor": 0, "op": "read", "value": 10}, {"major": 8, "minor": 0, "op": "write", "value": 20},
        {"major": 8, "minor": 0, "op": "sync", "value": 30}]
    assert s["blkio_stats"]["io_serviced_recursive"] is None
    assert s["pids_stats"] == {"current": 2, "limit": 30}
    # A controller that isn't mounted gives empty parts, not an error.
    bare = read_v1({})
    assert bare["memory_stats"] == {} and bare["pids_stats"] == {}


def test_proc_parsing() -> None:
    assert system_cpu_usage("cpu  100 0 50 1000 10 0 5 0 0 0\ncpu0 1 2 3 4 5 6 7\n") == 1165 * 10_000_000
    dev = ("Inter-|   Receive    |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|...\n"
           "    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0"
           "       0          0\n"
           "  eth0:    2000      20    1    2    0     0          0         0     3000      30    3    4    0     0"
           "       0          0\n")
    assert net_dev(dev) == {"eth0": {"rx_bytes": 2000, "rx_packets": 20, "rx_errors": 1, "rx_dropped": 2,
                                     "tx_bytes": 3000, "tx_packets": 30, "tx_errors": 3, "tx_dropped": 4}}
    assert machine_memory("MemTotal:       24684032 kB\nMemFree: 1 kB\n") == 24684032 * 1024


def test_stopped_container_gets_dockers_empty_sample() -> None:
    c = Container(id="a" * 64, name="/web", created="", created_ns=0, image="busybox", image_id="sha256:x",
                  path="sh", args=[], config={}, host_config={}, state=State(), log_path="/x")
    s = empty_stats(c)
    assert s["read"] == "0001-01-01T00:00:00Z" and s["name"] == "/web" and s["memory_stats"] == {}
    validate({k: v for k, v in s.items() if k != "blkio_stats"}, "ContainerStatsResponse")
