"""Remove a container: refuse a running one unless forced; kill, clean up runtime, rootfs, files."""

from __future__ import annotations

import asyncio
import contextlib
import signal as signals

from sangja.daemon import health
from sangja.daemon.daemon import Daemon
from sangja.daemon.monitor import cancel_restart, handle_exit
from sangja.daemon.network_sandbox import release_sandbox
from sangja.daemon.volume_mounts import remove_anonymous_volumes
from sangja.errors import Conflict


async def remove_container(d: Daemon, ref: str, force: bool = False, volumes: bool = False) -> None:
    c = d.containers.get(ref)
    if c.state.status == "removing":
        raise Conflict(f"removal of container {c.short_id} is already in progress")
    cancel_restart(d, c)
    was_running = c.state.running
    if c.state.running:
        if not force:
            state = "paused" if c.state.status == "paused" else "running"
            hint = (
                "Unpause and then stop the container before attempting removal or force remove"
                if state == "paused"
                else "stop the container before removing or force remove"
            )
            raise Conflict(f'cannot remove container "{c.name}": container is {state}: {hint}')
        c.manually_stopped = True
        exited = d.waiters.on_next_exit(c.id)
        if c.state.status == "paused":
            await d.runtime.resume(c.id)
        with contextlib.suppress(Exception):
            await d.runtime.kill(c.id, signals.SIGKILL)
        try:
            await asyncio.wait_for(asyncio.shield(exited), 30)
        except TimeoutError:
            await handle_exit(d, c.id)
    async with d.lock(c.id):
        if d.containers.find(c.id) is None:
            return
        c.state.status = "removing"
        health.stop_monitor(d, c, save=False)
        d.containers.save(c)
        if was_running:
            await d.runtime.delete(c.id)  # `rm -f` ends once runc has removed it (it may not have died)
        else:
            d.runtime.delete_soon(c.id)  # exited: only runc's state is left (see runtime/conmon.py)
        await release_sandbox(d, c)
        await asyncio.to_thread(d.rootfs.unmount, d.containers.directory(c.id))
        await asyncio.to_thread(d.containers.remove, c)
        d.stopped_event(c.id).set()
        d.stopped.pop(c.id, None)
        d.backoff.pop(c.id, None)
    d.forget_lock(c.id)
    d.execs.forget_container(c.id)
    d.emit(c, "destroy")
    if volumes:
        await asyncio.to_thread(remove_anonymous_volumes, d, c.mount_points)
    d.waiters.removed(c.id, c.state.exit_code)
