"""host/child.py: a child watched through its pidfd, stdio as non-blocking pipes (no root)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess

import pytest

from sangja.host import child


def _fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


async def _drain(out: child.OutPipe | None) -> bytes:
    assert out is not None
    chunks = []
    while data := await out.read():
        chunks.append(data)
    return b"".join(chunks)


async def test_exit_status_and_streams_kept_apart() -> None:
    before = _fds()
    c = child.spawn(["sh", "-c", "echo out; echo err >&2; exit 3"], pipe_out=True, pipe_err=True)
    out, err = await asyncio.wait_for(asyncio.gather(_drain(c.stdout), _drain(c.stderr)), 30)
    assert await asyncio.wait_for(c.wait(), 10) == 3
    assert (out, err, c.returncode) == (b"out\n", b"err\n", 3)
    c.close()
    assert _fds() == before  # pipes and the pidfd are all released


async def test_killed_by_a_signal_is_minus_the_signal() -> None:
    c = child.spawn(["sh", "-c", "kill -9 $$"])
    assert await asyncio.wait_for(c.wait(), 10) == -signal.SIGKILL


async def test_unasked_streams_are_dev_null() -> None:
    c = child.spawn(["sh", "-c", "cat; echo gone >&2; exit 0"], pipe_out=True)
    assert c.stdin is None and c.stderr is None
    assert await asyncio.wait_for(_drain(c.stdout), 30) == b""  # cat read /dev/null's EOF at once
    assert await asyncio.wait_for(c.wait(), 10) == 0


async def test_stdin_every_byte_value_through_cat() -> None:
    data = os.urandom(4 << 20) + bytes(range(256)) * 64
    c = child.spawn(["cat"], pipe_in=True, pipe_out=True)
    assert c.stdin is not None

    async def feed() -> None:
        assert c.stdin is not None
        await c.stdin.write(data)
        c.stdin.close()

    _, got = await asyncio.wait_for(asyncio.gather(feed(), _drain(c.stdout)), 30)
    assert got == data
    assert await asyncio.wait_for(c.wait(), 10) == 0
    assert c.stdin.is_closing()
    with pytest.raises(BrokenPipeError):
        await c.stdin.write(b"more")
    c.close()


async def test_reaped_without_anyone_waiting() -> None:
    c = child.spawn(["true"])
    # No wait(): the pidfd's reader reaps it, so no zombie stays behind.
    for _ in range(1000):
        if c.returncode is not None:
            break
        await asyncio.sleep(0.01)
    assert c.returncode == 0
    assert not os.path.exists(f"/proc/{c.pid}")
    with pytest.raises(ChildProcessError):
        os.waitpid(c.pid, os.WNOHANG)


async def test_signal_reaches_a_live_child_and_never_a_reaped_one() -> None:
    c = child.spawn(["sleep", "60"])
    c.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(c.wait(), 10) == -signal.SIGTERM
    with pytest.raises(ProcessLookupError):
        c.send_signal(signal.SIGKILL)


async def test_new_session_and_given_fds() -> None:
    r, w = os.pipe()
    try:
        c = child.spawn(["sh", "-c", "ps -o sid= -p $$ 2>/dev/null || cut -d' ' -f6 /proc/$$/stat"], stdout=w)
        os.close(w)
        w = -1
        assert await asyncio.wait_for(c.wait(), 10) == 0
        sid = os.read(r, 100).split()[0]
        assert int(sid) == c.pid  # its own session: a ^C to the daemon's terminal is not its business
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


async def test_subprocess_never_polls_our_child() -> None:
    c = child.spawn(["sleep", "0.2"])
    # subprocess reaps the Popen objects it still thinks are running whenever a new Popen is made;
    # ours must never be among them, or its exit status would be stolen.
    subprocess.run(["true"], check=True)
    assert not any(p.pid == c.pid for p in subprocess._active or [])  # type: ignore[attr-defined]
    assert await asyncio.wait_for(c.wait(), 10) == 0


async def test_a_spawn_failure_leaves_no_fd() -> None:
    before = _fds()
    with pytest.raises(FileNotFoundError):
        child.spawn(["/nonexistent/prog"], pipe_in=True, pipe_out=True, pipe_err=True)
    assert _fds() == before
