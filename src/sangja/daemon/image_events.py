"""Image events (`docker events --filter type=image`), published like dockerd's LogImageEvent.

The image verbs run in worker threads, while the EventLog's subscribers are asyncio queues
bound to the event loop: `LoopEventSink` hands each event to the loop thread-safely.
Attributes are the image's labels plus `name` (a reference or the image ID, as dockerd sets it).
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from sangja.daemon.events import EventLog
from sangja.image.store import ImageStore


class ImageEventSink(Protocol):
    def emit(self, action: str, image_id: str, attributes: dict[str, str]) -> None: ...


class LoopEventSink:
    """Publishes to an EventLog from any thread, on the loop that owns it."""

    def __init__(self, events: EventLog, loop: asyncio.AbstractEventLoop) -> None:
        self._events = events
        self._loop = loop

    def emit(self, action: str, image_id: str, attributes: dict[str, str]) -> None:
        self._loop.call_soon_threadsafe(self._events.publish, "image", action, image_id, attributes)


class RecordingEventSink:
    """Keeps events in a list (tests, and verbs called outside a running daemon)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, str]]] = []

    def emit(self, action: str, image_id: str, attributes: dict[str, str]) -> None:
        self.events.append((action, image_id, attributes))


def image_labels(store: ImageStore, image_id: str) -> dict[str, str]:
    if not store.exists(image_id):
        return {}
    labels = store.get(image_id).container_config.get("Labels") or {}
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def emit_image_event(
    sink: ImageEventSink, store: ImageStore, action: str, image_id: str, name: str,
    labels: dict[str, str] | None = None,
) -> None:
    """dockerd's LogImageEvent: labels of the image (when it still exists) plus `name`."""
    attributes = dict(labels if labels is not None else image_labels(store, image_id))
    if name:
        attributes["name"] = name
    sink.emit(action, image_id, attributes)
