"""ConmonRuntime without root: conmon's flags, state read from files, the ctl FIFO.

runc and conmon are stand-in scripts that record their calls; cgroups are a temp tree.
"""

from __future__ import annotations

import os
import select
from pathlib import Path

import pytest

from sangja.errors import Conflict, InvalidParameter
from sangja.host.cgroups import CgroupLayout, Cgroups
from sangja.runtime.conmon import ConmonRuntime
from sangja.runtime.runc import NotRunning
from sangja.runtime.types import LaunchOptions

CID = "f" * 64


@pytest.fixture
def rt(tmp_path: Path) -> ConmonRuntime:
    calls = tmp_path / "calls"
    fake = tmp_path / "fake-runc"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n'
                    'echo \'{"status": "running", "pid": 77}\'\n')
    fake.chmod(0o755)
    cg = tmp_path / "cgroup"
    cg.mkdir()
    return ConmonRuntime(tmp_path / "exec", runtime=str(fake), conmon=str(fake),
                         cgroups=Cgroups(CgroupLayout(version=2, unified=str(cg))))


def runc_calls(rt: ConmonRuntime) -> list[str]:
    calls = rt.exec_root.parent / "calls"
    return calls.read_text().splitlines() if calls.exists() else []


def test_layout(rt: ConmonRuntime) -> None:
    for d in ("c", "exits", "s", "runc"):
        assert (rt.exec_root / d).is_dir()
    assert rt.exits_dir == rt.exec_root / "exits"
    assert rt.attach_socket(CID) == f"{rt.exec_root}/s/{CID}/attach"
    with pytest.raises(InvalidParameter):
        rt.attach_socket("../escape")


def flags(rt: ConmonRuntime, **kw: object) -> list[str]:
    return rt._conmon_args(CID, LaunchOptions(log_path="/l/ctr.log", **kw))  # type: ignore[arg-type]


def test_conmon_flags(rt: ConmonRuntime) -> None:
    args = flags(rt)
    d = f"{rt.exec_root}/c/{CID}"
    pairs = dict(zip(args[1::2], args[2::2], strict=False))
    assert args[0] == rt.conmon_path
    assert pairs["--api-version"] == "1"
    assert "--cid" in args and args[args.index("--cid") + 1] == CID
    assert args[args.index("--cuuid") + 1] == CID
    assert args[args.index("--bundle") + 1] == f"{d}/bundle"
    assert args[args.index("--exit-dir") + 1] == str(rt.exits_dir)
    assert args[args.index("--socket-dir-path") + 1] == str(rt.sockets_dir)
    assert args[args.index("--log-path") + 1] == "k8s-file:/l/ctr.log"
    assert args[args.index("--persist-dir") + 1] == f"{d}/persist"
    runtime_args = [args[i + 1] for i, a in enumerate(args) if a == "--runtime-arg"]
    assert runtime_args == ["--root", str(rt.runc_root)]
    for absent in ("--terminal", "--stdin", "--leave-stdin-open", "--log-size-max"):
        assert absent not in args


def test_conmon_stdio_flags(rt: ConmonRuntime) -> None:
    assert "--terminal" in flags(rt, tty=True, stdin=True)
    assert "--stdin" not in flags(rt, tty=True, stdin=True)       # the pty carries input (CONMON-NOTES §4)
    detached_stdin = flags(rt, stdin=True)
    assert "--stdin" in detached_stdin and "--leave-stdin-open" in detached_stdin
    stdin_once = flags(rt, stdin=True, stdin_once=True)
    assert "--stdin" in stdin_once and "--leave-stdin-open" not in stdin_once
    capped = flags(rt, log_size_max=4096)
    assert capped[capped.index("--log-size-max") + 1] == "4096"


async def test_status_from_exit_files_needs_no_runc(rt: ConmonRuntime) -> None:
    d = rt.container_dir(CID)
    (d / "persist").mkdir(parents=True)
    (d / "pidfile").write_text("4321")
    (d / "persist" / "oom").write_text("")
    (rt.exits_dir / CID).write_text("137")
    os.utime(rt.exits_dir / CID, (1_700_000_000, 1_700_000_000))
    st = await rt.status(CID)
    assert (st.state, st.exit_code, st.pid, st.oom_killed, st.monitor_alive) == ("stopped", 137, 4321, True, False)
    assert st.finished_at == 1_700_000_000
    assert rt.exit_code(CID) == 137
    assert runc_calls(rt) == []
    assert rt.list_ids() == [CID]


async def test_status_gone_and_running(rt: ConmonRuntime) -> None:
    assert (await rt.status(CID)).state == "gone"
    assert runc_calls(rt) == []
    rt.container_dir(CID).mkdir(parents=True)
    st = await rt.status(CID)
    assert (st.state, st.pid, st.exit_code) == ("running", 77, None)
    assert runc_calls(rt) == [f"--root {rt.runc_root} state {CID}"]


async def test_create_refuses_an_id_that_is_live(rt: ConmonRuntime, tmp_path: Path) -> None:
    (rt.runc_root / CID).mkdir()
    spec = {"root": {"path": str(tmp_path)}}
    with pytest.raises(Conflict, match="already exists"):
        await rt.create(CID, spec, LaunchOptions(log_path=str(tmp_path / "l.log")))


async def test_create_validates_paths(rt: ConmonRuntime, tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter, match="absolute"):
        await rt.create(CID, {"root": {"path": "rel"}}, LaunchOptions(log_path=str(tmp_path / "l.log")))
    with pytest.raises(InvalidParameter, match="':'"):
        await rt.create(CID, {"root": {"path": "/r"}}, LaunchOptions(log_path="/a:b/l.log"))


def test_ctl_fifo_messages(rt: ConmonRuntime) -> None:
    bundle = rt.bundle_dir(CID)
    with pytest.raises(NotRunning):
        rt.resize(CID, 10, 20)                 # no FIFO: no monitor
    bundle.mkdir(parents=True)
    os.mkfifo(bundle / "ctl")
    with pytest.raises(NotRunning):
        rt.resize(CID, 10, 20)                 # FIFO without a reader: conmon is gone
    reader = os.open(bundle / "ctl", os.O_RDONLY | os.O_NONBLOCK)
    try:
        rt.resize(CID, 10, 20)
        assert os.read(reader, 100) == b"1 10 20\n"
        rt.reopen_log(CID)
        rt.resize(CID, 30, 40)
        select.select([reader], [], [], 1)
        assert os.read(reader, 100) == b"2 0 0\n1 30 40\n"
    finally:
        os.close(reader)
