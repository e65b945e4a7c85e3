"""Resource limits end to end, through the docker CLI and sangja: the limits reach the container's
cgroup (read from inside, where runc mounts the container's own cgroup), an OOM kill is reported,
--cpus throttles, --pids-limit contains a fork bomb, `update` changes a running container, and
bad values fail with Docker's messages without creating anything."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

import pytest

from tests.support.commands import Cli
from tests.support.daemon import target_kind
from tests.support.flows import inspect, state

MiB = 1024 * 1024

# Read one cgroup value inside the container: the v1 file, or its v2 counterpart.
READ_LIMITS = (
    "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; "
    "cat /sys/fs/cgroup/memory/memory.soft_limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.low; "
    "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max; "
    "cat /sys/fs/cgroup/pids/pids.max; "
    "cat /sys/fs/cgroup/cpuset/cpuset.cpus 2>/dev/null || cat /sys/fs/cgroup/cpuset.cpus; "
    "ulimit -n; ulimit -Hn; "
    "df -k /dev/shm | tail -1 | awk '{print $2}'; "
    "test -c /dev/mynull && echo dev-ok"
)


def _events(cli: Cli, name: str, since: float) -> list[dict[str, object]]:
    out = cli.ok("events", "--since", f"{since:.3f}", "--until", f"{time.time():.3f}",
                 "--filter", f"container={name}", "--format", "{{json .}}")
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_limits_reach_the_cgroup(cli: Cli, names: Callable[[str], str]) -> None:
    name = names("limits")
    out = cli.ok(
        "run", "--rm", "--name", name, "--memory", "64m", "--memory-reservation", "32m", "--cpus", "0.5",
        "--pids-limit", "20", "--cpuset-cpus", "0", "--shm-size", "16m", "--ulimit", "nofile=1024:2048",
        "--device", "/dev/null:/dev/mynull", "busybox", "sh", "-c", READ_LIMITS,
    )
    lines = out.split()
    assert lines == [str(64 * MiB), str(32 * MiB), "50000", "20", "0", "1024", "2048", "16384", "dev-ok"], out


def test_limits_are_recorded_in_the_host_config(cli: Cli, names: Callable[[str], str]) -> None:
    name = names("hc")
    cli.ok("create", "--name", name, "-m", "64m", "--cpus", "1.5", "--pids-limit", "0", "--oom-kill-disable",
           "--ulimit", "nproc=100:200", "busybox")
    try:
        hc = inspect(cli, name)["HostConfig"]
        assert hc["Memory"] == 64 * MiB
        assert hc["MemorySwap"] == 128 * MiB  # Docker's default on a host that accounts swap: 2 x memory
        assert hc["NanoCpus"] == 1_500_000_000
        assert hc.get("PidsLimit") in (None, 0)  # 0 means unlimited
        assert hc["OomKillDisable"] is True
        assert hc["Ulimits"] == [{"Name": "nproc", "Hard": 200, "Soft": 100}]
    finally:
        cli.ok("rm", name)


def test_memory_hog_is_oom_killed_and_reported(cli: Cli, names: Callable[[str], str]) -> None:
    name = names("hog")
    since = time.time() - 1
    # tail keeps the current "line" of /dev/zero in memory: it grows until the limit.
    r = cli("run", "--name", name, "--memory", "64m", "busybox", "tail", "/dev/zero", timeout=60)
    try:
        assert r.rc == 137, r
        st = state(cli, name)
        assert st["OOMKilled"] is True and st["ExitCode"] == 137, st
        actions = [e.get("Action") for e in _events(cli, name, since)]
        assert "oom" in actions and "die" in actions, actions
        assert actions.index("oom") < actions.index("die"), actions
    finally:
        cli.ok("rm", "-f", name)


def test_cpus_half_throttles_a_busy_loop(cli: Cli) -> None:
    # CPU time used by the container's cgroup (ns) over ~2 s of wall time (/proc/uptime, 10 ms steps).
    script = (
        "while :; do :; done & "
        "u=/sys/fs/cgroup/cpuacct/cpuacct.usage; sleep 0.5; "
        "read a < $u; read s _ < /proc/uptime; sleep 2; read b < $u; read e _ < /proc/uptime; "
        "echo $a $b $s $e; kill %1"
    )
    out = cli.ok("run", "--rm", "--cpus", "0.5", "busybox", "sh", "-c", script, timeout=60)
    a, b, start, end = out.split()
    share = (int(b) - int(a)) / ((float(end) - float(start)) * 1e9)
    assert 0.3 < share < 0.7, f"used {share:.2f} of a CPU under --cpus 0.5 ({out})"


def test_pids_limit_contains_a_fork_bomb(cli: Cli) -> None:
    # The bomb runs in a subshell (a failed fork ends that shell); the count is read with builtins only.
    script = (
        "(for i in $(seq 1 60); do sleep 5 & done) 2>/dev/null; "
        "f=/sys/fs/cgroup/pids/pids.current; [ -e $f ] || f=/sys/fs/cgroup/pids.current; read n < $f; echo $n"
    )
    out = cli.ok("run", "--rm", "--pids-limit", "20", "busybox", "sh", "-c", script, timeout=60)
    current = int(out.split()[-1])
    assert 1 < current <= 20, out


def test_update_changes_a_running_container(cli: Cli, names: Callable[[str], str]) -> None:
    name = names("upd")
    since = time.time() - 1
    cli.ok("run", "-d", "--name", name, "-m", "64m", "busybox", "sleep", "60")
    try:
        assert cli.ok("update", "--memory", "100m", "--memory-swap", "300m", "--pids-limit", "30",
                      "--cpu-shares", "512", "--restart", "on-failure:3", name).strip() == name
        hc = inspect(cli, name)["HostConfig"]
        assert (hc["Memory"], hc["MemorySwap"], hc["PidsLimit"], hc["CpuShares"]) == (100 * MiB, 300 * MiB, 30, 512)
        assert hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
        got = cli.ok("exec", name, "sh", "-c",
                     "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max "
                     "/sys/fs/cgroup/cpu/cpu.shares").split()
        assert got == [str(100 * MiB), "30", "512"], got
        assert "update" in [e.get("Action") for e in _events(cli, name, since)]

        # Docker's conflicts and range checks; nothing changes.
        r = cli("update", "--memory", "400m", name)
        assert r.rc == 1 and ("Memory limit should be smaller than already set memoryswap limit, update the "
                              "memoryswap at the same time") in r.err, r
        r = cli("update", "--memory", "1k", name)
        assert r.rc == 1 and "Minimum memory limit allowed is 6MB" in r.err, r
        assert inspect(cli, name)["HostConfig"]["Memory"] == 100 * MiB
        r = cli("update", name)
        assert r.rc != 0 and "you must provide one or more flags when using this command" in r.err, r
    finally:
        cli.ok("rm", "-f", name)


def test_update_of_a_stopped_container_applies_at_start(cli: Cli, names: Callable[[str], str]) -> None:
    name = names("updstopped")
    cli.ok("create", "--name", name, "--cpu-quota", "20000", "busybox", "sh", "-c",
           "cat /sys/fs/cgroup/pids/pids.max")
    try:
        cli.ok("update", "--pids-limit", "42", name)
        r = cli("update", "--cpus", "0.5", name)
        assert r.rc == 1 and ("Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been "
                              "set") in r.err, r
        assert cli.ok("start", "-a", name).strip() == "42"
    finally:
        cli.ok("rm", "-f", name)


BAD = [
    (["--memory", "1k"], "Minimum memory limit allowed is 6MB"),
    (["--memory", "64m", "--memory-swap", "32m"],
     "Minimum memoryswap limit should be larger than memory limit, see usage"),
    (["--memory-swap", "64m"], "You should always set the Memory limit when using Memoryswap limit, see usage"),
    (["--memory", "16m", "--memory-reservation", "32m"],
     "Minimum memory limit can not be less than memory reservation limit, see usage"),
    (["--cpus", "0.5", "--cpu-period", "50000"], "Conflicting options: Nano CPUs and CPU Period cannot both be set"),
    (["--cpu-quota", "500"], "CPU cfs quota can not be less than 1ms (i.e. 1000)"),
    (["--cpuset-cpus", "0-x"], "Invalid value 0-x for cpuset cpus: invalid format: 0-x"),
]


@pytest.mark.parametrize(("flags", "message"), BAD, ids=[" ".join(f) for f, _ in BAD])
def test_bad_limits_fail_with_dockers_message(
    cli: Cli, names: Callable[[str], str], flags: list[str], message: str
) -> None:
    name = names("bad")
    r = cli("run", "--name", name, *flags, "busybox", "true")
    assert r.rc == 125 and message in r.err, r
    assert name not in cli.ok("ps", "-a", "--format", "{{.Names}}").split()


def test_cpus_and_cpuset_beyond_the_host_fail(cli: Cli, names: Callable[[str], str]) -> None:
    n = os.cpu_count() or 1
    r = cli("run", "--rm", "--cpus", str(n + 1), "busybox", "true")
    assert r.rc == 125 and (f"range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available"
                            in r.err.replace("Range", "range")), r
    r = cli("run", "--rm", "--cpuset-cpus", str(n + 7), "busybox", "true")
    assert r.rc == 125 and f"Requested CPUs are not available - requested {n + 7}, available: " in r.err, r


def test_ulimit_above_the_host_hard_limit_is_refused(cli: Cli, names: Callable[[str], str]) -> None:
    if target_kind() != "sangjad":
        pytest.skip("sangja checks the host's hard limit at create; dockerd leaves it to runc")
    name = names("ulimit")
    r = cli("run", "--name", name, "--ulimit", "nofile=4096:99999999", "busybox", "true")
    assert r.rc == 125 and "nofile" in r.err and "above the host's hard limit" in r.err, r
    assert name not in cli.ok("ps", "-a", "--format", "{{.Names}}").split()
    r = cli("run", "--rm", "--ulimit", "nofile=512:1024", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn")
    assert r.rc == 0 and r.out.split() == ["512", "1024"], r


def test_missing_device_fails_the_start(cli: Cli, names: Callable[[str], str]) -> None:
    name = names("nodev")
    r = cli("run", "--name", name, "--device", "/dev/no-such-device", "busybox", "true")
    try:
        assert r.rc != 0 and ('error gathering device information while adding custom device '
                              '"/dev/no-such-device": no such file or directory') in r.err, r
    finally:
        cli("rm", "-f", name)
