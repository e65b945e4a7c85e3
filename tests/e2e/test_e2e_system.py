"""System commands end to end: version, info, events (docker CLI and sangja CLI)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable

from tests.support.commands import Cli
from tests.support.daemon import Daemon, target_kind
from tests.support.flows import validate_against_swagger


def _expected_api(daemon: Daemon) -> tuple[str, str]:
    if target_kind() == "sangjad":
        return "1.51", "1.24"
    version = daemon.get_json("/version")
    return str(version["ApiVersion"]), str(version["MinAPIVersion"])


def test_version_shows_the_server_api(cli: Cli, daemon: Daemon) -> None:
    api, minimum = _expected_api(daemon)
    out = cli.ok("version")
    server = out[out.index("Server:") :]
    assert re.search(rf"\n\s+API version:\s+{re.escape(api)} \(minimum version {re.escape(minimum)}\)\n", server), out
    assert re.search(r"\n\s+OS/Arch:\s+linux/\w+\n", server), out
    assert cli.ok("version", "--format", "{{.Server.APIVersion}}") == api + "\n"
    assert cli.ok("version", "--format", "{{.Server.MinAPIVersion}}") == minimum + "\n"

    raw = json.loads(daemon.api("GET", "/version"))
    validate_against_swagger(raw, "SystemVersion")


def test_info_counts_what_is_there(cli: Cli, daemon: Daemon, names: Callable[[str], str]) -> None:
    running = names("running")
    cli.ok("run", "-d", "--name", running, "busybox", "sh", "-c", "while :; do sleep 1; done")
    cli.ok("create", "--name", names("created"), "busybox", "true")

    out = cli.ok("info")
    assert "Server:" in out and "Swarm: inactive" in out
    fmt = "{{.Containers}} {{.ContainersRunning}} {{.ContainersPaused}} {{.ContainersStopped}} {{.Images}}"
    total, up, paused, stopped, images = (int(x) for x in cli.ok("info", "--format", fmt).split())
    all_rows = cli.ok("ps", "-a", "-q").split()
    assert total == len(all_rows)
    assert up == len(cli.ok("ps", "-q").split()) >= 1
    assert (paused, stopped) == (0, total - up)
    assert stopped >= 1
    assert images == len(set(cli.ok("images", "-q", "--no-trunc").split())) >= 1

    info = json.loads(cli.ok("info", "--format", "{{json .}}"))
    assert info["OSType"] == "linux"
    assert info["ServerVersion"]
    assert info["NCPU"] >= 1 and info["MemTotal"] > 0
    validate_against_swagger(daemon.get_json("/info"), "SystemInfo")


def test_events_since_until_lists_the_lifecycle(cli: Cli, names: Callable[[str], str]) -> None:
    name = names("ev")
    since = time.time()
    result = cli("run", "--name", name, "busybox", "sh", "-c", "exit 2")
    assert result.rc == 2, result
    cid = cli.ok("container", "inspect", "--format", "{{.Id}}", name).strip()
    until = time.time() + 0.5  # the die event is stamped at or after the run returned

    out = cli.ok("events", "--since", f"{since:.9f}", "--until", f"{until:.9f}", timeout=30)
    lines = [line for line in out.splitlines() if f" {cid} " in line]
    actions = [m.group(1) for line in lines if (m := re.search(rf" container (\w+) {cid} \(", line))]
    assert [a for a in actions if a in ("create", "start", "die")] == ["create", "start", "die"], out
    die = next(line for line in lines if f" container die {cid} " in line)
    assert "exitCode=2" in die and f"name={name}" in die and "image=busybox" in die
    # Each line starts with the event's time in RFC 3339 with nanoseconds.
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}", line) for line in lines), lines

    fmt = cli.ok(
        "events", "--since", f"{since:.9f}", "--until", f"{until:.9f}",
        "--filter", f"container={name}", "--format", "{{.Type}} {{.Action}}", timeout=30,
    )
    assert [a for a in fmt.splitlines() if a.split()[1] in ("create", "start", "die")] == [
        "container create", "container start", "container die",
    ], fmt
