"""`sangja build` on a real terminal (a pty) against the daemon: the live view's collapsed steps,
and a failing RUN's message and exit code; piped, the classic text."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import termios
import time
from pathlib import Path

from tests.e2e.conftest import make_cli
from tests.support.daemon import Daemon

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _on_pty(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:          # EIO: the child closed the terminal
                break
            if not data:
                break
            out += data
        rc = proc.wait(timeout=60)
        assert proc.stderr is not None
        err = proc.stderr.read().decode()
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return rc, out.decode(errors="replace"), err


def test_build_view_on_a_terminal(daemon: Daemon, cli_home: Path, tmp_path: Path) -> None:
    cli = make_cli("sangja", daemon, cli_home)
    tag = f"cpview-build-{os.getpid()}:t"
    ctx = tmp_path / "ok"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo first-line && echo second-line\nLABEL cpview=1\n")
    try:
        rc, out, err = _on_pty([*cli.prefix, "build", "--no-cache", "-t", tag, str(ctx)], cli.env)
        assert rc == 0, err
        text = ANSI.sub("", out)
        assert re.search(r"✓ Step 1/3 : FROM busybox\s+→ [0-9a-f]{12}", text), text
        assert re.search(r"✓ Step 2/3 : RUN echo first-line && echo second-line\s+→ [0-9a-f]{12}", text), text
        assert "second-line" in text                      # the RUN's output was in view while it ran
        assert "Successfully tagged " + tag in text
        assert "Running in" not in text
        piped = cli("build", "-t", tag, str(ctx))
        assert piped.rc == 0 and "Step 2/3 : RUN echo" in piped.out and "---> Using cache" in piped.out
        assert "\x1b" not in piped.out and "✓" not in piped.out

        bad = tmp_path / "bad"
        bad.mkdir()
        (bad / "Dockerfile").write_text("FROM busybox\nRUN echo going-down && exit 3\n")
        rc, out, err = _on_pty([*cli.prefix, "build", str(bad)], cli.env)
        assert rc == 3
        assert "returned a non-zero code: 3" in err
        text = ANSI.sub("", out)
        assert "✗ Step 2/2 : RUN echo going-down && exit 3" in text and "going-down" in text
    finally:
        cli("rmi", "-f", tag)
