"""Health checks: HEALTHCHECK / `--health-*` probes run inside the container (moby daemon/health.go).

    created ──start──▶ starting ──probe ok──▶ healthy ◀──probe ok──┐
                          │                      │                  │
                          └──Retries failures────┴──▶ unhealthy ────┘
    exit / stop / pause / rm ──▶ monitor stopped, status "unhealthy" (as dockerd reports it)

A container's `Config.Healthcheck` (merged with the image's at create, `merge_healthcheck`)
says what to run: `["CMD", argv...]`, `["CMD-SHELL", "cmd"]` (run with the container's
`Shell`, default `/bin/sh -c`) or `["NONE"]`. One monitor task per running container waits
`StartInterval` (5 s) between probes while the status is "starting" inside `StartPeriod`, else
`Interval` (30 s); each probe is an exec instance (exec_create/exec_start/exec_die events,
listed in ExecIDs while it runs) whose stdout+stderr (first 4096 bytes) and exit code are
kept in `State.Health.Log` (last 5). A probe that outlives `Timeout` (30 s) is killed and
counts as a failure (exit -1). `Retries` (3) consecutive failures make the container
unhealthy, except failures inside the start period while still "starting". A status change
emits `health_status: <status>`.

The status is part of the saved record; monitors are started by `launch` (start, restart
policies), stopped when the container exits, pauses or is removed, and started again for
running containers when sangjad restarts (reconcile), each time from "starting".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
import weakref
from typing import TYPE_CHECKING, Any

from sangja.daemon.container import Container
from sangja.daemon.timefmt import rfc3339_ns
from sangja.errors import InvalidParameter, SangjaError

if TYPE_CHECKING:
    from sangja.daemon.daemon import Daemon

log = logging.getLogger(__name__)

SECOND = 1_000_000_000
DEFAULT_INTERVAL = 30 * SECOND
DEFAULT_TIMEOUT = 30 * SECOND
DEFAULT_START_PERIOD = 0
DEFAULT_START_INTERVAL = 5 * SECOND
DEFAULT_RETRIES = 3
MAX_LOG_ENTRIES = 5
MAX_OUTPUT = 4096
START_TIMEOUT = 30.0  # seconds for the probe's exec to start at all

STARTING, HEALTHY, UNHEALTHY, NONE = "starting", "healthy", "unhealthy", "none"
VALID_STATUSES = (NONE, STARTING, HEALTHY, UNHEALTHY)

# The running monitor task of each container, per daemon (tests run several daemons).
_MONITORS: weakref.WeakKeyDictionary[Daemon, dict[str, asyncio.Task[None]]] = weakref.WeakKeyDictionary()


# -- configuration --------------------------------------------------------------------------


def merge_healthcheck(user: dict[str, Any] | None, image: dict[str, Any] | None) -> dict[str, Any] | None:
    """Docker's create-time merge: the image's healthcheck fills what the user's leaves unset."""
    if not image:
        return user
    if user is None:
        return dict(image)
    merged = dict(user)
    if not merged.get("Test"):
        merged["Test"] = image.get("Test")
    for key in ("Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"):
        if not merged.get(key) and image.get(key):
            merged[key] = image[key]
    return merged


def probe_command(c: Container) -> list[str] | None:
    """The argv a probe runs, or None when the container has no (usable) healthcheck."""
    test = (c.config.get("Healthcheck") or {}).get("Test") or []
    if not test or test[0] not in ("CMD", "CMD-SHELL"):
        if test and test[0] != "NONE":
            log.warning("Unknown healthcheck type '%s' (expected 'CMD') in container %s", test[0], c.short_id)
        return None
    cmd = [str(a) for a in test[1:]]
    if test[0] == "CMD-SHELL":
        cmd = [*(c.config.get("Shell") or ["/bin/sh", "-c"]), *cmd]
    return cmd


def _setting(c: Container, key: str, default: int) -> int:
    value = int((c.config.get("Healthcheck") or {}).get(key) or 0)
    return value if value > 0 else default


# -- views ----------------------------------------------------------------------------------


def status_of(c: Container) -> str:
    """The health status a `health=` filter compares: "none" without health state."""
    h = c.state.health
    if h is None:
        return NONE
    return str(h.get("Status") or UNHEALTHY)


