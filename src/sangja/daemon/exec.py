"""Exec instances: create, inspect, resize (`POST /containers/{id}/exec`, `/exec/{id}/...`).

An exec instance lives in memory only, like dockerd's:

    created ──start──▶ running ──process exits──▶ exited (ExitCode set)
                          └── start failed (no such command…) ──▶ exited 126/127

`exec_start.py` runs it. A record stays inspectable after its process exits; the store keeps
the last MAX_FINISHED finished ones and forgets a container's execs when it is removed.
Container inspect's `ExecIDs` lists the container's execs that have not finished.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sangja.daemon.container import Container
from sangja.errors import Conflict, InvalidParameter, NotFound
from sangja.runtime import exec as rexec

if TYPE_CHECKING:
    from sangja.daemon.daemon import Daemon
    from sangja.runtime.exec import ExecProcess

MAX_FINISHED = 1000
RESIZE_WAIT = 10.0


@dataclass
class ExecRecord:
    id: str
    container_id: str
    cmd: list[str]
    env: list[str]
    user: str
    working_dir: str
    tty: bool
    attach_stdin: bool
    attach_stdout: bool
    attach_stderr: bool
    privileged: bool
    detach_keys: bytes
    detach_keys_spec: str
    console_size: tuple[int, int] | None
    created_ns: int = field(default_factory=time.time_ns)
    started: bool = False
    running: bool = False
    exit_code: int | None = None
    pid: int = 0
    process: ExecProcess | None = None
    spawned: asyncio.Event = field(default_factory=asyncio.Event)  # set once `process` is there (or failed)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def finished(self) -> bool:
        return self.started and not self.running


class ExecStore:
    """Exec records by ID (newest last), in memory."""

    def __init__(self) -> None:
        self._records: OrderedDict[str, ExecRecord] = OrderedDict()

    def add(self, rec: ExecRecord) -> None:
        self._records[rec.id] = rec
        finished = [r.id for r in self._records.values() if r.finished]
        for old in finished[: max(0, len(finished) - MAX_FINISHED)]:
            del self._records[old]

    def get(self, exec_id: str) -> ExecRecord:
        rec = self._records.get(exec_id)
        if rec is None:
            raise NotFound(f"No such exec instance: {exec_id}")
        return rec

    def active_ids(self, cid: str) -> list[str]:
        return [r.id for r in self._records.values() if r.container_id == cid and not r.finished]

    def of_container(self, cid: str) -> list[ExecRecord]:
        return [r for r in self._records.values() if r.container_id == cid]

    def forget_container(self, cid: str) -> None:
        for rec in self.of_container(cid):
            if not rec.running:
                del self._records[rec.id]


def check_running(c: Container, ref: str) -> None:
    """Docker's refusals for exec into a container that is not running (all 409)."""
    if c.state.status == "paused":
        raise Conflict(f"Container {ref} is paused, unpause the container before exec")
    if c.state.status == "restarting":
        raise Conflict(f"Container {c.id} is restarting, wait until the container is running")
    if not c.state.running:
        raise Conflict(f"container {c.id} is not running")


def _str_list(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidParameter(f"invalid {key}: expected a list of strings")
    return list(value)


def console_size(value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)):
        raise InvalidParameter("ConsoleSize must be an array of two non-negative integers [height, width]")
    return (value[0], value[1])


def create_exec(d: Daemon, ref: str, body: dict[str, Any]) -> ExecRecord:
    c = d.containers.get(ref)
    check_running(c, ref)
    cmd = _str_list(body, "Cmd")
    if not cmd:
        raise InvalidParameter("No exec command specified")
    env = _str_list(body, "Env")
    for item in env:
        if not item.partition("=")[0]:
            raise InvalidParameter(f"invalid environment variable: {item}")
    from sangja.daemon.attach import DEFAULT_DETACH_KEYS, parse_detach_keys  # attach imports the Daemon

    keys_spec = body.get("DetachKeys") or ""
    keys = parse_detach_keys(keys_spec) if keys_spec else DEFAULT_DETACH_KEYS
    rec = ExecRecord(
        id=secrets.token_hex(32),
        container_id=c.id,
        cmd=cmd,
        env=env,
        user=str(body.get("User") or ""),
        working_dir=str(body.get("WorkingDir") or ""),
        tty=bool(body.get("Tty")),
        attach_stdin=bool(body.get("AttachStdin")),
        attach_stdout=bool(body.get("AttachStdout")),
        attach_stderr=bool(body.get("AttachStderr")),
        privileged=bool(body.get("Privileged")),
        detach_keys=keys,
        detach_keys_spec=str(keys_spec),
        console_size=console_size(body.get("ConsoleSize")),
    )
    d.execs.add(rec)
    d.emit(c, f"exec_create: {' '.join(cmd)}", {"execID": rec.id})
    return rec


def inspect_exec(d: Daemon, exec_id: str) -> dict[str, Any]:
    rec = d.execs.get(exec_id)
    return {
        "ID": rec.id,
        "Running": rec.running,
        "ExitCode": rec.exit_code,
        "ProcessConfig": {
            "tty": rec.tty,
            "entrypoint": rec.cmd[0],
            "arguments": rec.cmd[1:],
            "privileged": rec.privileged,
            **({"user": rec.user} if rec.user else {}),
        },
        "OpenStdin": rec.attach_stdin,
        "OpenStderr": rec.attach_stderr,
        "OpenStdout": rec.attach_stdout,
        "CanRemove": False,
        "ContainerID": rec.container_id,
        "DetachKeys": rec.detach_keys_spec,
        "Pid": rec.process.pid if rec.process is not None and rec.running else rec.pid,
    }


async def resize_exec(d: Daemon, exec_id: str, height: int, width: int) -> None:
    """Like dockerd: a resize that arrives before the process runs waits for it (10 s at most);
    the docker CLI sends its first resize right after the start request."""
    rec = d.execs.get(exec_id)
    try:
        await asyncio.wait_for(rec.spawned.wait(), RESIZE_WAIT)
    except TimeoutError:
        raise Conflict("timeout waiting for exec session ready") from None
    if rec.process is None or not rec.running:
        raise Conflict(f"Exec {exec_id} is not running")
    await rec.process.resize_settled(height, width)


def finish_exec(d: Daemon, c: Container, rec: ExecRecord, proc: Any, session_dir: Path) -> None:
    """The end of every exec, whatever happened (`exec start`, health probes): the record says
    it is over, waiters wake, the runtime's handles and files go, `exec_die` is emitted."""
    rec.running = False
    rec.spawned.set()
    rec.done.set()
    if proc is not None:
        proc.close()
    else:
        rexec.remove_session_dir(session_dir)
    d.emit(c, "exec_die", {"execID": rec.id, "exitCode": str(rec.exit_code if rec.exit_code is not None else -1)})
