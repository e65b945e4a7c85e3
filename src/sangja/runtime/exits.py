"""Learn of container exits as they happen: inotify on conmon's exit directory.

conmon writes `<exits_dir>/<id>` (the code, no newline) when the container's process is
gone. The watcher reports each such ID once per event; an ID can be reported again (an
inotify queue overflow makes it rescan the directory), so consumers must be idempotent.
Exits from before start() are not reported unless `report_existing` is set: read them
with ConmonRuntime.status()/exit_code() when reconciling.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from inotify_simple import INotify, flags

_MASK = flags.CLOSE_WRITE | flags.MOVED_TO | flags.Q_OVERFLOW


def _is_exit_file(name: str) -> bool:
    # conmon may write through a temporary "<id>.XXXXXX" and rename it; IDs have no dot.
    return bool(name) and "." not in name


class ExitWatcher:
    """Container IDs whose exit file appeared, in order.

    Usage:
        watcher = ExitWatcher(runtime.exits_dir)
        watcher.start(loop)
        cid = await watcher.next()        # or: async for cid in watcher
        watcher.close()                   # wakes waiters; next() then raises StopAsyncIteration
    """

    def __init__(self, exits_dir: Path, report_existing: bool = False) -> None:
        self.exits_dir = Path(exits_dir)
        self._report_existing = report_existing
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._inotify: INotify | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Begin watching (idempotent). Call from the event loop's thread."""
        if self._inotify is not None or self._closed:
            return
        self._loop = loop or asyncio.get_running_loop()
        self.exits_dir.mkdir(parents=True, exist_ok=True)
        self._inotify = INotify(nonblocking=True)
        self._inotify.add_watch(str(self.exits_dir), _MASK)
        self._loop.add_reader(self._inotify.fileno(), self._on_readable)
        if self._report_existing:
            self._rescan()

    def close(self) -> None:
        """Stop watching; pending and future next() calls end with StopAsyncIteration."""
        if self._closed:
            return
        self._closed = True
        if self._inotify is not None:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(self._inotify.fileno())
            self._inotify.close()
            self._inotify = None
        self._queue.put_nowait(None)

    def _rescan(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            for name in sorted(os.listdir(self.exits_dir)):
                if _is_exit_file(name):
                    self._queue.put_nowait(name)

    def _on_readable(self) -> None:
        if self._inotify is None:
            return
        try:
            events = self._inotify.read(timeout=0)
        except BlockingIOError:
            return
        batch: list[str] = []
        for event in events:
            if event.mask & flags.Q_OVERFLOW:
                self._rescan()
                continue
            if _is_exit_file(event.name) and event.name not in batch:
                batch.append(event.name)
        for name in batch:
            self._queue.put_nowait(name)

    async def next(self) -> str:
        """The next container ID whose exit file appeared. StopAsyncIteration once closed."""
        if self._closed and self._queue.empty():
            raise StopAsyncIteration
        cid = await self._queue.get()
        if cid is None:
            self._queue.put_nowait(None)      # keep waking other waiters
            raise StopAsyncIteration
        return cid

    def __aiter__(self) -> AsyncIterator[str]:
        return self

    async def __anext__(self) -> str:
        return await self.next()
