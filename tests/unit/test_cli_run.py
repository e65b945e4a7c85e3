"""`run`, `create` and `start -a` against the fake API: docker's request order, the hijacked
stream, the held-back wait, pulls of missing images, exit codes, signals and the TTY."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_cli_fake_api import Conn, FakeAPI, Request, ScriptedContainer, invoke

CID = "c0ffee" + "0" * 58


@pytest.fixture
def api(tmp_path: Path) -> Any:
    with FakeAPI(tmp_path) as fake:
        yield fake


def created(api: FakeAPI, warnings: list[str] | None = None) -> None:
    api.json("POST", "/containers/create", {"Id": CID, "Warnings": warnings or []}, 201)


def test_run_follows_dockers_request_order_and_exit_code(api: FakeAPI) -> None:
    created(api)
    box = ScriptedContainer(api, CID, frames=[(1, b"out\n"), (2, b"err\n"), (1, b"more\n")], status=3)
    rc, out, err = invoke(api, ["run", "--name", "web", "busybox", "sh", "-c", "exit 3"])
    assert (rc, out, err) == (3, "out\nmore\n", "err\n")
    assert [r.route for r in api.requests if r.method != "HEAD"] == [
        "/containers/create", f"/containers/{CID}/attach", f"/containers/{CID}/wait", f"/containers/{CID}/start"]
    create = api.routed("/containers/create")[0]
    assert create.query == {"name": "web"}
    assert create.json()["Cmd"] == ["sh", "-c", "exit 3"]
    attach = api.routed(f"/containers/{CID}/attach")[0]
    assert attach.query == {"stream": "1", "stdout": "1", "stderr": "1"}
    assert attach.headers["connection"] == "Upgrade" and attach.headers["upgrade"] == "tcp"
    assert box.wait_conditions == ["next-exit"]


def test_run_rm_waits_for_removal(api: FakeAPI) -> None:
    created(api)
    box = ScriptedContainer(api, CID, frames=[(1, b"hi\n")])
    assert invoke(api, ["run", "--rm", "busybox", "echo", "hi"]) == (0, "hi\n", "")
    assert box.wait_conditions == ["removed"]
    assert api.routed("/containers/create")[0].json()["HostConfig"]["AutoRemove"] is True


def test_run_interactive_copies_stdin_and_half_closes(api: FakeAPI) -> None:
    created(api)
    ScriptedContainer(api, CID, echo_stdin=True)
    data = b"line one\nline two\n" * 5000
    rc, out, err = invoke(api, ["run", "-i", "busybox", "cat"], stdin=data)
    assert (rc, err) == (0, "")
    assert out.encode() == data
    assert api.routed(f"/containers/{CID}/attach")[0].query["stdin"] == "1"
    body = api.routed("/containers/create")[0].json()
    assert body["OpenStdin"] and body["AttachStdin"] and body["StdinOnce"]


def test_run_tty_stream_is_raw(api: FakeAPI) -> None:
    created(api)
    ScriptedContainer(api, CID, frames=[(1, b"\x01\x00raw\r\n")], tty=True)
    assert invoke(api, ["run", "-t", "busybox"]) == (0, "\x01\x00raw\r\n", "")


def test_run_detached_prints_the_full_id(api: FakeAPI) -> None:
    created(api, warnings=["Your kernel does not support swap limit capabilities."])
    api.no_content("POST", f"/containers/{CID}/start")
    rc, out, err = invoke(api, ["run", "-d", "--rm", "busybox", "sleep", "9"])
    assert (rc, out) == (0, CID + "\n")
    assert err == "WARNING: Your kernel does not support swap limit capabilities.\n"
    assert not api.routed(f"/containers/{CID}/attach")
    body = api.routed("/containers/create")[0].json()
    assert not (body["AttachStdin"] or body["AttachStdout"] or body["AttachStderr"])


def test_run_pulls_a_missing_image_then_creates_again(api: FakeAPI) -> None:
    attempts: list[int] = []

    def create(req: Request, conn: Conn) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            conn.send_response(404, b'{"message":"No such image: busybox:latest"}')
        else:
            conn.send_response(201, json.dumps({"Id": CID, "Warnings": []}).encode())

    def pull(req: Request, conn: Conn) -> None:
        conn.start_chunked()
        for msg in [{"status": "Pulling from library/busybox", "id": "latest"},
                    {"status": "Downloading", "progressDetail": {"current": 5, "total": 10}, "id": "abc"},
                    {"status": "Pull complete", "progressDetail": {}, "id": "abc"},
                    {"status": "Status: Downloaded newer image for busybox:latest"}]:
            conn.chunk(json.dumps(msg).encode() + b"\r\n")
        conn.end_chunked()

    api.on("POST", "/containers/create", create)
    api.on("POST", "/images/create", pull)
    ScriptedContainer(api, CID, frames=[(1, b"ok\n")])
    rc, out, err = invoke(api, ["run", "busybox"])
    assert (rc, out) == (0, "ok\n")
    assert err == ("Unable to find image 'busybox:latest' locally\nlatest: Pulling from library/busybox\n"
                   "abc: Pull complete\nStatus: Downloaded newer image for busybox:latest\n")
    req = api.routed("/images/create")[0]
    assert req.query == {"fromImage": "docker.io/library/busybox", "tag": "latest"}
    assert req.headers["x-registry-auth"] == "e30="


def test_run_exits_125_when_the_pull_fails(api: FakeAPI) -> None:
    api.error("POST", "/containers/create", 404, "No such image: nosuch:latest")
    api.on("POST", "/images/create", lambda req, conn: conn.send_response(
        200, b'{"errorDetail":{"message":"pull access denied for nosuch"},"error":"pull access denied for nosuch"}'))
    rc, out, err = invoke(api, ["run", "nosuch"])
    assert (rc, out) == (125, "")
    assert err == ("Unable to find image 'nosuch:latest' locally\nsangja: pull access denied for nosuch\n\n"
                   "Run 'sangja run --help' for more information\n")
    api.error("POST", "/images/create", 500, "Get \"https://registry-1.docker.io/v2/\": dial tcp: no such host")
    rc, _, err = invoke(api, ["run", "nosuch"])
    assert rc == 125 and "sangja: Error response from daemon: Get \"https://registry-1.docker.io/v2/\"" in err
    rc, _, err = invoke(api, ["run", "--pull", "never", "nosuch"])
    assert rc == 125 and err.startswith("sangja: Error response from daemon: No such image: nosuch:latest\n")


@pytest.mark.parametrize(("message", "status"), [
    ('exec: "nosuchcmd": executable file not found in $PATH: unknown', 127),
    ('exec: "/etc/passwd": permission denied: unknown', 126),
    ("cgroup setup failed", 125),
])
def test_start_failures_map_to_dockers_exit_codes(api: FakeAPI, message: str, status: int) -> None:
    created(api)
    ScriptedContainer(api, CID, start_error=(500, f"failed to create task: {message}"))
    rc, out, err = invoke(api, ["run", "busybox", "nosuchcmd"])
    assert (rc, out) == (status, "")
    assert err == (f"sangja: Error response from daemon: failed to create task: {message}\n\n"
                   "Run 'sangja run --help' for more information\n")


def test_create_errors_are_125_for_run_and_1_for_create(api: FakeAPI) -> None:
    api.error("POST", "/containers/create", 409, 'Conflict. The container name "/x" is already in use')
    rc, _, err = invoke(api, ["run", "--name", "x", "busybox"])
    assert rc == 125 and err.startswith('sangja: Error response from daemon: Conflict. The container name "/x"')
    assert invoke(api, ["create", "--name", "x", "busybox"]) == (
        1, "", 'Error response from daemon: Conflict. The container name "/x" is already in use\n')


def test_bad_values_are_usage_errors_with_status_125(api: FakeAPI) -> None:
    assert invoke(api, ["run", "-p", "99999:80", "busybox"]) == (
        125, "", "sangja: invalid hostPort: 99999\n\nRun 'sangja run --help' for more information\n")
    rc, _, err = invoke(api, ["create", "--pull", "bogus", "busybox"])
    assert rc == 125 and err.startswith("sangja: invalid pull option: 'bogus': must be one of")
    assert not api.routed("/containers/create")


def test_interactive_tty_needs_a_terminal(api: FakeAPI) -> None:
    created(api)
    assert invoke(api, ["run", "-it", "busybox"]) == (1, "", "the input device is not a TTY\n")
    assert not api.routed("/containers/create")


def test_create_prints_the_id_and_writes_cidfile(api: FakeAPI, tmp_path: Path) -> None:
    created(api)
    cidfile = tmp_path / "cid"
    assert invoke(api, ["create", "--cidfile", str(cidfile), "busybox"]) == (0, CID + "\n", "")
    assert cidfile.read_text() == CID
    rc, _, err = invoke(api, ["create", "--cidfile", str(cidfile), "busybox"])
    assert rc == 1 and err.startswith("container ID file found")


def test_start_attach_uses_the_containers_settings(api: FakeAPI) -> None:
    api.json("GET", "/containers/web/json", {"Id": CID, "Config": {"Tty": False, "OpenStdin": True},
                                            "HostConfig": {"AutoRemove": True}})
    box = ScriptedContainer(api, CID, echo_stdin=True, status=5)
    assert invoke(api, ["start", "-a", "-i", "web"], stdin=b"ping\n") == (5, "ping\n", "")
    assert box.wait_conditions == ["removed"]
    assert [r.route for r in api.requests if r.method != "HEAD"] == [
        "/containers/web/json", f"/containers/{CID}/attach", f"/containers/{CID}/wait", f"/containers/{CID}/start"]
    assert invoke(api, ["start", "-a", "a", "b"]) == (1, "", "you cannot start and attach multiple containers "
                                                              "at once\n")


# -- as a real process -------------------------------------------------------------------------------

def cli_process(api: FakeAPI, *args: str, **kw: Any) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SANGJA_HOST": api.host}
    env.pop("DOCKER_HOST", None)
    return subprocess.Popen([sys.executable, "-m", "sangja.cli.main", *args], env=env, **kw)


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


class KillableContainer(ScriptedContainer):
    """Runs until a kill arrives; then exits with 128 + that signal's number."""

    def __init__(self, api: FakeAPI, cid: str, tty: bool = False) -> None:
        super().__init__(api, cid, tty=tty)
        self.killed = threading.Event()
        self.signals: list[str] = []
        self.resizes: list[dict[str, Any]] = []
        api.on("POST", f"/containers/{cid}/kill", self.kill)
        api.on("POST", f"/containers/{cid}/resize", self.resize)

    def kill(self, req: Request, conn: Conn) -> None:
        self.signals.append(str(req.query.get("signal")))
        self.status = 128 + int(getattr(signal, "SIG" + self.signals[-1]))
        conn.send_response(204, content_type=None)
        self.killed.set()

    def resize(self, req: Request, conn: Conn) -> None:
        self.resizes.append(req.query)
        conn.send_response(200, b"")

    def attach(self, req: Request, conn: Conn) -> None:
        conn.upgrade(self.tty)
        self.wait_until(self.started)
        conn.sock.sendall(b"ready\r\n" if self.tty else b"\x01\x00\x00\x00\x00\x00\x00\x06ready\n")
        self.wait_until(self.killed, 20)
        conn.sock.close()
        self.exited.set()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGQUIT])
