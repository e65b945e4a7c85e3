"""The event log behind `GET /events`: a bounded in-memory history plus live subscribers.

Like dockerd, events are not persisted: a restarted daemon starts a new history.
Each event is the API's EventMessage shape (Type, Action, Actor{ID, Attributes},
scope, time, timeNano) plus the legacy top-level status/id/from fields for containers
and images that old clients read.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

Event = dict[str, Any]

HISTORY = 1024


class EventLog:
    def __init__(self) -> None:
        self._history: deque[Event] = deque(maxlen=HISTORY)
        self._subscribers: set[asyncio.Queue[Event]] = set()

    def publish(
        self, type_: str, action: str, actor_id: str, attributes: dict[str, str] | None = None
    ) -> Event:
        now = time.time_ns()
        attrs = dict(attributes or {})
        event: Event = {
            "Type": type_,
            "Action": action,
            "Actor": {"ID": actor_id, "Attributes": attrs},
            "scope": "local",
            "time": now // 1_000_000_000,
            "timeNano": now,
        }
        if type_ in ("container", "image"):
            event["status"] = action
            event["id"] = actor_id
            if type_ == "container" and "image" in attrs:
                event["from"] = attrs["image"]
        self._history.append(event)
        for q in list(self._subscribers):
            try:
                q.put_nowait(event)
            except asyncio.QueueFull:
                # A subscriber that cannot keep up is dropped rather than growing memory.
                self._subscribers.discard(q)
        return event

    def history(self, since_ns: int | None = None, until_ns: int | None = None) -> list[Event]:
        return [
            e
            for e in self._history
            if (since_ns is None or e["timeNano"] >= since_ns)
            and (until_ns is None or e["timeNano"] <= until_ns)
        ]

    def subscribe(self) -> Subscription:
        """Live events from now on; call `close()` when done."""
        q: asyncio.Queue[Event] = asyncio.Queue(maxsize=4096)
        self._subscribers.add(q)
        return Subscription(q, self._subscribers)


class Subscription:
    def __init__(self, queue: asyncio.Queue[Event], registry: set[asyncio.Queue[Event]]) -> None:
        self._queue = queue
        self._registry = registry

    async def get(self) -> Event:
        """The next event; raises ConnectionAbortedError if the subscriber fell too far behind."""
        if self._queue not in self._registry and self._queue.empty():
            raise ConnectionAbortedError("event subscriber fell behind and was dropped")
        return await self._queue.get()

    def close(self) -> None:
        self._registry.discard(self._queue)
