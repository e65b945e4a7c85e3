"""Bring the records in line with what is really there, when sangjad starts.

After a crash or `kill -9` of sangjad, containers kept running under conmon and
some may have exited. For each record (CONMON-NOTES §6):
- exit file present                 → it exited while we were away: record code and time
- running/paused, conmon alive      → adopt it as it is
- running, conmon dead, or no trace → unmonitored or gone: kill, delete, record exit 255
Leftovers of creates or removes that never finished are deleted, and containers
whose restart policy says so are started again (Docker's rules at daemon start).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal as signals
import time

from sangja.daemon import health
from sangja.daemon.container import Container
from sangja.daemon.daemon import Daemon
from sangja.daemon.monitor import handle_exit
from sangja.daemon.network_sandbox import release_sandbox, restore_networks
from sangja.daemon.timefmt import rfc3339_ns
from sangja.errors import SangjaError

log = logging.getLogger(__name__)


async def reconcile(d: Daemon) -> None:
    orphans = await asyncio.to_thread(d.containers.load_all)
    for cid in orphans:
        log.info("removing the leftovers of unfinished container %s", cid[:12])
        await d.runtime.delete(cid)
        await asyncio.to_thread(d.rootfs.unmount, d.containers.directory(cid))
        d.containers.discard_directory(cid)
    known = {c.id for c in d.containers}
    for cid in d.runtime.list_ids():
        if cid not in known:
            await d.runtime.delete(cid)
    to_restart: list[Container] = []
    for c in d.containers:
        try:
            if await _reconcile_one(d, c):
                to_restart.append(c)
        except Exception:
            log.exception("reconciling container %s failed", c.short_id)
    await _remove_auto_remove_leftovers(d)
    await restore_networks(d)
    for c in to_restart:
        d.spawn(_restart_on_boot(d, c))


async def _reconcile_one(d: Daemon, c: Container) -> bool:
    """Returns True when the container should be started by its restart policy."""
    directory = d.containers.directory(c.id)
    if c.state.status == "removing":
        from sangja.daemon.remove import remove_container

        c.state.status = "exited"
        await remove_container(d, c.id, force=True)
        return False
    if c.state.status in ("running", "paused"):
        st = await d.runtime.status(c.id)
        if st.exit_code is not None:
            await handle_exit(d, c.id, int(st.finished_at * 1e9) if st.finished_at else None)
            return False  # handle_exit applied the restart policy
        if st.state in ("running", "paused") and st.monitor_alive:
            c.state.status = st.state
            c.state.pid = st.pid or c.state.pid
            d.containers.save(c)
            d.stopped_event(c.id).clear()
            health.init_monitor(d, c)
            return False
        log.warning("container %s lost its monitor (state %s); stopping it", c.short_id, st.state)
        if st.state in ("running", "paused", "created"):
            with contextlib.suppress(SangjaError):
                await d.runtime.kill(c.id, signals.SIGKILL)
        await d.runtime.delete(c.id)
        await release_sandbox(d, c)
        await asyncio.to_thread(d.rootfs.unmount, directory)
        now = time.time_ns()
        c.state.status = "exited"
        c.state.pid = 0
        c.state.exit_code = 255
        c.state.finished_at = rfc3339_ns(now)
        c.state.finished_ns = now
        c.rootfs = ""
        d.containers.save(c)
        return _boot_policy(c)
    # Not running by the record: nothing of it may be left in the runtime or mounted.
    if c.state.status == "restarting":
        c.state.status = "exited"
        d.containers.save(c)
    if c.id in d.runtime.list_ids():
        await d.runtime.delete(c.id)
    if c.network:
        await release_sandbox(d, c)
        d.containers.save(c)
    await asyncio.to_thread(d.rootfs.unmount, directory)
    return c.state.status == "exited" and _boot_policy(c)


async def _remove_auto_remove_leftovers(d: Daemon) -> None:
    """AutoRemove containers that are not running now are removed, as moby's restore does with
    live-restore (created ones too). It is also what makes volatile rootfs mounts safe: an
    overlay mounted volatile is never mounted again after a crash."""
    from sangja.daemon.remove import remove_container

    for c in list(d.containers):
        if c.host_config.get("AutoRemove") and not c.state.running and c.state.status != "removing":
            log.info("removing AutoRemove container %s, which is not running", c.short_id)
            try:
                await remove_container(d, c.id, force=True, volumes=True)
            except SangjaError as exc:
                log.warning("removing %s failed: %s", c.short_id, exc)


def _boot_policy(c: Container) -> bool:
    """Docker's restart-manager rule as applied when the daemon starts."""
    policy = c.host_config.get("RestartPolicy") or {}
    name = policy.get("Name") or "no"
    if name == "always":
        return True
    if name == "unless-stopped":
        return not c.manually_stopped
    if name == "on-failure" and not c.manually_stopped:
        limit = int(policy.get("MaximumRetryCount") or 0)
        return c.state.exit_code != 0 and (limit == 0 or c.restart_count < limit)
    return False


async def _restart_on_boot(d: Daemon, c: Container) -> None:
    from sangja.daemon.start import launch

    async with d.lock(c.id):
        if c.state.running or d.containers.find(c.id) is None:
            return
        c.manually_stopped = False
        try:
            await launch(d, c)
        except SangjaError as exc:
            log.warning("restarting %s at daemon start failed: %s", c.short_id, exc)
