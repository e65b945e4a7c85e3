"""`--init` (tini as PID 1, bind-mounted as /sbin/docker-init): `stop` of a `sleep` ends by the
forwarded SIGTERM (exit 143) instead of the SIGKILL after the timeout (137), orphans are reaped,
and the daemon's `--init` gives every container that leaves HostConfig.Init unset an init."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.commands import Cli
from tests.support.daemon import SpawnedDaemon
from tests.support.waiting import wait_until

# An orphan that exits at once: its zombie is left to whatever PID 1 is.
ORPHAN = "(sleep 0.1 &) ; exec sleep 600"


def _procs(cli: Cli, name: str) -> list[str]:
    """/proc/<pid>/stat of every process in the container: "pid (comm) state ..."."""
    return cli.ok("exec", name, "sh", "-c", "cat /proc/[0-9]*/stat 2>/dev/null; true").splitlines()


def _zombies(cli: Cli, name: str) -> list[str]:
    return [line for line in _procs(cli, name) if ") Z " in line]


def _exit_code(cli: Cli, name: str) -> int:
    return int(cli.ok("inspect", "--format", "{{.State.ExitCode}}", name).strip())


def test_init_stop_forwards_sigterm_and_reaps_zombies(cli: Cli, names: Callable[[str], str]) -> None:
    init, bare = names("init"), names("bare")
    cli.ok("run", "-d", "--init", "--name", init, "busybox", "sh", "-c", ORPHAN)
    cli.ok("run", "-d", "--name", bare, "busybox", "sh", "-c", ORPHAN)
    try:
        top = cli.ok("exec", init, "cat", "/proc/1/cmdline").replace("\0", " ").strip()
        assert top.startswith("/sbin/docker-init -- sh -c"), top
        assert json.loads(cli.ok("inspect", "--format", "{{json .HostConfig.Init}}", init)) is True
        # The orphan's zombie stays under a bare `sleep` PID 1 and is reaped under tini.
        wait_until(lambda: _zombies(cli, bare), 30, what="a zombie under a PID 1 that never waits")
        wait_until(lambda: sum("(sleep)" in line for line in _procs(cli, init)) == 1, 30,
                   what="the orphan under tini to be gone (only `sleep 600` left)")
        assert not _zombies(cli, init)

        cli.ok("stop", init)
        assert _exit_code(cli, init) == 143  # SIGTERM reached sleep through tini: no 10 s wait for SIGKILL
        cli.ok("stop", "-t", "1", bare)
        assert _exit_code(cli, bare) == 137  # a PID 1 without a SIGTERM handler ignores it
    finally:
        cli.ok("rm", "-f", init, bare)


def test_daemon_init_flag_is_the_default_for_unset_init(fresh_daemon: SpawnedDaemon, cli_home: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.e2e.conftest import make_cli

    base_argv = fresh_daemon.argv
    monkeypatch.setattr(fresh_daemon, "argv", lambda: [*base_argv(), "--init"])
    fresh_daemon.stop()
    fresh_daemon.start()
    docker = make_cli("docker", fresh_daemon, cli_home)
    docker.ok("run", "-d", "--name", "dflt", "busybox", "sleep", "600")
    docker.ok("run", "-d", "--name", "off", "--init=false", "busybox", "sleep", "600")
    try:
        assert docker.ok("exec", "dflt", "cat", "/proc/1/cmdline").startswith("/sbin/docker-init\0")
        assert docker.ok("exec", "off", "cat", "/proc/1/cmdline").startswith("sleep\0")
        assert json.loads(docker.ok("inspect", "--format", "{{json .HostConfig.Init}}", "dflt")) is None
        docker.ok("stop", "dflt")
        assert _exit_code(docker, "dflt") == 143
    finally:
        docker.ok("rm", "-f", "dflt", "off")
