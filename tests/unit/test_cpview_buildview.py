"""`sangja build`'s live view (rich) fed with a recorded classic-builder stream, and the CLI's
choice between it and the plain text (terminal or not, -q), against a fake API."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from sangja.cli import main as cli_main
from sangja.cli.buildview import TAIL, BuildView, display_build
from sangja.cli.command import Streams
from sangja.cli.errors import StreamError
from tests.unit.test_cli_fake_api import Conn, FakeAPI, Request

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

# What dockerd's classic builder sends for a 3-step Dockerfile (one cached step, a RUN with output).
SUCCESS: list[dict[str, Any]] = [
    {"stream": "Step 1/3 : FROM busybox"}, {"stream": "\n"},
    {"stream": " ---> 3f57d9401f8d\n"},
    {"stream": "Step 2/3 : COPY app /app"}, {"stream": "\n"},
    {"stream": " ---> Using cache\n"},
    {"stream": " ---> 5b1f3c2a9e0d\n"},
    {"stream": "Step 3/3 : RUN for i in 1 2 3 4 5 6 7 8; do echo line $i; done"}, {"stream": "\n"},
    {"stream": " ---> Running in 0c1d2e3f4a5b\n"},
    *({"stream": f"line {i}\n"} for i in range(1, 9)),
    {"stream": "Removing intermediate container 0c1d2e3f4a5b\n"},
    {"stream": " ---> 9a8b7c6d5e4f\n"},
    {"aux": {"ID": "sha256:9a8b7c6d5e4f" + "0" * 52}},
    {"stream": "Successfully built 9a8b7c6d5e4f\n"},
    {"stream": "Successfully tagged demo:latest\n"},
]

FAILURE: list[dict[str, Any]] = [
    {"stream": "Step 1/2 : FROM busybox"}, {"stream": "\n"},
    {"stream": " ---> 3f57d9401f8d\n"},
    {"stream": "Step 2/2 : RUN echo about to fail; exit 3"}, {"stream": "\n"},
    {"stream": " ---> Running in 0c1d2e3f4a5b\n"},
    {"stream": "about to fail\n"},
    {"errorDetail": {"code": 3, "message": "The command '/bin/sh -c echo about to fail; exit 3' returned a "
                                           "non-zero code: 3"},
     "error": "The command '/bin/sh -c echo about to fail; exit 3' returned a non-zero code: 3"},
]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 0.25
        return self.now


def _console() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(force_terminal=True, file=buf, width=100, highlight=False), buf


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in ANSI.sub("", text).replace("\r", "\n").split("\n") if line.strip()]


def test_each_step_collapses_into_its_result() -> None:
    console, buf = _console()
    display_build(iter(SUCCESS), console, clock=Clock(), refresh=False)
    out = buf.getvalue()
    assert "\x1b[" in out                                   # drawn for a terminal
    lines = _lines(out)
    done = [line for line in lines if line.startswith("✓ ")]
    assert [re.sub(r"\s+\d+\.\d+s$", "", line) for line in done] == [
        "✓ Step 1/3 : FROM busybox  → 3f57d9401f8d",
        "✓ Step 2/3 : COPY app /app  → 5b1f3c2a9e0d  cached",
        "✓ Step 3/3 : RUN for i in 1 2 3 4 5 6 7 8; do echo line $i; done  → 9a8b7c6d5e4f",
    ]
    assert lines.index(done[-1]) < lines.index("Successfully built 9a8b7c6d5e4f") < lines.index(
        "Successfully tagged demo:latest")
    assert any("line 8" in line for line in lines)           # the RUN's output was shown while it ran
    # ... and the live area is gone at the end: the last things on screen are the results.
    assert lines[-1] == "Successfully tagged demo:latest"
    assert not any("Running in" in line or "Removing intermediate" in line for line in lines)


def test_the_running_step_shows_its_last_lines_and_elapsed_time() -> None:
    console, _ = _console()
    clock = Clock()
    view = BuildView(console, clock)
    for msg in SUCCESS[:8 + 2 + 8]:      # up to "line 8", the third step still running
        view.feed(msg)
    shot, buf = _console()
    shot.print(view)
    text = ANSI.sub("", buf.getvalue())
    assert "Step 3/3 : RUN for i in" in text and re.search(r"\d+\.\d+s", text)
    shown = [f"line {i}" for i in range(1, 9) if f"line {i}\n" in text + "\n"]
    assert shown == [f"line {i}" for i in range(9 - TAIL, 9)]


def test_a_failing_run_keeps_its_step_and_output_and_raises_with_the_code() -> None:
    console, buf = _console()
    with pytest.raises(StreamError) as info:
        display_build(iter(FAILURE), console, clock=Clock(), refresh=False)
    assert info.value.code == 3 and "returned a non-zero code: 3" in info.value.message
    lines = _lines(buf.getvalue())
    failed = next(i for i, line in enumerate(lines) if line.startswith("✗ Step 2/2 : RUN echo about to fail"))
    assert lines[failed + 1].strip() == "about to fail"
    assert lines[-1].strip() == "about to fail"


def test_pull_progress_during_from_is_shown_in_the_step() -> None:
    console, _ = _console()
    view = BuildView(console, Clock())
    view.feed({"stream": "Step 1/1 : FROM registry.local/app"})
    view.feed({"stream": "\n"})
    view.feed({"status": "Downloading", "id": "a1b2c3d4e5f6", "progressDetail": {"current": 50, "total": 100}})
    shot, buf = _console()
    shot.print(view)
    assert "a1b2c3d4e5f6: Downloading" in ANSI.sub("", buf.getvalue())


# -- through the CLI ------------------------------------------------------------------------------


class _TtyOut(io.BytesIO):
    """A stdout that is a terminal (a pty's slave fd answers isatty) but records in memory."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd

    def fileno(self) -> int:
        return self._fd


@pytest.fixture
def pty_fd() -> Iterator[int]:
    master, slave = os.openpty()
    try:
        yield slave
    finally:
        os.close(slave)
        os.close(master)


def _serve(api: FakeAPI, messages: list[dict[str, Any]]) -> None:
    def handler(req: Request, conn: Conn) -> None:
        conn.start_chunked()
        for msg in messages:
            conn.chunk(json.dumps(msg).encode() + b"\r\n")
        conn.end_chunked()
    api.on("POST", "/build", handler)


def _build(api: FakeAPI, context: Path, tty_fd: int | None, *extra: str) -> tuple[int, str, str]:
    out = _TtyOut(tty_fd) if tty_fd is not None else io.BytesIO()
    streams = Streams(io.BytesIO(), out, io.BytesIO())
    rc = cli_main.execute(["build", *extra, str(context)], streams, {"SANGJA_HOST": api.host})
    return rc, out.getvalue().decode(), streams.stderr.getvalue().decode()  # type: ignore[attr-defined]


@pytest.fixture
def context(tmp_path: Path) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\n")
    return ctx


def test_cli_uses_the_view_on_a_terminal_and_plain_text_otherwise(tmp_path: Path, context: Path,
                                                                  pty_fd: int) -> None:
    with FakeAPI(tmp_path) as api:
        _serve(api, SUCCESS)
        rc, out, _ = _build(api, context, pty_fd, "-t", "demo")
        assert rc == 0
        assert "✓ Step 3/3 : RUN" in ANSI.sub("", out) and "Successfully tagged demo:latest" in out
        rc, out, _ = _build(api, context, None, "-t", "demo")
        assert rc == 0
        assert out == "".join(m.get("stream", "") for m in SUCCESS)     # docker's classic text, as sent
        assert "\x1b" not in out


def test_cli_failure_exit_code_and_message_on_a_terminal(tmp_path: Path, context: Path, pty_fd: int) -> None:
    with FakeAPI(tmp_path) as api:
        _serve(api, FAILURE)
        rc, out, err = _build(api, context, pty_fd)
        assert rc == 3
        assert err.strip().endswith("The command '/bin/sh -c echo about to fail; exit 3' returned a non-zero code: 3")
        assert "✗ Step 2/2" in ANSI.sub("", out) and "about to fail" in out
        rc, out, err = _build(api, context, None)
        assert rc == 3 and "returned a non-zero code: 3" in err
        assert out.endswith("about to fail\n")


def test_cli_quiet_prints_only_the_id_even_on_a_terminal(tmp_path: Path, context: Path, pty_fd: int) -> None:
    image_id = "sha256:9a8b7c6d5e4f" + "0" * 52
    with FakeAPI(tmp_path) as api:
        _serve(api, [{"stream": image_id + "\n"}, {"aux": {"ID": image_id}}])
        rc, out, _ = _build(api, context, pty_fd, "-q")
        assert rc == 0 and out == image_id + "\n"
        assert api.routed("/build")[-1].query.get("q") in ("1", "true", "True")


def test_rich_is_not_imported_by_other_commands() -> None:
    code = ("import sys, sangja.cli.main, sangja.cli.commands.build, sangja.cli.commands.ps; "
            "print('rich' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"
