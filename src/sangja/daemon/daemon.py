"""The daemon's parts, wired together once; the verbs (one file each) receive this object.

It holds no behaviour of its own beyond per-container locks and bookkeeping, so
that each verb stays readable on its own.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from sangja.daemon.config import DaemonConfig
from sangja.daemon.container import Container
from sangja.daemon.events import EventLog
from sangja.daemon.exec import ExecStore
from sangja.daemon.store import ContainerStore
from sangja.daemon.waiters import Waiters
from sangja.volume.store import VolumeStore

if TYPE_CHECKING:
    from pathlib import Path

    from sangja.image.store import ImageStore
    from sangja.network.controller import BridgeController
    from sangja.runtime.conmon import ConmonRuntime


class RootfsOps(Protocol):
    """Mounting a container's root filesystem (the real one is runtime.rootfs; tests use a fake)."""

    def mount(self, lowers: list[str], container_dir: Path, *, volatile: bool = False) -> str: ...
    def unmount(self, container_dir: Path) -> None: ...


class OverlayRootfs:
    def mount(self, lowers: list[str], container_dir: Path, *, volatile: bool = False) -> str:
        from sangja.runtime.rootfs import mount_rootfs

        return mount_rootfs(lowers, container_dir, volatile=volatile)

    def unmount(self, container_dir: Path) -> None:
        from sangja.runtime.rootfs import unmount_rootfs

        unmount_rootfs(container_dir)


class Daemon:
    def __init__(
        self, config: DaemonConfig, images: ImageStore, runtime: ConmonRuntime, rootfs: RootfsOps | None = None
    ) -> None:
        self.config = config
        self.rootfs: RootfsOps = rootfs or OverlayRootfs()
        self.images = images
        self.runtime = runtime
        self.containers = ContainerStore(config.data_root / "containers")
        self.volumes = VolumeStore(config.data_root / "volumes")
        self.events = EventLog()
        self.waiters = Waiters()
        self.started_ns = time.time_ns()
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        # Attach sessions waiting for a container's conmon (attach comes before start).
        self.attach_hooks: dict[str, list[Callable[[], Any]]] = defaultdict(list)
        # Per container: set when the container is not running (log followers stop on it).
        self.stopped: dict[str, asyncio.Event] = {}
        self.restart_tasks: dict[str, asyncio.Task[None]] = {}
        self.backoff: dict[str, float] = {}  # current restart delay per container (seconds)
        self.background: set[asyncio.Task[Any]] = set()
        self.execs = ExecStore()  # exec instances, in memory like dockerd's
        self.network: BridgeController | None = None  # set by sangjad's main; None = no bridge (unit tests)
        self.dns: Any = None  # the embedded DNS server (daemon/network_dns.py), set by sangjad's main

    def lock(self, cid: str) -> asyncio.Lock:
        return self._locks[cid]

    def forget_lock(self, cid: str) -> None:
        self._locks.pop(cid, None)

    def stopped_event(self, cid: str) -> asyncio.Event:
        ev = self.stopped.get(cid)
        if ev is None:
            ev = self.stopped[cid] = asyncio.Event()
            c = self.containers.find(cid)
            if c is None or not c.state.running:
                ev.set()
        return ev

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        """Run a background task the daemon keeps a reference to (and cancels on shutdown)."""
        task = asyncio.get_running_loop().create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    def emit(self, c: Container, action: str, extra: dict[str, str] | None = None) -> None:
        attrs = {"image": c.image, "name": c.name.lstrip("/")}
        attrs.update({k: str(v) for k, v in (c.config.get("Labels") or {}).items()})
        if extra:
            attrs.update(extra)
        self.events.publish("container", action, c.id, attrs)
