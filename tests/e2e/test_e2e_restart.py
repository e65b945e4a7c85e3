"""Restart policies, and containers across a crash (kill -9) and restart of the daemon.

sangjad's containers run under conmon and outlive the daemon by design; dockerd does the
same with --live-restore, which is how the harness runs it for comparison.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any

from tests.support.commands import Cli
from tests.support.daemon import SpawnedDaemon
from tests.support.flows import inspect, logs, pid_alive, state, wait_log
from tests.support.waiting import wait_until

# A PID 1 shell that exits 5 on SIGUSR1 (sent from the host while the daemon is down).
EXIT_ON_USR1 = 'trap "exit 5" USR1; echo started; while :; do sleep 0.2; done'
TICKER = "i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.2; done"


def _signal_and_wait_gone(pid: int, sig: int) -> None:
    os.kill(pid, sig)
    wait_until(lambda: not pid_alive(pid), timeout=30, what=f"container process {pid} to exit")


def test_on_failure_restarts_a_failing_container_twice(cli: Cli, names: Callable[[str], str]) -> None:
    name = names("flaky")
    cli.ok("run", "-d", "--name", name, "--restart", "on-failure:2", "busybox", "sh", "-c", "echo run; exit 1")

    def settled() -> dict[str, Any] | None:
        info = inspect(cli, name)
        st = info["State"]
        done = st["Status"] == "exited" and not st["Restarting"] and info["RestartCount"] == 2
        return info if done else None

    info = wait_until(settled, timeout=60, what="two restarts, then exited")
    assert info["State"]["ExitCode"] == 1
    assert info["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert logs(cli, name) == "run\n" * 3


def test_running_container_survives_a_daemon_crash(fresh_cli: Cli, fresh_daemon: SpawnedDaemon) -> None:
    cli = fresh_cli
    cli.ok("run", "-d", "--name", "ticker", "busybox", "sh", "-c", TICKER)
    wait_log(cli, "ticker", "tick 1\n")
    pid = state(cli, "ticker")["Pid"]

    fresh_daemon.kill9()
    assert pid_alive(pid), "the container died with the daemon"
    fresh_daemon.start()

    st = state(cli, "ticker")
    assert (st["Status"], st["Running"], st["Pid"]) == ("running", True, pid)
    assert "ticker" in cli.ok("ps", "--format", "{{.Names}}").split()
    seen = logs(cli, "ticker").count("tick ")
    wait_log(cli, "ticker", "tick ", count=seen + 2)  # logging goes on after re-adoption

    assert cli.ok("stop", "-t", "1", "ticker") == "ticker\n"
    st = state(cli, "ticker")
    assert (st["Status"], st["ExitCode"]) == ("exited", 137)
    assert not pid_alive(pid)


def test_exit_while_the_daemon_is_down_is_seen_after_restart(
    fresh_cli: Cli, fresh_daemon: SpawnedDaemon
) -> None:
    cli = fresh_cli
    cli.ok("run", "-d", "--name", "quitter", "busybox", "sh", "-c", EXIT_ON_USR1)
    wait_log(cli, "quitter", "started")
    pid = state(cli, "quitter")["Pid"]

    fresh_daemon.kill9()
    _signal_and_wait_gone(pid, signal.SIGUSR1)
    fresh_daemon.start()

    st = state(cli, "quitter")
    assert (st["Status"], st["Running"], st["ExitCode"]) == ("exited", False, 5)
    rows = cli.ok("ps", "-a", "--format", "{{.Names}}|{{.Status}}").splitlines()
    assert any(r.startswith("quitter|Exited (5) ") for r in rows), rows
    assert "quitter" not in cli.ok("ps", "--format", "{{.Names}}").split()
    assert cli.ok("rm", "quitter") == "quitter\n"


def test_restart_always_container_comes_back_after_a_daemon_crash(
    fresh_cli: Cli, fresh_daemon: SpawnedDaemon
) -> None:
    cli = fresh_cli
    cli.ok("run", "-d", "--name", "phoenix", "--restart", "always", "busybox", "sh", "-c", EXIT_ON_USR1)
    wait_log(cli, "phoenix", "started")
    first_pid = state(cli, "phoenix")["Pid"]

    fresh_daemon.kill9()
    _signal_and_wait_gone(first_pid, signal.SIGUSR1)
    fresh_daemon.start()

    def back_up() -> dict[str, Any] | None:
        st = state(cli, "phoenix")
        return st if st["Running"] and st["Pid"] not in (0, first_pid) else None

    st = wait_until(back_up, timeout=60, what="the restart-always container to run again")
    assert pid_alive(st["Pid"])
    wait_log(cli, "phoenix", "started", count=2)
    assert cli.ok("rm", "-f", "phoenix") == "phoenix\n"
