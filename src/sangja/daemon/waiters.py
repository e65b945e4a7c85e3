"""Clients waiting for a container to exit or be removed (`POST /containers/{id}/wait`)."""

from __future__ import annotations

import asyncio
from collections import defaultdict


class Waiters:
    def __init__(self) -> None:
        self._next_exit: dict[str, list[asyncio.Future[int]]] = defaultdict(list)
        self._removed: dict[str, list[asyncio.Future[int]]] = defaultdict(list)

    def on_next_exit(self, cid: str) -> asyncio.Future[int]:
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._next_exit[cid].append(fut)
        return fut

    def on_removed(self, cid: str) -> asyncio.Future[int]:
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._removed[cid].append(fut)
        return fut

    def exited(self, cid: str, code: int) -> None:
        for fut in self._next_exit.pop(cid, []):
            if not fut.done():
                fut.set_result(code)

    def removed(self, cid: str, code: int) -> None:
        self.exited(cid, code)
        for fut in self._removed.pop(cid, []):
            if not fut.done():
                fut.set_result(code)
