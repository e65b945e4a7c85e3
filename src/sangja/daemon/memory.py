"""Keeping sangjad's resident memory small while it idles.

Two things, both hooked from daemon/main.py:
- `install_lazy_imports()`: pyroute2 without its package `__init__` (host/pyroute2_lazy.py),
  before anything imports it: ~5 MB.
- `IdleTrimmer`: after a burst of requests (an image import, 1000 creates, a large listing)
  glibc keeps the freed heap mapped, so the daemon's RSS only grows. Once no request has
  arrived for IDLE_DELAY seconds, `malloc_trim(0)` hands the free pages of every malloc arena
  back to the kernel (~7-12 MB after such bursts here). It runs once per quiet period, never
  while requests keep coming, and costs ~1 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

IDLE_DELAY = 0.5  # seconds without a new request


def install_lazy_imports() -> None:
    from sangja.host import pyroute2_lazy

    pyroute2_lazy.install()


def malloc_trim() -> bool:
    """glibc's malloc_trim(0); False where there is no glibc (then nothing is done)."""
    global _trim
    if _trim is None:
        import ctypes

        try:
            _trim = ctypes.CDLL("libc.so.6", use_errno=True).malloc_trim
        except (OSError, AttributeError):
            _trim = False
    if _trim is False:
        return False
    _trim(0)
    return True


_trim: Any = None


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
