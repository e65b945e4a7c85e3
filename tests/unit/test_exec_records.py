"""Exec records without root: create's checks and Docker's messages, inspect's shape, the
store's bounds, and the OCI process an exec runs with."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import yaml

from sangja.daemon import exec as dexec
from sangja.daemon.container import Container, State
from sangja.errors import Conflict, InvalidParameter, NotFound
from sangja.runtime.exec import ExecProcessSpec, process_json
from tests.support.swagger import SPEC_PATH, validate

CID = "c" * 64


class _Containers:
    def __init__(self, c: Container) -> None:
        self.c = c

    def get(self, ref: str) -> Container:
        if ref in (self.c.id, "web"):
            return self.c
        raise NotFound(f"No such container: {ref}")


class _Daemon:
    def __init__(self, status: str = "running") -> None:
        self.c = Container(id=CID, name="/web", created="", created_ns=0, image="busybox", image_id="sha256:x",
                           path="sh", args=[], config={}, host_config={}, state=State(status=status))
        self.containers = _Containers(self.c)
        self.execs = dexec.ExecStore()
        self.events: list[tuple[str, dict[str, str] | None]] = []

    def emit(self, c: Container, action: str, extra: dict[str, str] | None = None) -> None:
        self.events.append((action, extra))


def _create(d: _Daemon, body: dict[str, Any]) -> dexec.ExecRecord:
    return dexec.create_exec(d, "web", body)  # type: ignore[arg-type]


def test_create_records_the_request_and_emits_exec_create() -> None:
    d = _Daemon()
    rec = _create(d, {"Cmd": ["sh", "-c", "x"], "Tty": True, "AttachStdin": True, "User": "nobody",
                      "DetachKeys": "ctrl-a,b", "ConsoleSize": [10, 20]})
    assert (rec.container_id, rec.cmd, rec.tty, rec.user) == (CID, ["sh", "-c", "x"], True, "nobody")
    assert rec.detach_keys == b"\x01b" and rec.console_size == (10, 20)
    assert d.events == [("exec_create: sh -c x", {"execID": rec.id})]
    assert d.execs.active_ids(CID) == [rec.id]


@pytest.mark.parametrize(("status", "message"), [
    ("paused", "Container web is paused, unpause the container before exec"),
    ("exited", f"container {CID} is not running"),
    ("created", f"container {CID} is not running"),
    ("restarting", f"Container {CID} is restarting, wait until the container is running"),
])
def test_create_refuses_what_is_not_running(status: str, message: str) -> None:
    with pytest.raises(Conflict) as e:
        _create(_Daemon(status), {"Cmd": ["true"]})
    assert e.value.message == message


@pytest.mark.parametrize("body", [{}, {"Cmd": []}, {"Cmd": "true"}, {"Cmd": ["x"], "Env": ["=v"]},
                                  {"Cmd": ["x"], "ConsoleSize": [1]}, {"Cmd": ["x"], "DetachKeys": "ctrl-1"}])
def test_create_rejects_bad_bodies(body: dict[str, Any]) -> None:
    with pytest.raises(InvalidParameter):
        _create(_Daemon(), body)


def test_inspect_matches_the_swagger_and_unknown_ids_are_404() -> None:
    d = _Daemon()
    rec = _create(d, {"Cmd": ["sh", "-c", "exit 2"], "AttachStdout": True})
    rec.started, rec.exit_code = True, 2
    info = dexec.inspect_exec(d, rec.id)  # type: ignore[arg-type]
    assert (info["ExitCode"], info["Running"], info["ProcessConfig"]["arguments"]) == (2, False, ["-c", "exit 2"])
    spec = yaml.safe_load(SPEC_PATH.read_text())
    validate(info, {**spec["paths"]["/exec/{id}/json"]["get"]["responses"][200]["schema"],
                    "additionalProperties": False})
    with pytest.raises(NotFound) as e:
        dexec.inspect_exec(d, "nope")  # type: ignore[arg-type]
    assert e.value.message == "No such exec instance: nope"
    assert d.execs.active_ids(CID) == []  # finished execs are not in the container's ExecIDs


def test_store_keeps_a_bounded_number_of_finished_execs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dexec, "MAX_FINISHED", 3)
    d = _Daemon()
    recs = [_create(d, {"Cmd": ["true"]}) for _ in range(6)]
    for r in recs:
        r.started = True
    running = _create(d, {"Cmd": ["sleep"]})
    running.started = running.running = True
    _create(d, {"Cmd": ["true"]})  # adding prunes
    with pytest.raises(NotFound):
        d.execs.get(recs[0].id)
    assert d.execs.get(recs[-1].id) is recs[-1] and d.execs.get(running.id) is running


def test_resize_of_a_finished_exec_is_a_conflict() -> None:
    d = _Daemon()
    rec = _create(d, {"Cmd": ["true"], "Tty": True})
    rec.started = True
    rec.spawned.set()
    with pytest.raises(Conflict):
        asyncio.run(dexec.resize_exec(d, rec.id, 10, 10))  # type: ignore[arg-type]


def test_process_json_changes_only_what_the_exec_sets() -> None:
    base = {"terminal": True, "consoleSize": {"height": 1, "width": 1}, "user": {"uid": 0, "gid": 0, "umask": 18},
            "args": ["sh"], "env": ["PATH=/bin"], "cwd": "/", "rlimits": [{"type": "RLIMIT_NOFILE"}],
            "capabilities": {"bounding": ["CAP_KILL"]}, "noNewPrivileges": True}
    spec = ExecProcessSpec(args=["id"], env=["A=1"], cwd="/tmp", uid=65534, gid=65534, additional_gids=(65534,),
                           tty=False)
    p = process_json(base, spec)
    assert p["args"] == ["id"] and p["env"] == ["A=1"] and p["cwd"] == "/tmp" and p["terminal"] is False
    assert p["user"] == {"uid": 65534, "gid": 65534, "umask": 18, "additionalGids": [65534]}
    assert "consoleSize" not in p and p["rlimits"] == base["rlimits"] and p["noNewPrivileges"] is True
    assert p["capabilities"] == {"bounding": ["CAP_KILL"]}
    priv = process_json(base, ExecProcessSpec(args=["id"], env=[], cwd="", uid=0, gid=0, additional_gids=(),
                                              tty=True, capabilities=["CAP_A", "CAP_B"]))
    assert priv["cwd"] == "/" and priv["capabilities"]["effective"] == ["CAP_A", "CAP_B"]
    assert base["args"] == ["sh"]  # the container's own process is not touched
