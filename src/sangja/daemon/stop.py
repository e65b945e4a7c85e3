"""Stop: the stop signal, then SIGKILL after the timeout (Docker's exit 137 for a PID 1 that
ignores SIGTERM)."""

from __future__ import annotations

import asyncio
import contextlib
import signal as signals

from sangja.daemon.container import Container
from sangja.daemon.daemon import Daemon
from sangja.daemon.kill import parse_signal
from sangja.daemon.monitor import cancel_restart, handle_exit
from sangja.errors import NotModified

DEFAULT_TIMEOUT = 10


async def stop_container(d: Daemon, ref: str, timeout: int | None = None, sig: str | None = None) -> None:
    c = d.containers.get(ref)
    if cancel_restart(d, c):
        c.manually_stopped = True
        d.containers.save(c)
        return
    if not c.state.running:
        raise NotModified("container already stopped")
    c.manually_stopped = True
    d.containers.save(c)
    await stop_running(d, c, timeout, sig)


async def stop_running(d: Daemon, c: Container, timeout: int | None = None, sig: str | None = None) -> None:
    """Signal, wait up to the timeout, then kill; returns once the exit is recorded."""
    if timeout is None:
        timeout = c.config.get("StopTimeout")
        if timeout is None:
            timeout = DEFAULT_TIMEOUT
    stop_sig = parse_signal(sig or c.config.get("StopSignal") or "SIGTERM")
    exited = d.waiters.on_next_exit(c.id)
    if c.state.status == "paused":
        await d.runtime.resume(c.id)
    if timeout != 0:
        with contextlib.suppress(Exception):
            await d.runtime.kill(c.id, stop_sig)
        if timeout < 0:
            await exited
            return
        try:
            await asyncio.wait_for(asyncio.shield(exited), timeout)
            return
        except TimeoutError:
            pass
    with contextlib.suppress(Exception):
        await d.runtime.kill(c.id, signals.SIGKILL)
    try:
        await asyncio.wait_for(asyncio.shield(exited), 30)
    except TimeoutError:
        # The exit file never came (conmon gone?): record what the runtime says.
        await handle_exit(d, c.id)
    d.emit(c, "stop")
