"""Which containers use an image (for `rmi` refusals and image prune)."""

from __future__ import annotations

from sangja.daemon.store import ContainerStore


class ContainerImageUsage:
    def __init__(self, containers: ContainerStore) -> None:
        self._containers = containers

    def containers_using(self, image_id: str) -> list[tuple[str, bool]]:
        return [(c.id, c.state.running) for c in self._containers if c.image_id == image_id]
