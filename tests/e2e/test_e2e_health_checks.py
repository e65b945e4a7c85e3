"""Health checks through the docker CLI and sangja: --health-* flags and the image's HEALTHCHECK,
starting → unhealthy → healthy transitions, State.Health in inspect (swagger), "(healthy)" in ps,
`ps --filter health=`, `health_status` events, timeouts, stop, and a daemon restart."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from tests.support.commands import Cli
from tests.support.daemon import Daemon, SpawnedDaemon
from tests.support.flows import validate_against_swagger
from tests.support.waiting import wait_until


def _health(cli: Cli, name: str) -> dict[str, Any]:
    state = json.loads(cli.ok("inspect", "--format", "{{json .State}}", name))
    health: dict[str, Any] = state.get("Health") or {}
    return health


def _wait_status(cli: Cli, name: str, status: str, timeout: float = 30.0) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        h = _health(cli, name)
        return h if h.get("Status") == status else None

    found: dict[str, Any] = wait_until(probe, timeout, what=f"{name} to become {status}")
    return found


def test_health_cmd_transitions_ps_filter_and_events(cli: Cli, daemon: Daemon, names: Callable[[str], str]) -> None:
    name = names("health")
    since = str(int(time.time()) - 1)
    cli.ok("run", "-d", "--name", name, "--health-cmd", "cat /tmp/ok", "--health-interval", "200ms",
           "--health-retries", "2", "busybox", "sleep", "600")
    try:
        h = _wait_status(cli, name, "unhealthy")
        validate_against_swagger(h, "Health")
        assert h["FailingStreak"] >= 2 and h["Log"], h
        last = h["Log"][-1]
        assert last["ExitCode"] == 1 and "No such file or directory" in last["Output"], last
        assert last["Start"] <= last["End"], last
        status = cli.ok("ps", "--filter", f"name={name}", "--format", "{{.Status}}").strip()
        assert status.startswith("Up ") and status.endswith(" (unhealthy)"), status
        assert cli.ok("ps", "-q", "--filter", "health=unhealthy", "--filter", f"name={name}").strip()

        cli.ok("exec", name, "sh", "-c", "echo fine > /tmp/ok")
        h = _wait_status(cli, name, "healthy")
        assert h["FailingStreak"] == 0 and h["Log"][-1] == {**h["Log"][-1], "ExitCode": 0, "Output": "fine\n"}
        assert len(wait_until(lambda: len(_health(cli, name)["Log"]) == 5 and _health(cli, name)["Log"], 30,
                              what="a full log")) == 5
        status = cli.ok("ps", "--filter", f"name={name}", "--format", "{{.Status}}").strip()
        assert status.endswith(" (healthy)"), status
        assert cli.ok("ps", "-q", "--filter", "health=healthy", "--filter", f"name={name}").strip()
        assert not cli.ok("ps", "-q", "--filter", "health=none", "--filter", f"name={name}").strip()
        r = cli("ps", "--filter", "health=bogus")
        assert r.rc != 0 and ("invalid filter 'health=bogus': invalid value for health (bogus): must be one of "
                              "none, starting, healthy, unhealthy") in r.err, r

        events = cli.ok("events", "--since", since, "--until", str(int(time.time()) + 1), "--filter",
                        f"container={name}", "--filter", "event=health_status", "--format", "{{.Action}}")
        assert events.splitlines() == ["health_status: unhealthy", "health_status: healthy"], events

        cli.ok("stop", "-t", "1", name)
        h = _health(cli, name)
        assert h["Status"] == "unhealthy", h  # a stopped monitor reports unhealthy, like dockerd
        count = len(h["Log"])
        ends = [e["End"] for e in h["Log"]]
        time.sleep(0.5)  # no probe may run on a stopped container (several intervals)
        assert [e["End"] for e in _health(cli, name)["Log"]] == ends and len(ends) == count
    finally:
        cli.ok("rm", "-f", name)


def test_health_from_image_timeout_and_no_healthcheck(cli: Cli, names: Callable[[str], str]) -> None:
    base, image = names("hbase"), names("himage")
    ok, slow, off = names("hok"), names("hslow"), names("hoff")
    cli.ok("create", "--name", base, "busybox")
    cli.ok("commit", "-c", 'HEALTHCHECK --interval=200ms --timeout=5s CMD ["true"]', base, image)
    try:
        cli.ok("run", "-d", "--name", ok, image, "sleep", "600")
        assert _health(cli, ok)["Status"] in ("starting", "healthy")
        h = _wait_status(cli, ok, "healthy")
        assert h["Log"][0]["ExitCode"] == 0 and h["Log"][0]["Output"] == ""

        # The user's flags override the image's fields one by one.
        cli.ok("run", "-d", "--name", slow, "--health-cmd", "sleep 5", "--health-timeout", "300ms",
               "--health-retries", "1", image, "sleep", "600")
        cfg = json.loads(cli.ok("inspect", "--format", "{{json .Config.Healthcheck}}", slow))
        assert cfg["Test"] == ["CMD-SHELL", "sleep 5"] and cfg["Interval"] == 200_000_000, cfg
        h = _wait_status(cli, slow, "unhealthy")
        assert h["Log"][0]["ExitCode"] == -1 and h["Log"][0]["Output"] == "Health check exceeded timeout (300ms)"

        cli.ok("run", "-d", "--name", off, "--no-healthcheck", image, "sleep", "600")
        assert "Health" not in json.loads(cli.ok("inspect", "--format", "{{json .State}}", off))
        assert cli.ok("ps", "-q", "--filter", "health=none", "--filter", f"name={off}").strip()
        status = cli.ok("ps", "--filter", f"name={off}", "--format", "{{.Status}}").strip()
        assert "(" not in status, status
    finally:
        cli.ok("rm", "-f", ok, slow, off, base)
        cli.ok("rmi", image)


def test_health_monitor_resumes_after_a_daemon_restart(fresh_daemon: SpawnedDaemon, cli_home: Any) -> None:
    from tests.e2e.conftest import make_cli

    docker = make_cli("docker", fresh_daemon, cli_home)
    docker.ok("run", "-d", "--name", "hr", "--health-cmd", "cat /tmp/ok", "--health-interval", "200ms",
              "busybox", "sleep", "600")
    try:
        _wait_status(docker, "hr", "unhealthy")
        fresh_daemon.kill9()
        fresh_daemon.start()
        docker.ok("exec", "hr", "touch", "/tmp/ok")
        h = _wait_status(docker, "hr", "healthy")
        assert h["FailingStreak"] == 0
    finally:
        docker.ok("rm", "-f", "hr")
