"""The container state machine, restart policies and reconciliation, with fakes behind the seams."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sangja.daemon import monitor
from sangja.daemon.create import create_container
from sangja.daemon.daemon import Daemon
from sangja.daemon.kill import kill_container
from sangja.daemon.pause import pause_container, unpause_container
from sangja.daemon.reconcile import reconcile
from sangja.daemon.remove import remove_container
from sangja.daemon.rename import rename_container
from sangja.daemon.restart import restart_container
from sangja.daemon.start import start_container
from sangja.daemon.stop import stop_container
from sangja.daemon.views import inspect, status_text
from sangja.daemon.wait import wait_future
from sangja.errors import Conflict, InvalidParameter, NotFound, NotModified
from sangja.runtime.runc import CreateFailed

from .fakes_daemon import FakeRuntime, make_daemon


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0.01)


async def test_create_start_exit_records_code_and_events(d: Daemon) -> None:
    c, warnings = await create_container(d, {"Image": "busybox", "Cmd": ["sh", "-c", "exit 3"]}, "web")
    assert warnings == []
    assert c.name == "/web" and c.path == "sh" and c.args == ["-c", "exit 3"]
    assert status_text(c) == "Created"
    fut = wait_future(d, "web", "next-exit")
    await start_container(d, "web")
    assert c.state.status == "running" and c.state.pid > 0
    with pytest.raises(NotModified):
        await start_container(d, "web")
    d.runtime.exit(c.id, 3)  # type: ignore[attr-defined]
    assert await asyncio.wait_for(fut, 2) == 3
    assert c.state.status == "exited" and c.state.exit_code == 3
    assert status_text(c).startswith("Exited (3) ")
    actions = [e["Action"] for e in d.events.history()]
    assert actions == ["create", "start", "die"]
    assert inspect(c)["State"]["ExitCode"] == 3


async def test_duplicate_name_conflict_and_missing_image(d: Daemon) -> None:
    await create_container(d, {"Image": "busybox"}, "web")
    with pytest.raises(Conflict, match='name "/web" is already in use'):
        await create_container(d, {"Image": "busybox"}, "web")
    with pytest.raises(NotFound, match="No such image: nope"):
        await create_container(d, {"Image": "nope"}, "other")
    assert d.containers.find("other") is None


async def test_spec_gets_merged_config(d: Daemon) -> None:
    c, _ = await create_container(d, {"Image": "busybox", "Env": ["A=1"], "User": "0:0",
                                      "WorkingDir": "/tmp"}, None)
    await start_container(d, c.id)
    spec = d.runtime.specs[c.id]  # type: ignore[attr-defined]
    assert spec["process"]["args"] == ["sh"]
    assert "A=1" in spec["process"]["env"]
    assert spec["process"]["cwd"] == "/tmp"
    assert spec["hostname"] == c.id[:12]


async def test_stop_escalates_to_sigkill(d: Daemon) -> None:
    d.runtime.ignore_term = True  # type: ignore[attr-defined]
    c, _ = await create_container(d, {"Image": "busybox"}, "st")
    await start_container(d, "st")
    await stop_container(d, "st", timeout=1)
    assert c.state.exit_code == 137
    assert [s for _, s in d.runtime.signals] == [15, 9]  # type: ignore[attr-defined]
    with pytest.raises(NotModified):
        await stop_container(d, "st")


async def test_remove_running_needs_force(d: Daemon) -> None:
    c, _ = await create_container(d, {"Image": "busybox"}, "rm1")
    await start_container(d, "rm1")
    with pytest.raises(Conflict, match='cannot remove container "/rm1": container is running'):
        await remove_container(d, "rm1")
    await remove_container(d, "rm1", force=True)
    assert d.containers.find("rm1") is None
    assert not d.containers.directory(c.id).exists()
    assert d.events.history()[-1]["Action"] == "destroy"


async def test_on_failure_restarts_up_to_the_limit(d: Daemon, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(monitor, "BACKOFF_START", 0.001)
    c, _ = await create_container(
        d, {"Image": "busybox", "HostConfig": {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}}},
        "flaky")
    await start_container(d, "flaky")
    for _ in range(3):
        d.runtime.exit(c.id, 1)  # type: ignore[attr-defined]
        await settle()
    assert c.restart_count == 2
    assert c.state.status == "exited"
    assert d.runtime.created == 3  # type: ignore[attr-defined]


async def test_always_is_not_restarted_after_a_manual_stop(d: Daemon, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(monitor, "BACKOFF_START", 0.001)
    c, _ = await create_container(d, {"Image": "busybox", "HostConfig": {"RestartPolicy": {"Name": "always"}}},
                                  "al")
    await start_container(d, "al")
    d.runtime.exit(c.id, 0)  # type: ignore[attr-defined]
    await settle()
    assert c.state.status == "running" and c.restart_count == 1
    await stop_container(d, "al", timeout=1)
    await settle()
    assert c.state.status == "exited"


async def test_autoremove_removes_after_exit(d: Daemon) -> None:
    c, _ = await create_container(d, {"Image": "busybox", "HostConfig": {"AutoRemove": True}}, "tmp")
    removed = wait_future(d, "tmp", "removed")
    await start_container(d, "tmp")
    d.runtime.exit(c.id, 0)  # type: ignore[attr-defined]
    assert await asyncio.wait_for(removed, 2) == 0
    assert d.containers.find("tmp") is None


async def test_start_failure_maps_to_127(d: Daemon) -> None:
    d.runtime.fail_with = CreateFailed(  # type: ignore[attr-defined]
        'runc create failed: unable to start container process: exec: "nosuch": executable file not '
        "found in $PATH", kind="not_found")
    c, _ = await create_container(d, {"Image": "busybox", "Cmd": ["nosuch"]}, "bad")
    with pytest.raises(InvalidParameter, match="executable file not found"):
        await start_container(d, "bad")
    assert c.state.exit_code == 127
    assert c.state.status == "created"
    assert not d.rootfs.mounted  # type: ignore[attr-defined]


async def test_pause_kill_rename(d: Daemon) -> None:
    c, _ = await create_container(d, {"Image": "busybox"}, "pa")
    with pytest.raises(Conflict, match="is not running"):
        await kill_container(d, "pa", "KILL")
    await start_container(d, "pa")
    await pause_container(d, "pa")
    assert status_text(c).endswith("(Paused)")
    with pytest.raises(Conflict, match="already paused"):
        await pause_container(d, "pa")
    await unpause_container(d, "pa")
    await rename_container(d, "pa", "qq")
    assert d.containers.get("qq") is c and d.containers.find("pa") is None
    await kill_container(d, "qq", "KILL")
    await settle()
    assert c.state.exit_code == 137


async def test_restart_runs_it_again(d: Daemon) -> None:
    c, _ = await create_container(d, {"Image": "busybox"}, "rs")
    await start_container(d, "rs")
    await restart_container(d, "rs", timeout=1)
    assert c.state.status == "running"
    assert d.runtime.created == 2  # type: ignore[attr-defined]


async def test_reconcile_after_daemon_restart(tmp_path: Path) -> None:
    runtime = FakeRuntime(tmp_path / "exec")
    d1 = make_daemon(tmp_path, runtime)
    alive, _ = await create_container(d1, {"Image": "busybox"}, "alive")
    gone, _ = await create_container(d1, {"Image": "busybox"}, "exited")
    lost, _ = await create_container(d1, {"Image": "busybox"}, "lost")
    for c in (alive, gone, lost):
        await start_container(d1, c.id)
    (d1.containers.root / ("f" * 64)).mkdir()  # a create that died before writing its record
    # The daemon is killed; meanwhile one container exits and one loses its conmon.
    runtime.on_exit = None
    runtime.exit(gone.id, 5)
    runtime.monitor_alive[lost.id] = False
    d2 = make_daemon(tmp_path, runtime)
    await reconcile(d2)
    assert d2.containers.get("alive").state.status == "running"
    after = d2.containers.get("exited")
    assert after.state.status == "exited" and after.state.exit_code == 5
    assert d2.containers.get("lost").state.exit_code == 255
    assert not (d2.containers.root / ("f" * 64)).exists()
    assert "die" in [e["Action"] for e in d2.events.history()]


async def test_autoremove_container_is_removed_when_start_fails(d: Daemon) -> None:
    d.runtime.fail_with = CreateFailed('exec: "nosuch": executable file not found in $PATH')  # type: ignore[attr-defined]
    await create_container(d, {"Image": "busybox", "Cmd": ["nosuch"], "HostConfig": {"AutoRemove": True}}, "rmme")
    removed = wait_future(d, "rmme", "removed")
    with pytest.raises(InvalidParameter):
        await start_container(d, "rmme")
    assert await asyncio.wait_for(removed, 2) == 127
    assert d.containers.find("rmme") is None
