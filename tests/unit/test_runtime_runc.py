"""runtime.runc error text handling and runtime.exits.ExitWatcher (inotify on a temp dir)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from sangja.errors import Conflict, System
from sangja.runtime.exits import ExitWatcher
from sangja.runtime.runc import CreateFailed, NotRunning, Runc, clean_runc_message

SYNC_MESSAGE = (
    'time="2026-11-28T22:30:28Z" level=error msg="runc create failed: unable to start container process: '
    'exec: \\"nosuch\\": executable file not found in $PATH"\n'
)


def test_clean_removes_the_logrus_wrapper() -> None:
    assert clean_runc_message(SYNC_MESSAGE) == (
        'runc create failed: unable to start container process: exec: "nosuch": executable file not found in $PATH'
    )


def test_clean_prefers_error_lines_and_keeps_plain_text() -> None:
    text = (
        'time="t" level=warning msg="unknown capability \\"CAP_X\\""\n'
        'time="t" level=error msg="container not running"\n'
    )
    assert clean_runc_message(text) == "container not running"
    assert clean_runc_message("plain failure\n") == "plain failure"
    assert clean_runc_message('time="t" level=error msg="tab\\there \\u00e9"') == "tab\there \u00e9"


def test_create_failed_kinds() -> None:
    not_found = CreateFailed(clean_runc_message(SYNC_MESSAGE))
    assert not_found.kind == "not_found" and isinstance(not_found, System)
    assert CreateFailed('exec: "/etc/passwd": permission denied').kind == "permission"
    assert CreateFailed('exec: "/nosuch": stat /nosuch: no such file or directory').kind == "not_found"
    assert CreateFailed("error mounting \"/h\" to rootfs at \"/etc/hosts\": not a directory").kind == "not_dir"
    assert CreateFailed("cgroup went away").kind == ""
    assert CreateFailed("anything", kind="permission").kind == "permission"
    assert issubclass(NotRunning, Conflict)


async def test_runc_check_classifies_not_running(tmp_path: Path) -> None:
    fake = tmp_path / "fake-runc"
    fake.write_text(
        "#!/bin/sh\n"
        'case "$3" in\n'
        '  kill) echo \'time="t" level=error msg="container not running"\' >&2; exit 1;;\n'
        '  pause) echo \'time="t" level=error msg="cgroup: permission denied"\' >&2; exit 1;;\n'
        '  *) echo "$@";;\n'
        "esac\n"
    )
    fake.chmod(0o755)
    runc = Runc(str(fake), tmp_path / "root")
    assert await runc.check("state", "x") == f"--root {tmp_path / 'root'} state x\n".encode()
    with pytest.raises(NotRunning, match="container not running"):
        await runc.check("kill", "x", "9")
    with pytest.raises(System, match="permission denied") as e:
        await runc.check("pause", "x")
    assert not isinstance(e.value, NotRunning)


async def test_exit_watcher_reports_exit_files(tmp_path: Path) -> None:
    exits = tmp_path / "exits"
    watcher = ExitWatcher(exits)
    watcher.start(asyncio.get_running_loop())
    try:
        # conmon-style: written to a temp name, renamed into place
        (exits / "abc.XyZ123").write_text("0")
        os.rename(exits / "abc.XyZ123", exits / "abc")
        assert await asyncio.wait_for(watcher.next(), 5) == "abc"
        # direct write
        (exits / "def").write_text("137")
        assert await asyncio.wait_for(watcher.next(), 5) == "def"
    finally:
        watcher.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(watcher.next(), 5)


async def test_exit_watcher_existing_files_and_iteration(tmp_path: Path) -> None:
    exits = tmp_path / "exits"
    exits.mkdir()
    (exits / "old").write_text("1")
    watcher = ExitWatcher(exits, report_existing=True)
    watcher.start()
    got: list[str] = []

    async def consume() -> None:
        async for cid in watcher:
            got.append(cid)

    task = asyncio.create_task(consume())
    (exits / "new").write_text("2")
    for _ in range(500):
        if len(got) == 2:
            break
        await asyncio.sleep(0.01)
    watcher.close()
    await asyncio.wait_for(task, 5)
    assert got == ["old", "new"]


async def test_runc_that_hangs_is_killed(tmp_path: Path) -> None:
    fake = tmp_path / "hung-runc"
    fake.write_text("#!/bin/sh\nexec sleep 30\n")
    fake.chmod(0o755)
    with pytest.raises(System, match="runc state timed out"):
        await Runc(str(fake), tmp_path).run("state", "x", timeout=0.2)
