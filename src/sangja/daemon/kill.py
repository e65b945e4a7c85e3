"""Kill: send a signal to the container's init process."""

from __future__ import annotations

import asyncio
import contextlib
import signal as signals

from sangja.daemon.daemon import Daemon
from sangja.daemon.monitor import cancel_restart
from sangja.errors import Conflict, InvalidParameter

KILL_WAIT = 10.0  # seconds to wait for the exit of a SIGKILLed container


def parse_signal(value: str | int) -> int:
    """'SIGTERM', 'TERM', 'term', '15' → 15, with Docker's error for anything else."""
    if isinstance(value, int):
        num = value
    else:
        text = value.strip().upper()
        if text.isdigit():
            num = int(text)
        else:
            name = text if text.startswith("SIG") else "SIG" + text
            member = getattr(signals.Signals, name, None)
            if member is None:
                raise InvalidParameter(f"Invalid signal: {value}")
            num = int(member)
    if not 0 < num < 65:
        raise InvalidParameter(f"Invalid signal: {value}")
    return num


async def kill_container(d: Daemon, ref: str, sig: str | None) -> None:
    c = d.containers.get(ref)
    num = parse_signal(sig or "SIGKILL")
    if cancel_restart(d, c):
        c.manually_stopped = True
        d.containers.save(c)
        return
    if not c.state.running:
        raise Conflict(f"cannot kill container: {ref}: container {c.id} is not running")
    if c.state.status == "paused" and num != signals.SIGKILL:
        raise Conflict(
            f"cannot kill container: {ref}: container {c.id} is paused. Unpause the container "
            "before stopping or killing"
        )
    if num in (signals.SIGKILL, signals.SIGTERM, signals.SIGINT):
        # A kill the user asked for is a stop for restart policies (Docker's HasBeenManuallyStopped).
        c.manually_stopped = True
        d.containers.save(c)
    exited = d.waiters.on_next_exit(c.id) if num == signals.SIGKILL else None
    await d.runtime.kill(c.id, num)
    d.emit(c, "kill", {"signal": str(num)})
    if exited is not None:
        # Like dockerd, a SIGKILL returns once the exit is recorded, so that what the
        # client does next (inspect, exec, start) sees a stopped container.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(exited, KILL_WAIT)
