"""ConmonRuntime with the real conmon, runc and overlayfs (root)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sangja.errors import Conflict
from sangja.runtime import logs
from sangja.runtime.conmon import ConmonRuntime, CreateFailed
from sangja.runtime.exits import ExitWatcher
from sangja.runtime.runc import NotRunning
from sangja.runtime.types import LaunchOptions

from .test_runtime_support import Env, env, needs_root, new_id, wait_exit, wait_until

pytestmark = [pytest.mark.root, needs_root]
__all__ = ["env"]

LOOP = "i=0; while true; do echo line $i; i=$((i+1)); usleep 20000; done"


def entries(e: Env, cid: str) -> list[tuple[str, bytes]]:
    return [(x.stream, x.data) for x in logs.read_entries(e.log_path(cid))]


async def test_run_to_exit_logs_and_exit_watcher(env: Env) -> None:
    rt = env.runtime
    watcher = ExitWatcher(rt.exits_dir)
    watcher.start(asyncio.get_running_loop())
    try:
        cid = await env.run(("sh", "-c", "echo to-stdout; echo to-stderr >&2; id; exit 3"))
        assert await asyncio.wait_for(watcher.next(), 10) == cid
    finally:
        watcher.close()
    assert rt.exit_code(cid) == 3
    st = await rt.status(cid)
    assert (st.state, st.exit_code, st.oom_killed) == ("stopped", 3, False)
    assert st.finished_at is not None
    got = entries(env, cid)
    assert ("stdout", b"to-stdout\n") in got
    assert ("stderr", b"to-stderr\n") in got
    assert ("stdout", b"uid=0(root) gid=0(root) groups=0(root),10(wheel)\n") in got

    cgroup_dirs = rt.cgroups.layout.dirs(f"{env.cgroup_parent}/{cid}")
    await rt.delete(cid)
    assert (await rt.status(cid)).state == "gone"
    assert rt.list_ids() == []
    assert not (rt.exits_dir / cid).exists()
    assert not os.path.lexists(rt.sockets_dir / cid)
    assert not (rt.runc_root / cid).exists()
    assert not [d for d in cgroup_dirs if d.exists()]
    await rt.delete(cid)   # idempotent


async def test_kill_term_is_ignored_by_pid1_then_kill(env: Env) -> None:
    rt = env.runtime
    cid = await env.run(("sleep", "1000"))
    st = await rt.status(cid)
    assert st.state == "running" and st.monitor_alive and st.pid > 0
    await rt.kill(cid, signal.SIGTERM)     # PID 1 without a handler: ignored
    await asyncio.sleep(0.2)
    assert rt.exit_code(cid) is None
    await rt.kill(cid, signal.SIGKILL)
    assert await wait_exit(rt, cid) == 137
    with pytest.raises(NotRunning):
        await rt.kill(cid, signal.SIGKILL)


async def test_term_with_a_handler_exits(env: Env) -> None:
    rt = env.runtime
    script = "trap 'echo got-term; exit 143' TERM; echo ready; while true; do usleep 10000; done"
    cid = await env.run(("sh", "-c", script))
    await wait_until(lambda: ("stdout", b"ready\n") in entries(env, cid), "the trap to be set")
    await rt.kill(cid, signal.SIGTERM)
    assert await wait_exit(rt, cid) == 143
    assert ("stdout", b"got-term\n") in entries(env, cid)


async def test_pause_resume_and_top(env: Env) -> None:
    rt = env.runtime
    cid = await env.run(("sh", "-c", "sleep 1000 & wait"))
    await wait_until(lambda: len(rt.cgroups.pids(f"{env.cgroup_parent}/{cid}")) == 2, "two processes")
    pids = await rt.top(cid)
    assert len(pids) == 2 and (await rt.status(cid)).pid in pids
    await rt.pause(cid)
    assert (await rt.status(cid)).state == "paused"
    await rt.resume(cid)
    assert (await rt.status(cid)).state == "running"
    await rt.kill(cid, signal.SIGKILL)
    assert await wait_exit(rt, cid) == 137
    with pytest.raises(NotRunning):
        await rt.pause(cid)


async def test_created_waits_for_start(env: Env) -> None:
    rt = env.runtime
    cid = await env.run(("echo", "started"), start=False)
    st = await rt.status(cid)
    assert st.state == "created" and st.monitor_alive
    assert entries(env, cid) == []
    await rt.start(cid)
    assert await wait_exit(rt, cid) == 0
    assert entries(env, cid) == [("stdout", b"started\n")]


async def test_missing_executable_is_not_found_and_leaves_nothing(env: Env) -> None:
    rt = env.runtime
    with pytest.raises(CreateFailed) as e:
        await env.run(("nosuch",))
    assert e.value.kind == "not_found"
    assert e.value.message == ('runc create failed: unable to start container process: exec: "nosuch": '
                               "executable file not found in $PATH")
    assert rt.list_ids() == [] and os.listdir(rt.exits_dir) == [] and os.listdir(rt.runc_root) == []
    assert os.listdir(rt.sockets_dir) == []


async def test_non_executable_is_permission_denied(env: Env) -> None:
    with pytest.raises(CreateFailed) as e:
        await env.run(("/etc/passwd",))
    assert e.value.kind == "permission"
    assert "permission denied" in e.value.message


async def test_duplicate_id_is_refused_and_the_first_keeps_working(env: Env) -> None:
    rt = env.runtime
    cid = await env.run(("sh", "-c", LOOP))
    spec = json.loads((rt.bundle_dir(cid) / "config.json").read_text())
    with pytest.raises(Conflict):
        await rt.create(cid, spec, LaunchOptions(log_path=str(env.log_path(cid))))
    assert (await rt.status(cid)).state == "running"
    sock = rt.connect_attach(cid)   # the first conmon's socket is still there
    try:
        sock.settimeout(10)
        packet = sock.recv(9000)
        assert packet[:1] == b"\x02" and b"line" in packet
    finally:
        sock.close()
    await rt.kill(cid, signal.SIGKILL)
    await wait_exit(rt, cid)


async def test_tty_gets_an_initial_size_and_input_through_attach(env: Env) -> None:
    rt = env.runtime
    cid = await env.run(("sh", "-c", "stty size; read line; echo got:$line"), tty=True, start=False)
    sock = rt.connect_attach(cid)
    try:
        await rt.start(cid)
        await wait_until(lambda: any(b"24 80" in d for _, d in entries(env, cid)), "stty output")
        sock.send(b"hello\r")
        assert await wait_exit(rt, cid) == 0
    finally:
        sock.close()
    got = b"".join(d for _, d in entries(env, cid))
    assert b"24 80\r\n" in got and b"got:hello" in got


async def test_oom_kill_is_reported(env: Env) -> None:
    rt = env.runtime
    if not rt.cgroups.layout.controller_dir("memory", "/"):
        pytest.skip("no memory cgroup")
    cid = await env.run(("sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"),
                        memory=16 << 20)
    assert await wait_exit(rt, cid, timeout=30) == 137
    st = await rt.status(cid)
    assert st.oom_killed and st.exit_code == 137


async def test_log_rotation_with_reopen_is_lossless(env: Env) -> None:
    rt = env.runtime
    n = 400
    cid = await env.run(("sh", "-c", f"i=0; while [ $i -lt {n} ]; do echo $i; i=$((i+1)); usleep 1000; done"))
    log = env.log_path(cid)
    rotations = 0
    for _ in range(3000):
        if rt.exit_code(cid) is not None:
            break
        if logs.rotate_if_needed(log, 300, 10_000, lambda: rt.reopen_log(cid)):
            rotations += 1
        await asyncio.sleep(0.002)
    assert await wait_exit(rt, cid) == 0
    files = [(p.name, p.stat().st_size) for p in logs.log_files(log)]
    assert rotations >= 3, (rotations, files)
    assert [e.data for e in logs.read_entries(log)] == [f"{i}\n".encode() for i in range(n)]


async def test_conmon_survives_its_parent_and_is_readopted(env: Env, tmp_path: Path) -> None:
    cid = new_id()
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(env.spec(cid, ("sh", "-c", LOOP))))
    log = env.log_path(cid)
    script = textwrap.dedent(f"""
        import asyncio, json, time
        from pathlib import Path
        from sangja.runtime.conmon import ConmonRuntime
        from sangja.runtime.types import LaunchOptions
        async def main():
            rt = ConmonRuntime(Path({str(env.runtime.exec_root)!r}), cgroup_parent={env.cgroup_parent!r})
            spec = json.loads(Path({str(spec_file)!r}).read_text())
            pid = await rt.create({cid!r}, spec, LaunchOptions(log_path={str(log)!r}))
            await rt.start({cid!r})
            print("started", pid, flush=True)
            await asyncio.sleep(1000)
        asyncio.run(main())
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        first = await asyncio.wait_for(asyncio.to_thread(parent.stdout.readline), 30)
        assert first.startswith("started"), first
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()

    rt = ConmonRuntime(env.runtime.exec_root, cgroup_parent=env.cgroup_parent)
    assert rt.list_ids() == [cid]
    st = await rt.status(cid)
    assert st.state == "running" and st.monitor_alive and st.exit_code is None
    seen = len(list(logs.read_entries(log)))
    await wait_until(lambda: len(list(logs.read_entries(log))) > seen + 5, "the log to keep growing")
    conmon_pid = rt.monitor_pid(cid)
    with open(f"/proc/{conmon_pid}/cgroup") as f:
        assert f"{env.cgroup_parent}/conmon" in f.read()
    await rt.kill(cid, signal.SIGKILL)
    assert await wait_exit(rt, cid) == 137
    await rt.delete(cid)
    assert rt.list_ids() == []


