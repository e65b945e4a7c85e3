"""Fakes behind the daemon's seams (runtime, rootfs, images) for root-free lifecycle tests."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sangja.daemon.config import DaemonConfig
from sangja.daemon.daemon import Daemon
from sangja.daemon.monitor import handle_exit
from sangja.errors import NotFound
from sangja.image.types import Image
from sangja.runtime.runc import CreateFailed, NotRunning
from sangja.runtime.types import LaunchOptions, RuntimeStatus


class FakeImages:
    def __init__(self) -> None:
        self.image = Image(id="sha256:" + "ab" * 32, config={"config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]}},
                           repo_tags=["busybox:latest"])

    def get(self, ref: str) -> Image:
        if ref in ("busybox", "busybox:latest", self.image.id):
            return self.image
        raise NotFound(f"No such image: {ref}")

    def container_image(self, image_id: str) -> Image:
        return self.get(image_id)

    def layer_dirs(self, image: Image) -> list[str]:
        return []

    def list(self) -> list[Image]:
        return [self.image]


class FakeRootfs:
    """Instead of an overlay: a plain directory with an /etc/passwd."""

    def __init__(self) -> None:
        self.mounted: set[Path] = set()
        self.volatile: set[Path] = set()

    def mount(self, lowers: list[str], container_dir: Path, *, volatile: bool = False) -> str:
        if volatile:
            self.volatile.add(container_dir)
        merged = container_dir / "merged"
        (merged / "etc").mkdir(parents=True, exist_ok=True)
        (merged / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
        self.mounted.add(container_dir)
        return str(merged)

    def unmount(self, container_dir: Path) -> None:
        self.mounted.discard(container_dir)


class FakeRuntime:
    """Containers that 'run' until the test (or a signal) makes them exit."""

    def __init__(self, root: Path) -> None:
        self.exits_dir = root / "exits"
        self.exits_dir.mkdir(parents=True, exist_ok=True)
        self.state: dict[str, str] = {}
        self.codes: dict[str, int] = {}
        self.monitor_alive: dict[str, bool] = {}
        self.signals: list[tuple[str, int]] = []
        self.ignore_term = False
        self.fail_with: CreateFailed | None = None
        self.on_exit: Callable[[str], Any] | None = None
        self.specs: dict[str, dict[str, Any]] = {}
        self.created = 0
        self.updates: list[tuple[str, dict[str, Any]]] = []

    async def create(self, cid: str, spec: dict[str, Any], opts: LaunchOptions) -> int:
        if self.fail_with is not None:
            raise self.fail_with
        self.created += 1
        self.specs[cid] = spec
        self.state[cid] = "created"
        self.codes.pop(cid, None)
        self.monitor_alive[cid] = True
        return 1000 + self.created

    async def start(self, cid: str) -> None:
        self.state[cid] = "running"

    def exit(self, cid: str, code: int) -> None:
        self.state[cid] = "stopped"
        self.codes[cid] = code
        self.monitor_alive[cid] = False
        if self.on_exit is not None:
            self.on_exit(cid)

    async def kill(self, cid: str, sig: int) -> None:
        if self.state.get(cid) not in ("running", "paused"):
            raise NotRunning("container not running")
        self.signals.append((cid, sig))
        # Only a live conmon writes an exit file; a container without one dies unnoticed.
        if (sig == signal.SIGKILL or not self.ignore_term) and self.monitor_alive.get(cid):
            asyncio.get_running_loop().call_soon(self.exit, cid, 128 + sig)

    async def pause(self, cid: str) -> None:
        self.state[cid] = "paused"

    async def resume(self, cid: str) -> None:
        self.state[cid] = "running"

    async def update(self, cid: str, resources: dict[str, Any]) -> None:
        if self.state.get(cid) not in ("created", "running", "paused"):
            raise NotRunning("container not running")
        self.updates.append((cid, resources))

    async def delete(self, cid: str) -> None:
        self.state.pop(cid, None)

    def delete_soon(self, cid: str) -> None:
        self.state.pop(cid, None)

    async def drain(self) -> None:
        pass

    async def status(self, cid: str) -> RuntimeStatus:
        st = self.state.get(cid)
        if cid in self.codes:
            return RuntimeStatus("stopped", 0, self.codes[cid], False, False, time.time())
        if st is None:
            return RuntimeStatus("gone")
        return RuntimeStatus(st, 1001, None, False, self.monitor_alive.get(cid, False))  # type: ignore[arg-type]

    def list_ids(self) -> list[str]:
        return list(self.state)

    async def top(self, cid: str) -> list[int]:
        return [1001]

    def resize(self, cid: str, height: int, width: int) -> None:
        pass

    def reopen_log(self, cid: str) -> None:
        pass

    def attach_socket(self, cid: str) -> str:
        return "/nonexistent"

    def exit_code(self, cid: str) -> int | None:
        return self.codes.get(cid)


def make_daemon(tmp: Path, runtime: FakeRuntime | None = None) -> Daemon:
    cfg = DaemonConfig(data_root=tmp / "data", exec_root=tmp / "exec")
    rt = runtime or FakeRuntime(tmp / "exec")
    d = Daemon(cfg, FakeImages(), rt, FakeRootfs())  # type: ignore[arg-type]
    rt.on_exit = lambda cid: d.spawn(handle_exit(d, cid))
    return d
