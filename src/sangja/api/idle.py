"""Keeping sangjad's resident memory small while it idles: `IdleTrimmer` counts requests (a
middleware) and, after a burst (an image import, 1000 creates, a large listing), once no request
has arrived for IDLE_DELAY seconds, asks the host to hand the heap's free pages back
(host/heap.py, ~7-12 MB after such bursts here). It runs once per quiet period, never while
requests keep coming, and costs ~1 ms. (pyroute2 is loaded without its package `__init__` for the
same reason: host/pyroute2_lazy.py, installed first thing by daemon/main.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from sangja.host.heap import malloc_trim

log = logging.getLogger(__name__)

IDLE_DELAY = 0.5  # seconds without a new request


class IdleTrimmer:
    """Counts requests (a middleware) and trims the heap once the daemon has gone quiet."""

    def __init__(self, delay: float = IDLE_DELAY, trim: Callable[[], object] = malloc_trim) -> None:
        self.delay = delay
        self.trim = trim
        self.trims = 0
        self._activity = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def attach(self, app: web.Application) -> None:
        """Count the app's requests and run while the app runs (before the runner's setup)."""
        app.middlewares.append(self.middleware)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        self._activity.set()
        return await handler(request)

    def touch(self) -> None:
        self._activity.set()

    async def run(self) -> None:
        """Forever: wait for a request, then for IDLE_DELAY without one, then trim once."""
        while True:
            await self._activity.wait()
            while True:
                self._activity.clear()
                try:
                    await asyncio.wait_for(self._activity.wait(), self.delay)
                except TimeoutError:
                    break
            try:
                self.trim()
                self.trims += 1
            except Exception:  # never let memory housekeeping take the daemon down
                log.exception("trimming the heap failed")

    async def _start(self, app: web.Application) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run())

    async def _stop(self, app: web.Application) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