def status_suffix(c: Container) -> str:
    """What `ps` appends to "Up 2 minutes": " (healthy)", " (health: starting)" or ""."""
    if c.state.health is None:
        return ""
    status = status_of(c)
    return " (health: starting)" if status == STARTING else f" ({status})"


def inspect_fields(c: Container) -> dict[str, Any]:
    """`State.Health` for inspect (absent when the container never had a health monitor)."""
    h = c.state.health
    if h is None:
        return {}
    return {"Health": {"Status": status_of(c), "FailingStreak": int(h.get("FailingStreak") or 0),
                       "Log": list(h.get("Log") or [])}}


def check_filter(values: list[str]) -> None:
    for value in values:
        if value not in VALID_STATUSES:
            raise InvalidParameter(f"invalid filter 'health={value}': invalid value for health ({value}): "
                                   f"must be one of {', '.join(VALID_STATUSES)}")


def matches_filter(c: Container, values: list[str]) -> bool:
    return not values or status_of(c) in values


# -- monitor life cycle ---------------------------------------------------------------------


def _tasks(d: Daemon) -> dict[str, asyncio.Task[None]]:
    tasks = _MONITORS.get(d)
    if tasks is None:
        tasks = _MONITORS[d] = {}
    return tasks


def init_monitor(d: Daemon, c: Container) -> None:
    """initHealthMonitor: (re)start from "starting" with no failures; the log is kept."""
    if probe_command(c) is None:
        return
    stop_monitor(d, c, save=False)
    h = dict(c.state.health or {"Log": []})
    h["Status"] = STARTING
    h["FailingStreak"] = 0
    c.state.health = h
    d.containers.save(c)
    resume_monitor(d, c)


def resume_monitor(d: Daemon, c: Container) -> None:
    """updateHealthMonitor for a running container: start its probe loop if none runs."""
    if c.state.health is None or c.state.status != "running" or probe_command(c) is None:
        return
    tasks = _tasks(d)
    if c.id in tasks:
        return
    task = d.spawn(_monitor(d, c))
    tasks[c.id] = task

    def _forget(t: asyncio.Task[None]) -> None:
        if tasks.get(c.id) is t:
            del tasks[c.id]

    task.add_done_callback(_forget)


def stop_monitor(d: Daemon, c: Container, save: bool = True) -> None:
    """CloseMonitorChannel: stop the probe loop (killing a probe in flight); a container whose
    monitor is stopped reports "unhealthy", as dockerd does."""
    task = _tasks(d).pop(c.id, None)
    if task is None:
        return
    task.cancel()
    if c.state.health is not None:
        c.state.health["Status"] = UNHEALTHY
        if save and d.containers.find(c.id) is not None:
            d.containers.save(c)


async def _monitor(d: Daemon, c: Container) -> None:
    interval = _setting(c, "Interval", DEFAULT_INTERVAL)
    start_interval = _setting(c, "StartInterval", DEFAULT_START_INTERVAL)
    start_period = _setting(c, "StartPeriod", DEFAULT_START_PERIOD)
    started_ns = c.state.started_ns or time.time_ns()

    def next_wait() -> float:
        if time.time_ns() - started_ns >= start_period:
            return interval / SECOND
        return (start_interval if status_of(c) == STARTING else interval) / SECOND

    while True:
        await asyncio.sleep(next_wait())
        cmd = probe_command(c)
        if cmd is None or c.state.status != "running":
            return
        start_ns = time.time_ns()
        try:
            code, output = await run_probe(d, c, cmd, _setting(c, "Timeout", DEFAULT_TIMEOUT) / SECOND)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a probe that could not run is a failed probe (exit -1)
            log.warning("Health check for container %s error: %s", c.short_id, exc)
            code, output = -1, str(exc)
        record_result(d, c, {"Start": rfc3339_ns(start_ns), "End": rfc3339_ns(time.time_ns()),
                             "ExitCode": code, "Output": output}, start_ns)


def record_result(d: Daemon, c: Container, result: dict[str, Any], start_ns: int) -> None:
    """handleProbeResult: append to the log (last 5), update streak and status, emit on change."""
    h = c.state.health
    if h is None or d.containers.find(c.id) is None:
        return
    old = status_of(c)
    h["Log"] = [*(h.get("Log") or []), result][-MAX_LOG_ENTRIES:]
    if result["ExitCode"] == 0:
        h["FailingStreak"] = 0
        h["Status"] = HEALTHY
    else:
        in_start_period = old == STARTING and \
            start_ns - c.state.started_ns < _setting(c, "StartPeriod", DEFAULT_START_PERIOD)
        if not in_start_period:
            h["FailingStreak"] = int(h.get("FailingStreak") or 0) + 1
            if h["FailingStreak"] >= _setting(c, "Retries", DEFAULT_RETRIES):
                h["Status"] = UNHEALTHY
    d.containers.save(c)
    current = status_of(c)
    if current != old:
        d.emit(c, f"health_status: {current}")


