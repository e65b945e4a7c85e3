"""runtime/exec.py with the real runc (root): `runc exec` run from runc's sealed copy, the process
JSON and runc's log as memfds, exit codes, start errors, stdin byte-exact, nothing left behind."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from sangja.runtime import exec as rexec

from .test_runtime_support import Env, env, needs_root, new_id

pytestmark = [pytest.mark.root, needs_root]
__all__ = ["env"]


def _process(e: Env, cid: str, *args: str) -> dict[str, Any]:
    base = json.loads((e.runtime.bundle_dir(cid) / "config.json").read_text())["process"]
    return rexec.process_json(base, rexec.ExecProcessSpec(
        args=list(args), env=list(base["env"]), cwd="/", uid=0, gid=0, additional_gids=(), tty=False))


async def _spawn(e: Env, cid: str, *args: str, stdin: bool = False) -> rexec.ExecProcess:
    rt = e.runtime
    return await rexec.spawn_exec(rt.runtime_path, rt.runc_root, cid, rt.exec_root / "x" / new_id(),
                                  _process(e, cid, *args), stdin=stdin, stdout=True, stderr=True)


async def _output(p: rexec.ExecProcess) -> tuple[bytes, bytes, int]:
    async def drain(stream: Any) -> bytes:
        chunks = []
        while data := await stream.read(65536):
            chunks.append(data)
        return b"".join(chunks)

    out, err = await asyncio.wait_for(asyncio.gather(drain(p.proc.stdout), drain(p.proc.stderr)), 30)
    return out, err, await asyncio.wait_for(p.proc.wait(), 30)


def _memfds() -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("/memfd:process.json") or target.startswith("/memfd:log.json"):
            found.append(target)
    return found


async def test_exit_code_streams_and_cleanup(env: Env) -> None:
    cid = await env.run(("sleep", "1000"))
    p = await _spawn(env, cid, "sh", "-c", "echo out; echo err >&2; exit 3")
    out, err, code = await _output(p)
    assert (out, err, code) == (b"out\n", b"err\n", 3)
    assert p.started() and p.pid > 0 and p.start_error() is None
    session = p.session_dir
    p.close()
    assert not session.exists()
    assert _memfds() == []


async def test_runc_runs_from_its_sealed_copy(env: Env) -> None:
    cid = await env.run(("sleep", "1000"))
    p = await _spawn(env, cid, "sleep", "2")
    try:
        runc = p.proc.pid
        assert os.readlink(f"/proc/{runc}/exe").startswith("/memfd:runc")
        assert Path(f"/proc/{runc}/comm").read_text().strip() == "runc"  # not the fd number
        assert Path(f"/proc/{runc}/cmdline").read_bytes().split(b"\0")[0] == env.runtime.runtime_path.encode()
        os.kill(runc, 0)
    finally:
        p.proc.send_signal(9)
        await asyncio.wait_for(p.proc.wait(), 30)
        p.close()


@pytest.mark.parametrize(("cmd", "words"), [("nosuchcmd", "executable file not found"),
                                             ("/etc/passwd", "permission denied")])
async def test_start_errors_come_from_runc_s_log(env: Env, cmd: str, words: str) -> None:
    cid = await env.run(("sleep", "1000"))
    p = await _spawn(env, cid, cmd)
    _, err, code = await _output(p)
    assert code == 255 and not p.started()
    message = p.start_error()
    assert message is not None and words in message
    assert words.encode() in err  # runc's own copy on stderr: why callers hold output back
    p.close()
    assert _memfds() == []


async def test_killed_process_is_137(env: Env) -> None:
    cid = await env.run(("sleep", "1000"))
    p = await _spawn(env, cid, "sh", "-c", "kill -9 $$")
    _, _, code = await _output(p)
    assert code == 137
    p.close()


async def test_stdin_byte_exact(env: Env) -> None:
    cid = await env.run(("sleep", "1000"))
    data = os.urandom(8 << 20) + bytes(range(256))
    p = await _spawn(env, cid, "cat", stdin=True)
    stdin = p.proc.stdin
    assert stdin is not None

    async def feed() -> None:
        assert stdin is not None
        await stdin.write(data)
        stdin.close()

    (out, err, code), _ = await asyncio.gather(_output(p), feed())
    assert (code, err, len(out)) == (0, b"", len(data))
    assert out == data
    p.close()
