"""Run an exec instance (`POST /exec/{id}/start`), attached to a client or detached.

The session runs in a daemon task, not in the HTTP handler: a client that vanishes (its
handler is cancelled) leaves the session to finish on its own. It then keeps draining the
process's output (so the process never blocks on a full pipe) and closes its stdin; when
the process exits, runc is reaped, the exit code recorded, and every fd released.

Flow: spawn `runc exec` (runtime/exec.py) → copy client ⇄ process (frames are the API
layer's business: the client is a ClientStream) → the process exits and its output is
drained → record ExitCode → close the client's connection (how the docker CLI learns that
the stream is over).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from typing import TYPE_CHECKING, Any

from sangja.daemon.attach import ClientStream
from sangja.daemon.container import Container
from sangja.daemon.exec import ExecRecord, check_running, finish_exec
from sangja.errors import Conflict, SangjaError
from sangja.runtime import exec as rexec
from sangja.runtime.caps import available_capabilities
from sangja.runtime.runc import classify_create_error
from sangja.runtime.user import resolve_user

if TYPE_CHECKING:
    from sangja.daemon.daemon import Daemon

log = logging.getLogger(__name__)

CHUNK = 65536
STARTED_POLL = 0.002
DRAIN_GRACE = 2.0  # after the process exited: how long output may stay silent before we stop reading


def check_startable(d: Daemon, rec: ExecRecord) -> Container:
    if rec.running:
        raise Conflict(f"Error: Exec command {rec.id} is already running")
    if rec.started:
        raise Conflict(f"Error: Exec command {rec.id} has already run")
    c = d.containers.get(rec.container_id)
    check_running(c, c.id)
    return c


def build_process(d: Daemon, c: Container, rec: ExecRecord) -> dict[str, Any]:
    """The container's own OCI process with the exec's changes (Docker's rules for env and user)."""
    spec = json.loads((d.runtime.bundle_dir(c.id) / "config.json").read_text())
    base: dict[str, Any] = spec.get("process") or {}
    env = [e for e in base.get("env") or [] if not (e.startswith("TERM=") and c.tty)]
    if rec.tty and not any(e.startswith("TERM=") for e in env):
        env.append("TERM=xterm")
    if c.tty and not rec.tty:
        env.extend(e for e in c.config.get("Env") or [] if e.startswith("TERM="))
    for item in rec.env:  # replace or append, by key
        key = item.partition("=")[0]
        env = [e for e in env if e.partition("=")[0] != key]
        env.append(item)
    user = base.get("user") or {}
    uid, gid, groups = int(user.get("uid", 0)), int(user.get("gid", 0)), tuple(user.get("additionalGids") or ())
    if rec.user:
        uid, gid, groups = resolve_user(c.rootfs or str(spec.get("root", {}).get("path", "")), rec.user)
    caps = list(available_capabilities()) if rec.privileged else None
    return rexec.process_json(base, rexec.ExecProcessSpec(
        args=rec.cmd, env=env, cwd=rec.working_dir or base.get("cwd") or "/", uid=uid, gid=gid,
        additional_gids=groups, tty=rec.tty, capabilities=caps))


def prepare_start(d: Daemon, rec: ExecRecord) -> tuple[Container, dict[str, Any]]:
    """Everything that can refuse a start, done before the API layer sends its 101."""
    c = check_startable(d, rec)
    try:
        return c, build_process(d, c, rec)
    except (OSError, ValueError):
        # The container stopped between its state check and now: its bundle is gone.
        raise Conflict(f"container {c.id} is not running") from None


async def start_exec(d: Daemon, rec: ExecRecord, prepared: tuple[Container, dict[str, Any]],
                     client: ClientStream | None, size: tuple[int, int] | None = None) -> None:
    """Start the exec; with a client, run the session in a daemon task and wait for it.

    `prepared` comes from prepare_start(); from here on failures are the session's (start
    failures are written to the client, as dockerd does).
    """
    c, process = prepared
    if rec.started:  # another start won the race since prepare_start()
        raise Conflict(f"Error: Exec command {rec.id} is already running")
    rec.started = rec.running = True
    session = d.spawn(_session(d, c, rec, process, client, size or rec.console_size))
    if client is not None:
        await asyncio.shield(session)


async def _session(d: Daemon, c: Container, rec: ExecRecord, process: dict[str, Any],
                   client: ClientStream | None, size: tuple[int, int] | None) -> None:
    sink = _Sink(client)
    session_dir = d.runtime.exec_root / "x" / rec.id
    proc: rexec.ExecProcess | None = None
    try:
        d.emit(c, f"exec_start: {' '.join(rec.cmd)}", {"execID": rec.id})
        try:
            proc = await rexec.spawn_exec(
                d.runtime.runtime_path, d.runtime.runc_root, c.id, session_dir, process,
                stdin=rec.attach_stdin and client is not None, stdout=rec.attach_stdout and client is not None,
                stderr=rec.attach_stderr and client is not None, size=size)
        except (OSError, SangjaError) as exc:
            rec.exit_code = 126
            await sink.write(1, f"OCI runtime exec failed: {exc}: unknown\r\n".encode())
            return
        rec.process = proc
        rec.spawned.set()
        await _pump(rec, proc, sink)
        code = await proc.proc.wait()
        error = proc.start_error() if code == 255 else None
        if error is not None:
            kind = classify_create_error(error)
            rec.exit_code = 126 if kind == "permission" else 127 if kind else 126
            sink.discard_held()
            await sink.write(1, f"OCI runtime exec failed: {error}: unknown\r\n".encode())
        else:
            rec.exit_code = code
            await sink.flush_held()
        rec.pid = proc.pid
        rec.running = False
        sink.close()  # the client learns the end now; its `GET /exec/{id}/json` sees the code
    except asyncio.CancelledError:
        # The daemon is shutting down: don't leave a runc behind that nobody reaps.
        if proc is not None and proc.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.proc.send_signal(signal.SIGKILL)
        raise
    finally:
        finish_exec(d, c, rec, proc, session_dir)
        sink.close()


class _Sink:
    """The client's side of the output: framed writes, or nothing once the client is gone.

    Output is held back until runc says the process runs (its PID file, see _wait_started),
    because until then what arrives on the process's stderr may be runc's own error message;
    after a start failure the held bytes (that message) are dropped for dockerd's wording.
    """

    def __init__(self, client: ClientStream | None) -> None:
        self.client = client
        self.held: list[tuple[int, bytes]] | None = []

    async def write(self, stream: int, data: bytes) -> None:
        if self.client is None or not data:
            return
        try:
            await self.client.write(stream, data)
        except (ConnectionError, OSError):
            self.client.close()
            self.client = None

    async def output(self, stream: int, data: bytes, started: bool) -> None:
        if self.held is not None:
            if not started:
                self.held.append((stream, data))
                return
            await self.flush_held()
        await self.write(stream, data)

    async def flush_held(self) -> None:
        held, self.held = self.held or [], None
        for stream, data in held:
            await self.write(stream, data)

    def discard_held(self) -> None:
        self.held = None

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


async def _pump(rec: ExecRecord, proc: rexec.ExecProcess, sink: _Sink) -> None:
    """Copy until the process exited and its output is drained (or went silent for DRAIN_GRACE)."""
    progress = [0]
    writing = [0]  # readers blocked on a slow client: not silence, their bytes must not be dropped
    readers: list[asyncio.Task[None]] = []

    async def copy_out(read: Any, stream: int) -> None:
        while True:
            data = await read()
            if not data:
                return
            progress[0] += 1
            writing[0] += 1
            try:
                await sink.output(stream, data, proc.started() or await _wait_started(proc))
            finally:
                writing[0] -= 1
                progress[0] += 1

    if proc.master is not None:
        master = proc.master
        readers.append(asyncio.ensure_future(copy_out(lambda: rexec.read_fd(master, CHUNK), 1)))
    else:
        p = proc.proc
        if p.stdout is not None:
            stdout = p.stdout
            readers.append(asyncio.ensure_future(copy_out(lambda: stdout.read(CHUNK), 1)))
        if p.stderr is not None:
            stderr = p.stderr
            readers.append(asyncio.ensure_future(copy_out(lambda: stderr.read(CHUNK), 2)))
    feeder = asyncio.ensure_future(_copy_in(rec, proc, sink)) if sink.client is not None else None
    waiter = asyncio.ensure_future(proc.proc.wait())
    try:
        pending = {*readers, waiter}
        while pending:
            before = progress[0]
            timeout = DRAIN_GRACE if waiter.done() else None
            done, pending = await asyncio.wait(pending, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not waiter and task.exception() is not None:
                    log.debug("exec %s output: %s", rec.id[:12], task.exception())
            if waiter.done() and not done and progress[0] == before and not writing[0]:
                break  # a background child keeps the output open; the exec itself is over
    finally:
        for task in (*readers, waiter, *([feeder] if feeder else [])):
            task.cancel()
        await asyncio.gather(*readers, waiter, *([feeder] if feeder else []), return_exceptions=True)


async def _wait_started(proc: rexec.ExecProcess) -> bool:
    """Output came before runc wrote the PID file: wait for the file (a few ms at most), or for
    runc's exit (then it was runc's own error message). Holding the bytes until the next
    output instead would keep a shell's first prompt from the user until they typed."""
    while not proc.started():
        if proc.proc.returncode is not None:
            return False
        await asyncio.sleep(STARTED_POLL)
    return True


async def _copy_in(rec: ExecRecord, proc: rexec.ExecProcess, sink: _Sink) -> None:
    """Client → process stdin. At the client's EOF the process's stdin is closed (pipes) and
    output keeps flowing; the detach keys (TTY only) end the client's part of the session."""
    client = sink.client
    assert client is not None
    keys = rec.detach_keys if rec.tty else b""
    matched = 0
    while True:
        try:
            data = await client.read()
        except (ConnectionError, OSError):
            data = b""
        if not data:
            break
        if not rec.attach_stdin:
            continue
        if keys:
            cut = -1
            for i, byte in enumerate(data):
                matched = matched + 1 if byte == keys[matched] else (1 if byte == keys[0] else 0)
                if matched == len(keys):
                    cut = i + 1 - len(keys)
                    break
            if cut >= 0:
                await _write_stdin(proc, data[:cut])
                sink.close()  # detached: the process keeps running, its output is discarded
                return
        try:
            await _write_stdin(proc, data)
        except (BrokenPipeError, ConnectionResetError, OSError):
            break
    _close_stdin(proc)


async def _write_stdin(proc: rexec.ExecProcess, data: bytes) -> None:
    if not data:
        return
    if proc.master is not None:
        await rexec.write_fd(proc.master, data)
        return
    stdin = proc.proc.stdin
    if stdin is not None:
        await stdin.write(data)


def _close_stdin(proc: rexec.ExecProcess) -> None:
    stdin = proc.proc.stdin
    if proc.master is None and stdin is not None and not stdin.is_closing():
        stdin.close()
