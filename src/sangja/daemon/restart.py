"""Restart: stop (with the timeout) if running, then start."""

from __future__ import annotations

from sangja.daemon.daemon import Daemon
from sangja.daemon.monitor import cancel_restart
from sangja.daemon.start import launch
from sangja.daemon.stop import stop_running


async def restart_container(d: Daemon, ref: str, timeout: int | None = None, sig: str | None = None) -> None:
    c = d.containers.get(ref)
    cancel_restart(d, c)
    if c.state.running:
        c.manually_stopped = True
        c.manually_restarted = True  # an AutoRemove container is restarted, not removed
        await stop_running(d, c, timeout, sig)
    async with d.lock(c.id):
        c.manually_stopped = False
        if not c.state.running:
            await launch(d, c)
    d.emit(c, "restart")
