"""Containers end to end: run, ps, logs, inspect, stop, restart, rm, and Docker's errors.

Each test runs once through the docker CLI and once through the sangja CLI. Networking is
`--network host` (published ports come later), so servers bind 127.0.0.1:<free port>.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.support.commands import Cli
from tests.support.daemon import target_kind
from tests.support.flows import (
    RM_RUNNING_LEGACY,
    RM_RUNNING_MODERN,
    docker_time,
    http_get,
    inspect,
    logs,
    pid_alive,
    short_id,
    state,
    validate_against_swagger,
    wait_http,
    wait_log,
)
from tests.support.waiting import wait_until

LOOP = "echo ready; while :; do sleep 1; done"  # a sh PID 1: no TERM handler, so TERM is ignored


def _names(cli: Cli, *flags: str) -> list[str]:
    return cli.ok("ps", *flags, "--format", "{{.Names}}").splitlines()


def test_web_server_lifecycle(cli: Cli, names: Callable[[str], str], free_port: int) -> None:
    name = names("web")
    cid = cli.ok(
        "run", "-d", "--name", name, "--network", "host",
        "busybox", "httpd", "-f", "-v", "-p", f"127.0.0.1:{free_port}", "-h", "/",
    ).strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid), cid

    body = wait_http(free_port, "/etc/passwd")
    assert body.startswith(b"root:x:0:0:")
    assert http_get(free_port, "/no/such/file")[0] == 404

    # ps: the table, then --format
    table = cli.ok("ps").splitlines()
    assert re.split(r"\s{2,}", table[0].strip()) == [
        "CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES",
    ]
    row = next(line for line in table[1:] if line.startswith(short_id(cid)))
    assert row.split()[1] == "busybox" and row.split()[-1] == name
    assert " Up " in row
    assert name in _names(cli)
    assert cli.ok("ps", "-q", "--no-trunc").split().count(cid) == 1

    # logs: httpd -v reports each request on stderr
    text = wait_log(cli, name, "response:404")
    assert "response:200" in text

    # inspect: the docker CLI decodes it with API 1.51's types
    info = inspect(cli, name)
    validate_against_swagger(info, "ContainerInspectResponse")
    assert info["Id"] == cid
    assert info["Name"] == "/" + name
    assert info["State"]["Status"] == "running" and info["State"]["Running"] is True
    assert pid_alive(info["State"]["Pid"])
    assert info["Config"]["Cmd"] == ["httpd", "-f", "-v", "-p", f"127.0.0.1:{free_port}", "-h", "/"]
    assert info["Config"]["Image"] == "busybox"
    assert info["HostConfig"]["NetworkMode"] == "host"
    assert info["RestartCount"] == 0
    assert info["Image"] == inspect(cli, "busybox", kind="image")["Id"]
    first_pid, first_start = info["State"]["Pid"], info["State"]["StartedAt"]

    # restart: a new process, the same container, the server back up
    assert cli.ok("restart", "-t", "1", name) == name + "\n"
    info = inspect(cli, name)
    assert info["State"]["Running"] is True
    assert info["State"]["Pid"] != first_pid and not pid_alive(first_pid)
    assert docker_time(info["State"]["StartedAt"]) > docker_time(first_start)
    assert info["RestartCount"] == 0  # a manual restart is not a policy restart
    wait_http(free_port, "/etc/passwd")

    # stop: httpd is PID 1 with no TERM handler, so stop ends in SIGKILL after -t 1
    assert cli.ok("stop", "-t", "1", name) == name + "\n"
    st = state(cli, name)
    assert st["Status"] == "exited" and st["Running"] is False and st["ExitCode"] == 137
    assert name not in _names(cli)
    status = dict(line.split("|", 1) for line in cli.ok("ps", "-a", "--format", "{{.Names}}|{{.Status}}").splitlines())
    assert status[name].startswith("Exited (137) ")
    try:
        http_get(free_port, "/etc/passwd", timeout=2)
        raise AssertionError("the server still answers after stop")
    except OSError:
        pass

    assert cli.ok("rm", name) == name + "\n"
    assert name not in _names(cli, "-a")
    result = cli("container", "inspect", name)
    assert result.rc == 1 and f"No such container: {name}" in result.err


def test_stop_kills_a_shell_that_ignores_term(cli: Cli, names: Callable[[str], str]) -> None:
    name = names("stubborn")
    cli.ok("run", "-d", "--name", name, "busybox", "sh", "-c", LOOP)
    wait_log(cli, name, "ready")
    pid = state(cli, name)["Pid"]

    assert cli.ok("stop", "-t", "1", name) == name + "\n"
    st = state(cli, name)
    assert (st["Status"], st["ExitCode"], st["Running"]) == ("exited", 137, False)
    assert not pid_alive(pid)
    assert docker_time(st["FinishedAt"]) > docker_time(st["StartedAt"])

    # stopping a stopped container is not an error for the CLI (304 from the API)
    assert cli.ok("stop", name) == name + "\n"


def test_ps_all_shows_stopped_and_created(cli: Cli, names: Callable[[str], str]) -> None:
    created, exited = names("created"), names("exited")
    cli.ok("create", "--name", created, "busybox", "true")
    assert cli("run", "--name", exited, "busybox", "sh", "-c", "exit 4").rc == 4

    running = _names(cli)
    assert created not in running and exited not in running
    rows = dict(line.split("|", 1) for line in cli.ok("ps", "-a", "--format", "{{.Names}}|{{.Status}}").splitlines())
    assert rows[created] == "Created"
    assert rows[exited].startswith("Exited (4) ")


def test_run_rm_prints_output_and_returns_the_exit_code(cli: Cli, names: Callable[[str], str]) -> None:
    name = names("once")
    result = cli("run", "--rm", "--name", name, "busybox", "sh", "-c", "echo hi; exit 3")
    assert (result.rc, result.out) == (3, "hi\n"), result
    assert name not in _names(cli, "-a")
    assert cli("container", "inspect", name).rc == 1


def test_run_streams_stdout_and_stderr_apart(cli: Cli) -> None:
    result = cli("run", "--rm", "busybox", "sh", "-c", "echo to-out; echo to-err >&2")
    assert (result.rc, result.out, result.err) == (0, "to-out\n", "to-err\n"), result


def test_run_of_a_missing_command(cli: Cli, names: Callable[[str], str]) -> None:
    name = names("nocmd")
    result = cli("run", "--name", name, "busybox", "nosuchcmd")
    assert result.rc == 127, result
    assert result.err.startswith(f"{cli.name}: Error response from daemon: "), result
    assert 'exec: "nosuchcmd": executable file not found in $PATH' in result.err
    st = state(cli, name)
    assert st["Status"] == "created" and st["ExitCode"] == 127
    assert 'exec: "nosuchcmd": executable file not found in $PATH' in st["Error"]


def test_duplicate_name_is_a_conflict(cli: Cli, names: Callable[[str], str]) -> None:
    name = names("dup")
    cid = cli.ok("run", "-d", "--name", name, "busybox", "sh", "-c", LOOP).strip()
    result = cli("run", "-d", "--name", name, "busybox", "true")
    assert result.rc == 125, result
    assert (
        f'Error response from daemon: Conflict. The container name "/{name}" is already in use by container '
        f'"{cid}". You have to remove (or rename) that container to be able to reuse that name.'
    ) in result.err
    assert _names(cli, "-a").count(name) == 1


def test_rm_of_a_running_container_is_a_conflict(cli: Cli, names: Callable[[str], str]) -> None:
    name = names("busy")
    cid = cli.ok("run", "-d", "--name", name, "busybox", "sh", "-c", LOOP).strip()
    result = cli("rm", name)
    assert result.rc == 1, result
    expected = [RM_RUNNING_MODERN.format(name=name)]
    if target_kind() == "dockerd":
        expected.append(RM_RUNNING_LEGACY.format(id=cid))
    assert result.err in [f"Error response from daemon: {e}\n" for e in expected], result
    assert state(cli, name)["Running"] is True

    pid = state(cli, name)["Pid"]
    assert cli.ok("rm", "-f", name) == name + "\n"
    assert name not in _names(cli, "-a")
    wait_until(lambda: not pid_alive(pid), timeout=10, what=f"process {pid} to end after rm -f")


def test_unknown_container(cli: Cli, names: Callable[[str], str]) -> None:
    missing = names("nosuch")
    for verb in (["rm"], ["stop"], ["restart"], ["logs"], ["start"], ["container", "inspect"]):
        result = cli(*verb, missing)
        assert result.rc == 1, (verb, result)
        assert f"Error response from daemon: No such container: {missing}" in result.err, (verb, result)
    result = cli("inspect", missing)
    assert result.rc == 1
    assert f"Error: No such object: {missing}" in result.err


def test_logs_keep_both_streams(cli: Cli, names: Callable[[str], str]) -> None:
    name = names("talk")
    result = cli("run", "--name", name, "busybox", "sh", "-c", "echo out-1; echo err-1 >&2; echo out-2")
    assert result.rc == 0, result
    out = cli("logs", name)
    assert out.rc == 0
    assert out.out == "out-1\nout-2\n"
    assert out.err == "err-1\n"
    assert logs(cli, name).count("\n") == 3