# -- one probe ------------------------------------------------------------------------------


async def run_probe(d: Daemon, c: Container, cmd: list[str], timeout: float) -> tuple[int, str]:
    """Run cmd as an exec instance of the container; (exit code, first 4096 bytes of output).

    A start failure raises SangjaError (its message becomes the result's output); a probe still
    running after `timeout` seconds is killed and gives -1 with "Health check exceeded timeout".
    """
    from sangja.daemon.exec import create_exec, finish_exec
    from sangja.daemon.exec_start import build_process
    from sangja.runtime import exec as rexec

    rec = create_exec(d, c.id, {"Cmd": cmd, "User": c.config.get("User") or "",
                                "WorkingDir": c.config.get("WorkingDir") or "",
                                "AttachStdout": True, "AttachStderr": True})
    process = build_process(d, c, rec)
    rec.started = rec.running = True
    session_dir = d.runtime.exec_root / "x" / rec.id
    output = _LimitedBuffer()
    proc: rexec.ExecProcess | None = None
    try:
        d.emit(c, f"exec_start: {' '.join(cmd)}", {"execID": rec.id})
        proc = await rexec.spawn_exec(d.runtime.runtime_path, d.runtime.runc_root, c.id, session_dir, process,
                                      stdin=False, stdout=True, stderr=True)
        rec.process = proc
        rec.spawned.set()
        readers = [asyncio.ensure_future(_drain(s, output)) for s in (proc.proc.stdout, proc.proc.stderr)
                   if s is not None]
        try:
            code = await asyncio.wait_for(asyncio.shield(proc.proc.wait()), timeout)
        except TimeoutError:
            _kill(proc)
            await proc.proc.wait()
            for r in readers:
                r.cancel()
            rec.exit_code = 137
            text = output.text()
            shown = _go_duration(timeout)
            msg = f"Health check exceeded timeout ({shown})" + (f": {text}" if text else "")
            return -1, msg
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*readers), 2.0)
        for r in readers:
            r.cancel()
        error = proc.start_error() if code == 255 else None
        if error is not None:
            rec.exit_code = 126
            raise SangjaError(f"OCI runtime exec failed: {error}: unknown")
        rec.exit_code = code
        rec.pid = proc.pid
        return code, output.text()
    except asyncio.CancelledError:
        if proc is not None and proc.proc.returncode is None:
            _kill(proc)
        raise
    finally:
        finish_exec(d, c, rec, proc, session_dir)


def _kill(proc: Any) -> None:
    """Kill the probe inside the container (runc cannot forward SIGKILL) and runc itself."""
    pid = proc.pid
    if pid > 0:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.proc.send_signal(signal.SIGKILL)


async def _drain(stream: Any, out: _LimitedBuffer) -> None:  # host.child.OutPipe
    while True:
        data = await stream.read(65536)
        if not data:
            return
        out.write(data)


class _LimitedBuffer:
    """limitedBuffer: keeps the first 4096 bytes; "..." marks that more was written."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.truncated = False

    def write(self, data: bytes) -> None:
        keep = max(0, min(MAX_OUTPUT - len(self.buf), len(data)))
        self.buf += data[:keep]
        if keep < len(data):
            self.truncated = True

    def text(self) -> str:
        return self.buf.decode(errors="replace") + ("..." if self.truncated else "")


def _go_duration(seconds: float) -> str:
    """time.Duration's String for whole milliseconds and up: 30s, 1.5s, 500ms, 2m0s."""
    ms = round(seconds * 1000)
    if ms < 1000:
        return f"{ms}ms"
    if ms < 60_000:
        return f"{ms / 1000:g}s"
    minutes, rest = divmod(ms, 60_000)
    hours, minutes = divmod(minutes, 60)
    secs = f"{rest / 1000:g}s"
    return (f"{hours}h" if hours else "") + f"{minutes}m{secs}"
