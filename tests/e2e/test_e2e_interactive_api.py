"""Exec and attach over the raw Engine API: the hijack protocol itself (frames, half-close,
a client that vanishes, several attach clients, logs=1), exit codes and Docker's refusals.

These run against the shared test daemon (sangjad, or dockerd with SANGJA_E2E_TARGET) and
speak HTTP themselves, so that the socket's behaviour is what is checked, not a client's.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests.support.daemon import Daemon
from tests.support.hijack import demux, hijack, read_all
from tests.support.swagger import SPEC_PATH, validate
from tests.support.unixhttp import ApiError
from tests.support.waiting import wait_until

LOOP = "while :; do sleep 1; done"


def _run(d: Daemon, name: str, *cmd: str, tty: bool = False, stdin: bool = False) -> str:
    body = {"Image": "busybox", "Cmd": list(cmd), "Tty": tty, "OpenStdin": stdin, "HostConfig": {"NetworkMode": "none"}}
    cid = str(d.post_json(f"/containers/create?name={name}", body)["Id"])
    d.api("POST", f"/containers/{cid}/start")
    return cid


def _exec(d: Daemon, cid: str, *cmd: str, **extra: Any) -> str:
    body = {"Cmd": list(cmd), "AttachStdout": True, "AttachStderr": True, **extra}
    return str(d.post_json(f"/containers/{cid}/exec", body)["Id"])


def _start(d: Daemon, exec_id: str, stdin: bytes | None = None, tty: bool = False) -> bytes:
    s = hijack(d.socket_path, f"/exec/{exec_id}/start", {"Detach": False, "Tty": tty})
    with s:
        if stdin:
            s.sendall(stdin)
        s.shutdown(socket.SHUT_WR)
        return read_all(s)


def _inspect(d: Daemon, exec_id: str) -> dict[str, Any]:
    info: dict[str, Any] = d.get_json(f"/exec/{exec_id}/json")
    return info


def _exec_inspect_schema() -> dict[str, Any]:
    """ExecInspectResponse: the swagger defines it inline, under its path."""
    with SPEC_PATH.open() as f:
        spec = yaml.safe_load(f)
    schema: dict[str, Any] = spec["paths"]["/exec/{id}/json"]["get"]["responses"][200]["schema"]
    return {**schema, "additionalProperties": False}


def _finished(d: Daemon, exec_id: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        info = _inspect(d, exec_id)
        return None if info["Running"] else info

    return wait_until(probe, 30, what=f"exec {exec_id[:12]} to finish")


def _status(fn: Callable[[], object]) -> tuple[int, str]:
    with pytest.raises(ApiError) as e:
        fn()
    return e.value.status, e.value.message


@pytest.fixture
def box(daemon: Daemon, names: Callable[[str], str]) -> str:
    return _run(daemon, names("exec"), "sh", "-c", LOOP)


@pytest.mark.parametrize("code", [0, 1, 3])
def test_exec_exit_codes_and_streams_apart(daemon: Daemon, box: str, code: int) -> None:
    eid = _exec(daemon, box, "sh", "-c", f"echo out; echo err >&2; exit {code}")
    out, err = demux(_start(daemon, eid))
    assert (out, err) == (b"out\n", b"err\n")
    info = _inspect(daemon, eid)
    assert info["ExitCode"] == code and info["Running"] is False
    assert info["ContainerID"] == box and info["ProcessConfig"]["entrypoint"] == "sh"
    validate(info, _exec_inspect_schema())


def test_exec_start_failures_are_126_and_127(daemon: Daemon, box: str) -> None:
    eid = _exec(daemon, box, "nosuchcmd")
    out, err = demux(_start(daemon, eid))
    assert b'exec: "nosuchcmd": executable file not found in $PATH' in out, (out, err)
    assert _inspect(daemon, eid)["ExitCode"] == 127
    eid = _exec(daemon, box, "/etc/passwd")
    out, _ = demux(_start(daemon, eid))
    assert b"permission denied" in out
    assert _inspect(daemon, eid)["ExitCode"] == 126


def test_exec_killed_is_137(daemon: Daemon, box: str) -> None:
    eid = _exec(daemon, box, "sh", "-c", "kill -9 $$")
    _start(daemon, eid)
    assert _inspect(daemon, eid)["ExitCode"] == 137


def test_exec_stdin_every_byte_value_and_100mb(daemon: Daemon, box: str) -> None:
    every = bytes(range(256)) * 64
    eid = _exec(daemon, box, "cat", AttachStdin=True)
    out, err = demux(_start(daemon, eid, every))
    assert out == every and err == b""
    data = os.urandom(100 * 1024 * 1024)
    eid = _exec(daemon, box, "cat", AttachStdin=True)
    s = hijack(daemon.socket_path, f"/exec/{eid}/start", {"Detach": False, "Tty": False})
    received = bytearray()
    with s:
        s.setblocking(True)
        view = memoryview(data)
        # Write and read at once: cat echoes while we send, and neither side may stall.
        def writer() -> None:
            s.sendall(view)
            s.shutdown(socket.SHUT_WR)

        t = threading.Thread(target=writer)
        t.start()
        received.extend(read_all(s))
        t.join(60)
    out, _ = demux(bytes(received))
    assert len(out) == len(data) and out == data
    assert _inspect(daemon, eid)["ExitCode"] == 0


def test_output_after_stdin_eof_is_not_lost(daemon: Daemon, box: str) -> None:
    eid = _exec(daemon, box, "sh", "-c", "cat; sleep 0.3; echo after-eof", AttachStdin=True)
    out, _ = demux(_start(daemon, eid, b"in\n"))
    assert out == b"in\nafter-eof\n"


def test_exec_with_tty_is_raw_and_sized(daemon: Daemon, box: str) -> None:
    eid = str(daemon.post_json(f"/containers/{box}/exec", {
        "Cmd": ["sh", "-c", "stty size; echo $TERM; test -t 0 && echo tty"], "Tty": True,
        "AttachStdout": True, "AttachStderr": True, "ConsoleSize": [33, 111]})["Id"])
    out = _start(daemon, eid, tty=True)
    assert out.replace(b"\r\n", b"\n") == b"33 111\nxterm\ntty\n"


def test_exec_resize_is_seen_by_stty(daemon: Daemon, box: str) -> None:
    eid = _exec(daemon, box, "sh", Tty=True, AttachStdin=True)
    s = hijack(daemon.socket_path, f"/exec/{eid}/start", {"Detach": False, "Tty": True})
    with s:
        daemon.api("POST", f"/exec/{eid}/resize?h=41&w=123")
        s.sendall(b"stty size; exit 4\n")
        out = read_all(s)
    assert b"41 123" in out
    assert _inspect(daemon, eid)["ExitCode"] == 4


def test_exec_detach_keys_leave_the_process_running(daemon: Daemon, box: str) -> None:
    eid = _exec(daemon, box, "sh", Tty=True, AttachStdin=True, DetachKeys="ctrl-x,x")
    s = hijack(daemon.socket_path, f"/exec/{eid}/start", {"Detach": False, "Tty": True})
    with s:
        s.sendall(b"echo hi\n\x18x")
        read_all(s)  # the server ends the stream at the detach keys
    info = wait_until(lambda: (i := _inspect(daemon, eid))["Pid"] and i, 30, what="the exec's PID")
    assert info["Running"] is True
    assert eid in (daemon.get_json(f"/containers/{box}/json")["ExecIDs"] or [])
    daemon.api("POST", f"/containers/{box}/kill")
    wait_until(lambda: not _inspect(daemon, eid)["Running"], 30, what="the exec to end with its container")


def test_a_vanishing_client_leaves_no_process(daemon: Daemon, box: str) -> None:
    eid = _exec(daemon, box, "sh", "-c", "cat; echo bye", AttachStdin=True)
    s = hijack(daemon.socket_path, f"/exec/{eid}/start", {"Detach": False, "Tty": False})
    s.sendall(b"x" * 100000)
    s.close()  # gone mid-stream, without a half-close
    info = _finished(daemon, eid)
    assert info["ExitCode"] == 0
    assert daemon.get_json(f"/containers/{box}/json")["ExecIDs"] is None


def test_detached_exec_records_its_exit_code(daemon: Daemon, box: str) -> None:
    eid = _exec(daemon, box, "sh", "-c", "exit 9")
    daemon.post_json(f"/exec/{eid}/start", {"Detach": True})
    info = _finished(daemon, eid)
    assert info["ExitCode"] == 9
    assert _status(lambda: daemon.post_json(f"/exec/{eid}/start", {"Detach": True})) == (
        409, f"Error: Exec command {eid} has already run")


def test_exec_refusals(daemon: Daemon, names: Callable[[str], str], box: str) -> None:
    assert _status(lambda: _inspect(daemon, "nosuchexec")) == (404, "No such exec instance: nosuchexec")
    assert _status(lambda: daemon.post_json(f"/containers/{box}/exec", {"Cmd": []}))[0] == 400
    name = names("stopped")
    stopped = str(daemon.post_json(f"/containers/create?name={name}", {"Image": "busybox", "Cmd": ["true"]})["Id"])
    status, message = _status(lambda: _exec(daemon, stopped, "true"))
    assert status == 409 and message.lower() == f"container {stopped} is not running"
    daemon.api("POST", f"/containers/{box}/pause")
    try:
        assert _status(lambda: _exec(daemon, box, "true")) == (
            409, f"Container {box} is paused, unpause the container before exec")
    finally:
        daemon.api("POST", f"/containers/{box}/unpause")


def test_two_attach_clients_and_logs(daemon: Daemon, names: Callable[[str], str]) -> None:
    cid = _run(daemon, names("attach"), "sh", "-c", "echo first; while read l; do echo got-$l; done", stdin=True)
    wait_until(lambda: b"first" in daemon.api("GET", f"/containers/{cid}/logs?stdout=1"), 30, what="first line")
    q = "stream=1&stdout=1&stderr=1"
    a = hijack(daemon.socket_path, f"/containers/{cid}/attach?{q}&stdin=1&logs=1")
    b = hijack(daemon.socket_path, f"/containers/{cid}/attach?{q}")
    with a, b:
        b.shutdown(socket.SHUT_WR)  # like the CLI without -i: output must still come
        a.sendall(b"one\n")
        got_a = bytearray()
        got_b = bytearray()
        wait_until(lambda: _fill(got_a, a) and b"got-one" in demux(bytes(got_a))[0], 30, 0, "client a")
        wait_until(lambda: _fill(got_b, b) and b"got-one" in demux(bytes(got_b))[0], 30, 0, "client b")
        assert demux(bytes(got_a))[0].startswith(b"first\n")  # logs=1 replays what came before
        a.sendall(b"two\n")
        wait_until(lambda: _fill(got_b, b) and b"got-two" in demux(bytes(got_b))[0], 30, 0, "client b")
        daemon.api("POST", f"/containers/{cid}/kill")
        a.settimeout(30)
        read_all(a)  # the server closes when the container exits
        read_all(b)


def test_attach_half_close_passes_stdin_eof(daemon: Daemon, names: Callable[[str], str]) -> None:
    name = names("attach-eof")
    body = {"Image": "busybox", "Cmd": ["sh", "-c", "cat; echo after-eof"], "OpenStdin": True, "StdinOnce": True,
            "AttachStdin": True, "AttachStdout": True, "AttachStderr": True, "HostConfig": {"NetworkMode": "none"}}
    cid = str(daemon.post_json(f"/containers/create?name={name}", body)["Id"])
    s = hijack(daemon.socket_path, f"/containers/{cid}/attach?stream=1&stdin=1&stdout=1&stderr=1")
    data = os.urandom(3 * 1024 * 1024)
    with s:
        daemon.api("POST", f"/containers/{cid}/start")
        def writer() -> None:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)

        t = threading.Thread(target=writer)
        t.start()
        raw = read_all(s)
        t.join(60)
    out, _ = demux(raw)
    assert out == data + b"after-eof\n"
    assert json.loads(daemon.api("POST", f"/containers/{cid}/wait"))["StatusCode"] == 0


def _fill(buf: bytearray, sock: socket.socket) -> bool:
    """Append what one recv() returns to buf; always True (a step of a wait_until probe)."""
    buf.extend(sock.recv(4096))
    return True
