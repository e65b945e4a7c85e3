"""`GET /containers/{id}/stats` end to end: Docker's shape (swagger), numbers that match the
container's cgroup, and the docker CLI's `docker stats --no-stream` computing CPU %, memory
usage/limit and PIDs from it."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable

from tests.support.commands import Cli
from tests.support.daemon import Daemon
from tests.support.flows import validate_against_swagger
from tests.support.unixhttp import UnixHTTPConnection

MiB = 1024 * 1024


def _busy(docker_cli: Cli, name: str) -> str:
    return docker_cli.ok("run", "-d", "--name", name, "-m", "64m", "--pids-limit", "30", "--cpus", "1",
                         "busybox", "sh", "-c", "while :; do :; done").strip()


def test_stats_one_shot_and_two_samples_match_the_cgroup(
    docker_cli: Cli, daemon: Daemon, names: Callable[[str], str]
) -> None:
    name = names("stats")
    cid = _busy(docker_cli, name)
    try:
        one = daemon.get_json(f"/containers/{name}/stats?stream=false&one-shot=true")
        validate_against_swagger(one, "ContainerStatsResponse")
        assert one["id"] == cid and one["name"] == f"/{name}"
        assert one["precpu_stats"]["cpu_usage"]["total_usage"] == 0
        assert one["memory_stats"]["limit"] == 64 * MiB
        assert one["pids_stats"] == {"current": 1, "limit": 30}
        assert one["cpu_stats"]["online_cpus"] >= 1 and one["cpu_stats"]["system_cpu_usage"] > 0

        two = daemon.get_json(f"/containers/{name}/stats?stream=false")
        validate_against_swagger(two, "ContainerStatsResponse")
        cpu_delta = two["cpu_stats"]["cpu_usage"]["total_usage"] - two["precpu_stats"]["cpu_usage"]["total_usage"]
        sys_delta = two["cpu_stats"]["system_cpu_usage"] - two["precpu_stats"]["system_cpu_usage"]
        assert cpu_delta > 0 and sys_delta > 0 and two["preread"] != "0001-01-01T00:00:00Z"
        # The counters are the cgroup's: usage read inside stays within what the stats reported around it.
        inside = int(docker_cli.ok("exec", name, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"))
        assert inside == two["memory_stats"]["limit"]
        assert "eth0" in two.get("networks", {}) and two["networks"]["eth0"]["rx_bytes"] >= 0
    finally:
        docker_cli.ok("rm", "-f", name)


def test_stats_stream_sends_a_sample_per_second(docker_cli: Cli, daemon: Daemon, names: Callable[[str], str]) -> None:
    name = names("stream")
    _busy(docker_cli, name)
    conn = UnixHTTPConnection(daemon.socket_path, 30)
    try:
        conn.request("GET", f"/containers/{name}/stats")
        resp: http.client.HTTPResponse = conn.getresponse()
        assert resp.status == 200
        first = json.loads(resp.readline())
        second = json.loads(resp.readline())
        assert first["preread"] == "0001-01-01T00:00:00Z" and second["preread"] == first["read"]
        assert second["precpu_stats"] == first["cpu_stats"]
    finally:
        conn.close()
        docker_cli.ok("rm", "-f", name)


def test_docker_stats_no_stream(docker_cli: Cli, names: Callable[[str], str]) -> None:
    name = names("dstats")
    idle = names("idle")
    _busy(docker_cli, name)
    docker_cli.ok("create", "--name", idle, "busybox")
    try:
        out = docker_cli.ok("stats", "--no-stream", "--format",
                            "{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}", name)
        got, cpu, mem, pids = out.strip().split("|")
        assert got == name and pids == "1", out
        assert float(cpu.rstrip("%")) > 20.0, out  # a busy loop under --cpus 1
        usage, limit = (s.strip() for s in mem.split("/"))
        assert limit == "64MiB" and usage.endswith(("KiB", "MiB", "B")), out

        r = docker_cli("stats", "--no-stream", "nosuch")
        assert r.rc == 1 and "No such container: nosuch" in r.err, r
        out = docker_cli.ok("stats", "--no-stream", "-a", "--format", "{{.Name}} {{.CPUPerc}} {{.PIDs}}")
        lines = dict(line.split(" ", 1) for line in out.splitlines())
        assert lines[idle] == "0.00% 0", out
    finally:
        docker_cli.ok("rm", "-f", name, idle)