def test_signals_are_proxied_to_the_container(api: FakeAPI, signum: int) -> None:
    created(api)
    box = KillableContainer(api, CID)
    proc = cli_process(api, "run", "busybox", "sleep", "100", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert box.signals == [signal.Signals(signum).name.removeprefix("SIG")]
    assert (proc.returncode, err) == (128 + signum, b"")


def test_unreachable_daemon_is_one_line_without_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "SANGJA_HOST": f"unix://{tmp_path}/none.sock"}
    result = subprocess.run([sys.executable, "-m", "sangja.cli.main", "ps"], env=env, capture_output=True,
                            timeout=30, check=False)
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr == (f"Cannot connect to the sangja daemon at unix://{tmp_path}/none.sock. "
                             "Is sangjad running? (start it with: sangjad &)\n").encode()


def test_ctrl_c_exits_130_quietly(api: FakeAPI) -> None:
    def events(req: Request, conn: Conn) -> None:
        conn.start_chunked()
        conn.chunk(b'{"Type":"container","Action":"start","Actor":{"ID":"x","Attributes":{}},"time":1}\n')
        api.stopped.wait(30)

    api.on("GET", "/events", events)
    proc = cli_process(api, "events", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().endswith(b"container start x\n")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert (proc.returncode, err) == (130, b"")


def test_tty_session_raw_mode_resize_and_detach(api: FakeAPI) -> None:
    created(api)
    box = KillableContainer(api, CID, tty=True)
    master, slave = pty.openpty()
    termios.tcsetattr(slave, termios.TCSANOW, termios.tcgetattr(slave))
    before = termios.tcgetattr(slave)
    os.set_blocking(master, False)
    proc = cli_process(api, "run", "-it", "busybox", "sh", stdin=slave, stdout=slave, stderr=slave)
    try:
        seen = b""
        deadline = time.monotonic() + 20
        while b"ready" not in seen and time.monotonic() < deadline:
            select.select([master], [], [], 0.5)
            try:
                seen += os.read(master, 1024)
            except BlockingIOError:
                pass
        assert b"ready" in seen
        assert not termios.tcgetattr(slave)[3] & termios.ICANON  # raw while attached
        os.write(master, b"\x10\x11")  # ctrl-p ctrl-q: detach
        proc.wait(timeout=20)
        after = termios.tcgetattr(slave)
    finally:
        proc.kill()
        box.killed.set()
        os.close(master)
        os.close(slave)
    assert proc.returncode == 0
    assert after == before  # the terminal is restored
    assert box.resizes and set(box.resizes[0]) == {"h", "w"}
    assert api.routed("/containers/create")[0].json()["Tty"] is True


def test_help_imports_no_command_module_nor_aiohttp() -> None:
    code = ("import sys, io; sys.argv = ['sangja', '--help']; sys.stdout = io.TextIOWrapper(io.BytesIO());"
            "from sangja.cli import main\n"
            "try:\n    main.main()\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted(sys.modules)), file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30, check=True)
    loaded = result.stderr.decode().split()
    assert not [m for m in loaded if m.startswith("aiohttp")]
    assert not [m for m in loaded if m.startswith("sangja.cli.commands.")]
    assert "sangja.cli.client" not in loaded and "socket" not in loaded and "json" not in loaded


def test_running_a_command_imports_only_that_command(tmp_path: Path) -> None:
    code = ("import sys\nfrom sangja.cli import main\n"
            f"main.execute(['-H', 'unix://{tmp_path}/none.sock', 'ps'])\n"
            "print(' '.join(sorted(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30, check=True)
    loaded = result.stdout.decode().split()
    assert [m for m in loaded if m.startswith("sangja.cli.commands.")] == ["sangja.cli.commands.ps"]
    for heavy in ("aiohttp", "dataclasses", "typing", "http.client", "asyncio", "argparse"):
        assert heavy not in loaded, heavy


def test_save_refuses_to_write_a_tar_to_a_terminal(api: FakeAPI) -> None:
    master, slave = pty.openpty()
    try:
        proc = cli_process(api, "save", "busybox", stdout=slave, stderr=subprocess.PIPE)
        _, err = proc.communicate(timeout=20)
    finally:
        os.close(master)
        os.close(slave)
    assert proc.returncode == 1
    assert err == b"cowardly refusing to save to a terminal. Use the -o flag or redirect\n"
    assert not api.routed("/images/get")


def test_sigterm_in_a_tty_session_is_proxied_and_the_terminal_restored(api: FakeAPI) -> None:
    created(api)
    box = KillableContainer(api, CID, tty=True)
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    os.set_blocking(master, False)
    proc = cli_process(api, "run", "-it", "busybox", "sh", stdin=slave, stdout=slave, stderr=slave)
    try:
        seen = b""
        deadline = time.monotonic() + 20
        while b"ready" not in seen and time.monotonic() < deadline:
            select.select([master], [], [], 0.5)
            try:
                seen += os.read(master, 1024)
            except BlockingIOError:
                pass
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        after = termios.tcgetattr(slave)
    finally:
        proc.kill()
        box.killed.set()
        os.close(master)
        os.close(slave)
    assert box.signals == ["TERM"]
    assert proc.returncode == 143
    assert after == before


def test_quiet_pull_still_fails_on_an_error_line(api: FakeAPI) -> None:
    api.error("POST", "/containers/create", 404, "No such image: nosuch:latest")
    api.on("POST", "/images/create", lambda req, conn: conn.send_response(
        200, b'{"status":"Pulling"}\n{"errorDetail":{"message":"denied"},"error":"denied"}\n'))
    assert invoke(api, ["create", "-q", "nosuch"]) == (1, "", "denied\n")