async def test_attach_socket_carries_both_streams(env: Env) -> None:
    rt = env.runtime
    cid = new_id()
    spec = env.spec(cid, ("sh", "-c", "read x; echo out:$x; echo err:$x >&2"))
    await rt.create(cid, spec, LaunchOptions(log_path=str(env.log_path(cid)), stdin=True, stdin_once=True))
    sock = rt.connect_attach(cid)
    try:
        await rt.start(cid)
        sock.send(b"hi\n")
        packets: list[bytes] = []
        sock.settimeout(10)
        for _ in range(10):
            try:
                p = sock.recv(9000)
            except TimeoutError:
                break
            if not p:
                break
            packets.append(p)
    finally:
        sock.close()
    assert await wait_exit(rt, cid) == 0
    assert b"\x02out:hi\n" in packets and b"\x03err:hi\n" in packets


async def test_delete_soon_runs_in_the_background_and_create_waits_for_it(env: Env) -> None:
    rt = env.runtime
    cid = await env.run(("true",))
    assert await wait_exit(rt, cid) == 0
    spec = json.loads((rt.bundle_dir(cid) / "config.json").read_text())
    cgroup_dirs = rt.cgroups.layout.dirs(f"{env.cgroup_parent}/{cid}")
    rt.delete_soon(cid)
    rt.delete_soon(cid)  # one delete per ID at a time
    # The same ID again at once: create waits for that delete rather than find runc's old state.
    await rt.create(cid, spec, LaunchOptions(log_path=str(env.log_path(cid))))
    await rt.start(cid)
    assert await wait_exit(rt, cid) == 0
    assert rt.exit_code(cid) == 0
    rt.delete_soon(cid)
    await rt.drain()
    assert rt.list_ids() == [] and os.listdir(rt.runc_root) == [] and os.listdir(rt.exits_dir) == []
    assert not [d for d in cgroup_dirs if d.exists()]


async def test_runc_create_runs_from_the_sealed_copy(env: Env) -> None:
    # conmon is given bin/runc, a link to sangjad's sealed memfd copy of runc, so that `runc init`
    # does not copy the 9 MB binary again for every container.
    rt = env.runtime
    cid = await env.run(("sh", "-c", LOOP))
    link = rt.exec_root / "bin" / "runc"
    assert os.readlink(link).startswith(f"/proc/{os.getpid()}/fd/")
    assert os.path.realpath(link).startswith("/memfd:runc")
    conmon_argv = Path(f"/proc/{rt.monitor_pid(cid)}/cmdline").read_bytes().split(b"\0")
    assert conmon_argv[conmon_argv.index(b"--runtime") + 1] == str(link).encode()
    await rt.kill(cid, signal.SIGKILL)
    await wait_exit(rt, cid)
