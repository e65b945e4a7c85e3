"""Pause and unpause (the freezer cgroup, through the runtime)."""

from __future__ import annotations

from sangja.daemon import health
from sangja.daemon.daemon import Daemon
from sangja.errors import Conflict


async def pause_container(d: Daemon, ref: str) -> None:
    c = d.containers.get(ref)
    async with d.lock(c.id):
        if not c.state.running:
            raise Conflict(f"container {c.id} is not running")
        if c.state.status == "paused":
            raise Conflict(f"container {c.id} is already paused")
        await d.runtime.pause(c.id)
        c.state.status = "paused"
        health.stop_monitor(d, c, save=False)
        d.containers.save(c)
    d.emit(c, "pause")


async def unpause_container(d: Daemon, ref: str) -> None:
    c = d.containers.get(ref)
    async with d.lock(c.id):
        if c.state.status != "paused":
            raise Conflict(f"container {c.id} is not paused")
        await d.runtime.resume(c.id)
        c.state.status = "running"
        d.containers.save(c)
        health.resume_monitor(d, c)
    d.emit(c, "unpause")
