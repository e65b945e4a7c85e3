"""Container logs end to end: rotation with max-size/max-file, and reading across files."""

from __future__ import annotations

import os
from collections.abc import Callable

from tests.support.commands import Cli
from tests.support.flows import inspect, log_files
from tests.support.waiting import wait_until

LINES = 300
WRITER = f'i=0; while [ $i -lt {LINES} ]; do echo "line $i"; i=$((i+1)); done'


def test_rotation_keeps_at_most_max_file_files(cli: Cli, names: Callable[[str], str]) -> None:
    name = names("chatty")
    opts = ["--log-opt", "max-size=1k", "--log-opt", "max-file=3"]
    # The container stays up after writing: a rotator may act while it runs, as Docker's does.
    cli.ok("run", "-d", "--name", name, *opts, "busybox", "sh", "-c", WRITER + "; echo done; sleep 3600")

    info = inspect(cli, name)
    assert info["HostConfig"]["LogConfig"]["Config"] == {"max-size": "1k", "max-file": "3"}
    log_path = info["LogPath"]
    assert os.path.isabs(log_path), log_path

    def rotated() -> list[str] | None:
        kept = cli.ok("logs", name).splitlines()
        files = log_files(log_path) if os.path.exists(log_path) else []
        return kept if kept[-1:] == ["done"] and "line 0" not in kept and 2 <= len(files) <= 3 else None

    kept = wait_until(rotated, timeout=30, what="the log rotated into 2..3 files, oldest lines gone")
    files = log_files(log_path)
    assert 2 <= len(files) <= 3, f"expected rotation into at most 3 files, found {files}"

    # What is kept is the newest lines, in order, with none missing in between.
    first = int(kept[0].split()[1])
    assert first > 0, "nothing was rotated away"
    assert kept == [f"line {i}" for i in range(first, LINES)] + ["done"]


def test_logs_tail_reads_the_newest_lines(cli: Cli, names: Callable[[str], str]) -> None:
    name = names("tail")
    assert cli("run", "--name", name, "busybox", "sh", "-c", WRITER).rc == 0
    assert cli.ok("logs", "--tail", "2", name) == f"line {LINES - 2}\nline {LINES - 1}\n"
    assert cli.ok("logs", name).count("\n") == LINES
