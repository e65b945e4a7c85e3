"""What the image verbs need to know about containers (implemented by the container code)."""

from __future__ import annotations

from typing import Protocol


class ImageUsage(Protocol):
    def containers_using(self, image_id: str) -> list[tuple[str, bool]]:
        """(container ID, running) of every container created from the image with this full ID."""
        ...


class NoContainers:
    """An ImageUsage for a daemon (or a test) without containers."""

    def containers_using(self, image_id: str) -> list[tuple[str, bool]]:
        return []
