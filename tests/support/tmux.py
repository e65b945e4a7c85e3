"""Drive a program in a real terminal: a private tmux server, send-keys and capture-pane.

    with Terminal(["docker", "run", "-it", "busybox", "sh"], env) as term:
        term.wait_for("/ # "); term.type("exit 5"); assert term.exit_code() == 5
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from types import TracebackType

from tests.support.prereq import require
from tests.support.waiting import wait_until

MARK = "__RC__="


class Terminal:
    def __init__(self, argv: Sequence[str], env: Mapping[str, str], width: int = 100, height: int = 30) -> None:
        require(subprocess.run(["which", "tmux"], capture_output=True).returncode == 0, "tmux is not installed")
        self.server = f"sangja-test-{uuid.uuid4().hex[:8]}"
        self.argv = list(argv)
        self.env = dict(env)
        self.width, self.height = width, height
        self._dir = tempfile.mkdtemp(prefix="tmux-")

    def _tmux(self, *args: str) -> str:
        res = subprocess.run(["tmux", "-L", self.server, *args], capture_output=True, timeout=30,
                             env={**os.environ, "TMUX_TMPDIR": self._dir})
        assert res.returncode == 0, f"tmux {args}: {res.stderr.decode()}"
        return res.stdout.decode()

    def __enter__(self) -> Terminal:
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items())
        cmd = f"env {exports} {shlex.join(self.argv)}; echo {MARK}$?; sleep 600"
        self._tmux("new-session", "-d", "-s", "t", "-x", str(self.width), "-y", str(self.height), cmd)
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        subprocess.run(["tmux", "-L", self.server, "kill-server"], capture_output=True, timeout=30,
                       env={**os.environ, "TMUX_TMPDIR": self._dir})
        subprocess.run(["rm", "-rf", self._dir], timeout=30)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "t", "-S", "-200")

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        def probe() -> str | None:
            screen = self.screen()
            return screen if text in screen else None

        try:
            return wait_until(probe, timeout, 0.05, f"{text!r} on the screen")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- screen ---\n{self.screen()}") from None

    def type(self, line: str) -> None:
        self._tmux("send-keys", "-t", "t", "-l", line)
        self._tmux("send-keys", "-t", "t", "Enter")

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "t", *keys)

    def resize(self, width: int, height: int) -> None:
        self._tmux("resize-window", "-t", "t", "-x", str(width), "-y", str(height))

    def exit_code(self, timeout: float = 30.0) -> int:
        screen = self.wait_for(MARK, timeout)
        return int(screen.split(MARK, 1)[1].split()[0])
