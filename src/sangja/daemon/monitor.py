"""React to containers exiting: record the exit, clean up, apply restart policies and AutoRemove.

Exits are learned from conmon's exit files (runtime.exits.ExitWatcher, inotify), so
the same path serves exits seen live and exits that happened while sangjad was down
(reconcile.py feeds those in). Restart back-off follows Docker: 100 ms doubling per
consecutive restart, reset when the container ran for at least 10 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from sangja.daemon import health
from sangja.daemon.container import Container
from sangja.daemon.daemon import Daemon
from sangja.daemon.network_sandbox import release_sandbox
from sangja.daemon.timefmt import rfc3339_ns
from sangja.errors import SangjaError

log = logging.getLogger(__name__)

BACKOFF_START = 0.1
BACKOFF_MAX = 60.0
BACKOFF_RESET_AFTER = 10.0


async def handle_exit(d: Daemon, cid: str, finished_ns: int | None = None) -> None:
    """The container's process is gone (its exit file exists): make the record say so."""
    c = d.containers.find(cid)
    if c is None:
        await d.runtime.delete(cid)
        return
    async with d.lock(c.id):
        if not c.state.running and c.state.status != "removing":
            return
        status = await d.runtime.status(c.id)
        code = status.exit_code if status.exit_code is not None else 255
        d.runtime.delete_soon(c.id)
        await release_sandbox(d, c)
        await asyncio.to_thread(d.rootfs.unmount, d.containers.directory(c.id))
        now = finished_ns or (int(status.finished_at * 1e9) if status.finished_at else time.time_ns())
        ran_for = (now - c.state.started_ns) / 1e9 if c.state.started_ns else 0.0
        if c.state.status != "removing":
            c.state.status = "exited"
        c.state.pid = 0
        c.state.exit_code = code
        c.state.oom_killed = status.oom_killed
        c.state.finished_at = rfc3339_ns(now)
        c.state.finished_ns = now
        c.rootfs = ""
        health.stop_monitor(d, c, save=False)
        d.containers.save(c)
        if status.oom_killed:
            d.emit(c, "oom")
        d.emit(c, "die", {"exitCode": str(code)})
        d.stopped_event(c.id).set()
        d.waiters.exited(c.id, code)
        restart = should_restart(c, code)
    if restart:
        schedule_restart(d, c, ran_for)
    elif c.host_config.get("AutoRemove") and c.state.status != "removing" and not c.manually_restarted:
        from sangja.daemon.remove import remove_container

        with contextlib.suppress(SangjaError):
            await remove_container(d, c.id, force=True, volumes=True)


def should_restart(c: Container, code: int) -> bool:
    if c.manually_stopped or c.state.status == "removing":
        return False
    policy = c.host_config.get("RestartPolicy") or {}
    name = policy.get("Name") or "no"
    if name in ("always", "unless-stopped"):
        return True
    if name == "on-failure" and code != 0:
        limit = int(policy.get("MaximumRetryCount") or 0)
        return limit == 0 or c.restart_count < limit
    return False


def schedule_restart(d: Daemon, c: Container, ran_for: float) -> None:
    prev = d.restart_tasks.pop(c.id, None)
    if prev is not None:
        prev.cancel()
    backoff = 0.0 if ran_for >= BACKOFF_RESET_AFTER else d.backoff.get(c.id, 0.0)
    backoff = BACKOFF_START if backoff == 0.0 else min(backoff * 2, BACKOFF_MAX)
    d.backoff[c.id] = backoff
    c.state.status = "restarting"
    d.containers.save(c)
    d.restart_tasks[c.id] = d.spawn(_restart_after(d, c, backoff))


async def _restart_after(d: Daemon, c: Container, delay: float) -> None:
    from sangja.daemon.start import launch

    try:
        await asyncio.sleep(delay)
        async with d.lock(c.id):
            if c.state.status != "restarting" or c.manually_stopped or d.containers.find(c.id) is None:
                return
            c.restart_count += 1
            try:
                await launch(d, c)
            except SangjaError as exc:
                log.warning("restarting %s failed: %s", c.short_id, exc)
                c.state.status = "exited"
                d.containers.save(c)
                return
            d.emit(c, "restart")
    finally:
        if d.restart_tasks.get(c.id) is asyncio.current_task():
            del d.restart_tasks[c.id]


def cancel_restart(d: Daemon, c: Container) -> bool:
    """Stop a pending restart (stop/kill/rm of a restarting container). True if one was pending."""
    task = d.restart_tasks.pop(c.id, None)
    if task is None:
        return False
    task.cancel()
    if c.state.status == "restarting":
        c.state.status = "exited"
        d.containers.save(c)
    return True


async def watch_exits(d: Daemon) -> None:
    """Forever: wait for conmon exit files and handle them."""
    from sangja.runtime.exits import ExitWatcher

    watcher = ExitWatcher(d.runtime.exits_dir)
    watcher.start(asyncio.get_running_loop())
    try:
        while True:
            cid = await watcher.next()
            d.spawn(_safe_exit(d, cid))
    finally:
        watcher.close()


async def _safe_exit(d: Daemon, cid: str) -> None:
    try:
        await handle_exit(d, cid)
    except Exception:
        log.exception("handling the exit of %s failed", cid[:12])
