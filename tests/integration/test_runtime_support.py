"""Fixtures for the runtime's root tests: a busybox rootfs, a ConmonRuntime in a temp exec root.

Everything made here is undone at teardown: containers deleted, overlays unmounted,
the test's cgroup parent removed, temp dirs deleted. (No tests in this module.)
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from sangja.runtime.conmon import ConmonRuntime
from sangja.runtime.rootfs import mount_rootfs, unmount_rootfs
from sangja.runtime.spec import generate_spec
from sangja.runtime.types import LaunchOptions, ProcessSpec, SpecInput

needs_root = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("conmon") or not shutil.which("runc"),
                                reason="needs root, conmon and runc")

APPLETS = ("sh", "echo", "sleep", "cat", "true", "false", "id", "ls", "stty", "usleep", "head", "tr", "seq",
           "printf", "kill", "trap")


def build_busybox_rootfs(root: Path) -> Path:
    """A minimal image: /bin/busybox, applet symlinks, /etc/passwd and /etc/group."""
    (root / "bin").mkdir(parents=True)
    shutil.copy("/bin/busybox", root / "bin" / "busybox")
    for applet in APPLETS:
        os.symlink("busybox", root / "bin" / applet)
    (root / "etc").mkdir()
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n")
    (root / "etc/group").write_text("root:x:0:\nwheel:x:10:root\nnogroup:x:65534:\n")
    (root / "tmp").mkdir(mode=0o1777)
    return root


def new_id() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex


@dataclass
class Env:
    """One test's runtime: a short exec root, a cgroup parent of its own, a busybox lower dir."""

    base: Path
    runtime: ConmonRuntime
    lower: Path
    cgroup_parent: str
    mounted: list[Path]

    def rootfs(self, name: str) -> str:
        ctr = self.base / "ctr" / name
        self.mounted.append(ctr)
        return mount_rootfs([str(self.lower)], ctr)

    def log_path(self, cid: str) -> Path:
        return self.base / "logs" / cid[:12] / "ctr.log"

    def spec(self, cid: str, args: tuple[str, ...], **kw: Any) -> dict[str, Any]:
        tty = bool(kw.pop("tty", False))
        inp = SpecInput(
            id=cid,
            rootfs=self.rootfs(cid[:12]),
            process=ProcessSpec(args=args, env=("PATH=/bin", f"HOSTNAME={cid[:12]}"), additional_gids=(0, 10),
                                terminal=tty),
            hostname=cid[:12],
            cgroups_path=f"{self.cgroup_parent}/{cid}",
            # host_nofile_hard and available_caps: the defaults, read from this host
        )
        return generate_spec(replace(inp, **kw))

    async def run(self, args: tuple[str, ...], tty: bool = False, start: bool = True, **kw: Any) -> str:
        """Create (and start) a container running `args`; returns its ID."""
        cid = new_id()
        spec = self.spec(cid, args, tty=tty, **kw)
        await self.runtime.create(cid, spec, LaunchOptions(log_path=str(self.log_path(cid)), tty=tty))
        if start:
            await self.runtime.start(cid)
        return cid


async def wait_exit(rt: ConmonRuntime, cid: str, timeout: float = 10.0) -> int:
    for _ in range(int(timeout / 0.01)):
        code = rt.exit_code(cid)
        if code is not None:
            return code
        await asyncio.sleep(0.01)
    raise AssertionError(f"container {cid[:12]} did not exit within {timeout}s")


async def wait_until(cond: Any, what: str, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    # Short and under /tmp: conmon's attach socket path must stay below 108 bytes.
    base = Path(tempfile.mkdtemp(prefix="sjrt", dir="/tmp"))
    parent = f"/sangja-test-{base.name}"
    e = Env(base=base, runtime=ConmonRuntime(base / "x", cgroup_parent=parent),
            lower=build_busybox_rootfs(base / "lower"), cgroup_parent=parent, mounted=[])
    try:
        yield e
    finally:
        for cid in e.runtime.list_ids():
            await e.runtime.delete(cid)
        for ctr in e.mounted:
            unmount_rootfs(ctr)
        e.runtime.cgroups.remove_parent(parent)
        shutil.rmtree(base, ignore_errors=True)
