"""All container records, indexed by ID and name, persisted one directory per container.

Lookup follows Docker's order: full ID, then name, then a unique ID prefix.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

from sangja.daemon import container as record
from sangja.daemon.container import Container
from sangja.errors import Conflict, InvalidParameter, NotFound


class ContainerStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._by_id: dict[str, Container] = {}
        self._by_name: dict[str, str] = {}

    def directory(self, cid: str) -> Path:
        return self.root / cid

    def load_all(self) -> list[str]:
        """Read every saved record; return the IDs of directories that hold none (half-created)."""
        orphans: list[str] = []
        for entry in sorted(self.root.iterdir()):
            if not entry.is_dir():
                continue
            c = record.load(entry)
            if c is None:
                orphans.append(entry.name)
                continue
            self._by_id[c.id] = c
            self._by_name[c.name] = c.id
        return orphans

    def __iter__(self) -> Iterator[Container]:
        return iter(list(self._by_id.values()))

    def __len__(self) -> int:
        return len(self._by_id)

    def names(self) -> set[str]:
        return set(self._by_name)

    def get(self, ref: str) -> Container:
        if not ref:
            raise InvalidParameter("No container name or ID supplied")
        c = self._by_id.get(ref)
        if c is not None:
            return c
        cid = self._by_name.get(ref if ref.startswith("/") else "/" + ref)
        if cid is not None:
            return self._by_id[cid]
        matches = [i for i in self._by_id if i.startswith(ref)]
        if len(matches) == 1:
            return self._by_id[matches[0]]
        if len(matches) > 1:
            raise InvalidParameter(f"Multiple IDs found with provided prefix: {ref}")
        raise NotFound(f"No such container: {ref}")

    def find(self, ref: str) -> Container | None:
        try:
            return self.get(ref)
        except (NotFound, InvalidParameter):
            return None

    def reserve_name(self, name: str, cid: str) -> None:
        owner = self._by_name.get(name)
        if owner is not None and owner != cid:
            raise Conflict(
                f'Conflict. The container name "{name}" is already in use by container "{owner}". '
                "You have to remove (or rename) that container to be able to reuse that name."
            )
        self._by_name[name] = cid

    def release_name(self, name: str) -> None:
        self._by_name.pop(name, None)

    def add(self, c: Container) -> None:
        self.directory(c.id).mkdir(parents=True, exist_ok=True)
        self._by_id[c.id] = c
        self._by_name[c.name] = c.id
        self.save(c)

    def save(self, c: Container) -> None:
        if c.id in self._by_id:
            record.save(c, self.directory(c.id))

    def remove(self, c: Container) -> None:
        self._by_id.pop(c.id, None)
        if self._by_name.get(c.name) == c.id:
            del self._by_name[c.name]
        shutil.rmtree(self.directory(c.id), ignore_errors=True)

    def discard_directory(self, cid: str) -> None:
        shutil.rmtree(self.directory(cid), ignore_errors=True)
