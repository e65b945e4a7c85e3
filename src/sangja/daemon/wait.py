"""Wait for a container: `not-running` (default), `next-exit`, or `removed`.

The future is registered before the caller sends the response headers, so an
exit that happens right after cannot be missed.
"""

from __future__ import annotations

import asyncio

from sangja.daemon.daemon import Daemon
from sangja.errors import InvalidParameter

CONDITIONS = ("", "not-running", "next-exit", "removed")


def wait_future(d: Daemon, ref: str, condition: str) -> asyncio.Future[int]:
    if condition not in CONDITIONS:
        raise InvalidParameter(f"invalid condition: {condition!r}")
    c = d.containers.get(ref)
    if condition == "removed":
        return d.waiters.on_removed(c.id)
    fut = d.waiters.on_next_exit(c.id)
    if condition in ("", "not-running") and not c.state.running and c.state.status != "restarting":
        fut.set_result(c.state.exit_code)
    return fut
