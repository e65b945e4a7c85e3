"""`sangja stats`: docker's numbers (stats_helpers.go), columns (formatter_stats.go) and the
collect/redraw loop, against the fake Engine API."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from sangja.cli.commands import stats
from tests.unit.test_cli_fake_api import Conn, FakeAPI, Request, invoke

MiB = 1024 * 1024
CID = "0123456789ab" + "c" * 52


def sample(name: str = "/web", ident: str = CID, **over: Any) -> dict[str, Any]:
    v: dict[str, Any] = {
        "name": name, "id": ident, "read": "2026-01-01T00:00:01Z", "preread": "2026-01-01T00:00:00Z",
        "precpu_stats": {"cpu_usage": {"total_usage": 1_000_000_000}, "system_cpu_usage": 100_000_000_000,
                         "online_cpus": 2},
        "cpu_stats": {"cpu_usage": {"total_usage": 1_500_000_000}, "system_cpu_usage": 102_000_000_000,
                      "online_cpus": 2},
        "memory_stats": {"usage": 12 * MiB, "limit": 64 * MiB, "stats": {"total_inactive_file": 4 * MiB}},
        "pids_stats": {"current": 3, "limit": 30},
        "networks": {"eth0": {"rx_bytes": 1500, "tx_bytes": 500}, "eth1": {"rx_bytes": 500, "tx_bytes": 0}},
        "blkio_stats": {"io_service_bytes_recursive": [
            {"major": 8, "minor": 0, "op": "Read", "value": 4096},
            {"major": 8, "minor": 0, "op": "Write", "value": 2_000_000},
            {"major": 8, "minor": 0, "op": "Sync", "value": 7},
            {"major": 8, "minor": 0, "op": "Total", "value": 2_004_096},
        ]},
    }
    v.update(over)
    return v


def test_cpu_percent_is_the_share_of_host_time_times_online_cpus() -> None:
    v = sample()
    # 0.5 s of container CPU over 2 s of host CPU time (all CPUs) on 2 CPUs → 50 %
    assert stats.cpu_percent(v["precpu_stats"], v["cpu_stats"]) == 50.0
    # no online_cpus: the length of percpu_usage counts
    cur = {"cpu_usage": {"total_usage": 300, "percpu_usage": [1, 1, 1, 1]}, "system_cpu_usage": 1000}
    assert stats.cpu_percent({"cpu_usage": {"total_usage": 100}, "system_cpu_usage": 600}, cur) == 200.0
    # a first sample (precpu empty) with counters still counts; zero or negative deltas give 0
    assert stats.cpu_percent(v["cpu_stats"], v["cpu_stats"]) == 0.0
    assert stats.cpu_percent(v["cpu_stats"], v["precpu_stats"]) == 0.0


def test_memory_without_inactive_file_cache_v1_then_v2() -> None:
    assert stats.mem_usage_no_cache({"usage": 10, "stats": {"total_inactive_file": 4, "inactive_file": 1}}) == 6
    assert stats.mem_usage_no_cache({"usage": 10, "stats": {"inactive_file": 3}}) == 7
    assert stats.mem_usage_no_cache({"usage": 10, "stats": {"total_inactive_file": 11, "inactive_file": 2}}) == 8
    assert stats.mem_usage_no_cache({"usage": 10, "stats": {"inactive_file": 12}}) == 10
    assert stats.mem_usage_no_cache({}) == 0
    assert stats.mem_percent(0, 5) == 0.0 and stats.mem_percent(200, 50) == 25.0


def test_row_columns_are_dockers() -> None:
    row = stats.StatsRow(stats.replace(stats.entry_from_sample(sample()), container="web"), trunc=True)
    assert row.Container() == "web" and row.Name() == "web" and row.ID() == "0123456789ab"
    assert row.CPUPerc() == "50.00%"
    assert row.MemUsage() == "8MiB / 64MiB" and row.MemPerc() == "12.50%"
    assert row.NetIO() == "2kB / 500B"
    assert row.BlockIO() == "4.1kB / 2MB"
    assert row.PIDs() == "3"
    assert stats.StatsRow(stats.entry_from_sample(sample()), trunc=False).ID() == CID
    blank = stats.StatsRow(stats.StatsEntry(container="x", is_invalid=True), trunc=True)
    assert (blank.Name(), blank.CPUPerc(), blank.MemUsage(), blank.MemPerc(), blank.NetIO(), blank.BlockIO(),
            blank.PIDs()) == ("--", "--", "-- / --", "--", "--", "--", "--")
    stopped = stats.StatsRow(stats.entry_from_sample({"name": "/idle", "id": CID, "memory_stats": {},
                                                      "pids_stats": {}}), trunc=True)
    assert (stopped.CPUPerc(), stopped.MemUsage(), stopped.MemPerc(), stopped.NetIO(), stopped.PIDs()) == \
        ("0.00%", "0B / 0B", "0.00%", "0B / 0B", "0")


def test_frame_redraws_in_place() -> None:
    assert stats.frame("A\nB\n") == "\x1b[HA\x1b[K\nB\x1b[K\n\x1b[K\n\x1b[J"


def test_stale_entries_show_dashes_after_two_seconds() -> None:
    s = stats.Stats("web")
    s.set_statistics(stats.entry_from_sample(sample()))
    assert s.last_update is not None
    s.check_stale(s.last_update + 1.0)
    assert not s.snapshot().is_invalid
    s.check_stale(s.last_update + 2.5)
    entry = s.snapshot()
    assert entry.is_invalid and entry.name == "/web" and str(s.error) == "timeout waiting for stats"
    s.set_statistics(stats.entry_from_sample(sample()))
    assert not s.snapshot().is_invalid and s.error is None


def test_no_stream_table_for_named_containers(tmp_path: Path) -> None:
    with FakeAPI(tmp_path) as api:
        api.json("GET", "/containers/web/stats", sample())
        api.json("GET", "/containers/idle/stats", {"name": "/idle", "id": "f" * 64, "memory_stats": {},
                                                   "pids_stats": {}, "cpu_stats": {}, "precpu_stats": {}})
        rc, out, err = invoke(api, ["stats", "--no-stream", "web", "idle"])
        assert (rc, err) == (0, "")
        assert out.splitlines() == [
            "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O      BLOCK I/O     PIDS",
            "0123456789ab   web       50.00%    8MiB / 64MiB        12.50%    2kB / 500B   4.1kB / 2MB   3",
            "ffffffffffff   idle      0.00%     0B / 0B             0.00%     0B / 0B      0B / 0B       0",
        ]
        assert {r.query.get("stream") for r in api.requests if r.route.endswith("/stats")} == {"0"}

        rc, out, _ = invoke(api, ["container", "stats", "--no-stream", "--no-trunc", "--format",
                                  "{{.Container}} {{.ID}} {{.PIDs}}", "web"])
        assert (rc, out) == (0, f"web {CID} 3\n")
        rc, out, _ = invoke(api, ["stats", "--no-stream", "--format", "json", "web"])
        assert rc == 0 and json.loads(out) == {
            "BlockIO": "4.1kB / 2MB", "CPUPerc": "50.00%", "Container": "web", "ID": "0123456789ab",
            "MemPerc": "12.50%", "MemUsage": "8MiB / 64MiB", "Name": "web", "NetIO": "2kB / 500B", "PIDs": "3"}


def test_no_stream_errors_are_joined(tmp_path: Path) -> None:
    with FakeAPI(tmp_path) as api:
        api.json("GET", "/containers/web/stats", sample())
        api.error("GET", "/containers/nosuch/stats", 404, "No such container: nosuch")
        api.error("GET", "/containers/other/stats", 404, "No such container: other")
        rc, out, err = invoke(api, ["stats", "--no-stream", "nosuch", "web", "other"])
        assert rc == 1 and out == ""
        assert err == ("Error response from daemon: No such container: nosuch\n"
                       "Error response from daemon: No such container: other\n")
        rc, _, err = invoke(api, ["stats", "--no-stream", "--format", "{{.Nope", "web"])
        assert rc == 1 and "template parsing error" in err


def test_no_stream_without_names_lists_running_or_all(tmp_path: Path) -> None:
    with FakeAPI(tmp_path) as api:
        api.json("GET", "/containers/json", [{"Id": CID}])
        api.json("GET", "/containers/0123456789ab/stats", sample())
        rc, out, _ = invoke(api, ["stats", "--no-stream", "--format", "{{.Container}}|{{.Name}}|{{.CPUPerc}}"])
        assert (rc, out) == (0, "0123456789ab|web|50.00%\n")
        assert "all" not in api.routed("/containers/json")[-1].query
        rc, _, _ = invoke(api, ["stats", "--no-stream", "-a"])
        assert rc == 0 and api.routed("/containers/json")[-1].query["all"] == "1"

        api.json("GET", "/containers/json", [])
        rc, out, _ = invoke(api, ["stats", "--no-stream"])
        assert rc == 0 and out.splitlines() == [
            "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   BLOCK I/O   PIDS"]


def test_stream_follows_start_events_and_stops_when_the_daemon_goes(tmp_path: Path) -> None:
    sent = threading.Event()

    def stats_stream(req: Request, conn: Conn) -> None:
        assert req.query.get("stream") == "1"
        conn.start_chunked()
        conn.chunk(json.dumps(sample()).encode() + b"\n")
        sent.set()
        FakeAPI_stopped.wait(10)

    def events(req: Request, conn: Conn) -> None:
        assert json.loads(req.query["filters"]) == {"type": {"container": True}}
        conn.start_chunked()
        conn.chunk(json.dumps({"Type": "container", "Action": "start", "Actor": {"ID": CID}}).encode() + b"\n")
        assert sent.wait(10)
        # at least one more redraw with the sample before the daemon "goes away"
        threading.Event().wait(2 * stats.TICK)
        conn.end_chunked()

    with FakeAPI(tmp_path) as api:
        FakeAPI_stopped = api.stopped
        api.json("GET", "/containers/json", [])
        api.on("GET", "/events", events)
        api.on("GET", "/containers/0123456789ab/stats", stats_stream)
        rc, out, err = invoke(api, ["stats", "--format", "table {{.Container}}\t{{.CPUPerc}}"])
    assert (rc, err) == (0, "")
    frames = out.split("\x1b[H")[1:]
    assert frames and all(f.endswith("\x1b[J") for f in frames)
    assert frames[0].startswith("CONTAINER")
    assert "0123456789ab   50.00%\x1b[K\n" in frames[-1]
