"""AutoRemove (`run --rm`) containers: removed after they exit, volatile root filesystems, and what
a starting daemon does with the ones that are not running (moby's restore, with live-restore)."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

from tests.support.commands import Cli
from tests.support.daemon import SpawnedDaemon
from tests.support.flows import inspect, pid_alive, state, wait_log
from tests.support.leaks import is_volatile
from tests.support.waiting import wait_until

EXIT_ON_USR1 = 'trap "exit 5" USR1; echo started; while :; do sleep 0.2; done'


def _parent(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rfind(")") + 2 :].split()[1])


def _names(cli: Cli) -> list[str]:
    return cli.ok("ps", "-a", "--format", "{{.Names}}").split()


def test_only_rm_containers_get_a_volatile_rootfs(fresh_cli: Cli, fresh_daemon: SpawnedDaemon) -> None:
    cli = fresh_cli
    cli.ok("run", "-d", "--rm", "--name", "scratch", "busybox", "sleep", "60")
    cli.ok("run", "-d", "--name", "kept", "busybox", "sleep", "60")
    merged = {name: inspect(cli, name)["GraphDriver"]["Data"]["MergedDir"] for name in ("scratch", "kept")}
    assert is_volatile(merged["scratch"])
    assert not is_volatile(merged["kept"])
    # Writes inside still work and are seen; fsync in the container just returns.
    assert cli.ok("exec", "scratch", "sh", "-c", "echo data > /f && sync && cat /f") == "data\n"
    cli.ok("rm", "-f", "scratch", "kept")
    assert _names(cli) == []


def test_a_starting_daemon_removes_rm_containers_that_are_not_running(
    fresh_cli: Cli, fresh_daemon: SpawnedDaemon
) -> None:
    cli = fresh_cli
    cli.ok("create", "--rm", "--name", "never-started", "busybox", "true")
    cli.ok("run", "-d", "--rm", "--name", "exits-meanwhile", "busybox", "sh", "-c", EXIT_ON_USR1)
    cli.ok("run", "-d", "--rm", "--name", "loses-its-monitor", "busybox", "sh", "-c", EXIT_ON_USR1)
    cli.ok("run", "-d", "--rm", "--name", "still-running", "busybox", "sh", "-c", EXIT_ON_USR1)
    for name in ("exits-meanwhile", "loses-its-monitor", "still-running"):
        wait_log(cli, name, "started")
    exits_pid = state(cli, "exits-meanwhile")["Pid"]
    lost_pid = state(cli, "loses-its-monitor")["Pid"]
    running_pid = state(cli, "still-running")["Pid"]

    fresh_daemon.kill9()
    os.kill(exits_pid, signal.SIGUSR1)
    # As after a host crash: the monitor and the container are both gone, no exit was recorded.
    monitor = _parent(lost_pid)
    os.kill(monitor, signal.SIGKILL)
    os.kill(lost_pid, signal.SIGKILL)
    wait_until(lambda: not any(pid_alive(p) for p in (exits_pid, lost_pid, monitor)), timeout=30,
               what="the processes to be gone")
    fresh_daemon.start()

    wait_until(lambda: _names(cli) == ["still-running"], timeout=30,
               what="only the running --rm container to be left")
    assert state(cli, "still-running")["Pid"] == running_pid
    os.kill(running_pid, signal.SIGUSR1)
    wait_until(lambda: _names(cli) == [], timeout=30, what="the re-adopted --rm container to go after its exit")


def test_restart_keeps_an_rm_container_and_a_later_stop_removes_it(cli: Cli, names: Callable[[str], str]) -> None:
    # moby: a stop done by `restart` does not auto-remove (HasBeenManuallyRestarted); the next exit does.
    name = names("rm-restart")
    cli.ok("run", "-d", "--rm", "--name", name, "busybox", "sleep", "60")
    first = state(cli, name)["Pid"]
    assert cli.ok("restart", "-t", "1", name) == f"{name}\n"
    st = state(cli, name)
    assert st["Running"] and st["Pid"] != first
    assert cli.ok("exec", name, "sh", "-c", "echo x > /y && cat /y") == "x\n"
    cli.ok("stop", "-t", "1", name)
    wait_until(lambda: name not in _names(cli), timeout=30, what="the --rm container to be removed after its stop")
