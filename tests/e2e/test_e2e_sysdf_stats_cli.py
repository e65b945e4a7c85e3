"""`stats` through the docker CLI and the sangja CLI: --no-stream numbers and columns, -a, errors,
and the live table redrawn in place that picks up a container started while it runs."""

from __future__ import annotations

import os
import selectors
import time
from collections.abc import Callable

from tests.support.commands import Cli


def _read_until(proc_out: int, want: Callable[[str], bool], limit: float = 30.0) -> str:
    """Read a running command's stdout until want(text) holds (bounded)."""
    sel = selectors.DefaultSelector()
    sel.register(proc_out, selectors.EVENT_READ)
    text = ""
    deadline = time.monotonic() + limit
    while not want(text):
        left = deadline - time.monotonic()
        assert left > 0, f"stats output never matched: {text[-2000:]!r}"
        if sel.select(min(left, 1.0)):
            data = os.read(proc_out, 65536)
            assert data, f"stats ended early: {text[-2000:]!r}"
            text += data.decode(errors="replace")
    sel.close()
    return text


def test_stats_no_stream(cli: Cli, names: Callable[[str], str]) -> None:
    busy, idle = names("sbusy"), names("sidle")
    cid = cli.ok("run", "-d", "--name", busy, "-m", "64m", "--cpus", "1", "busybox",
                 "sh", "-c", "while :; do :; done").strip()
    cli.ok("create", "--name", idle, "busybox")
    try:
        out = cli.ok("stats", "--no-stream", "--format",
                     "{{.Container}}|{{.ID}}|{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.MemPerc}}|{{.PIDs}}", busy)
        container, short, name, cpu, mem, mem_perc, pids = out.strip().split("|")
        assert (container, short, name, pids) == (busy, cid[:12], busy, "1"), out
        assert float(cpu.rstrip("%")) > 20.0, out  # a busy loop under --cpus 1
        usage, limit = (s.strip() for s in mem.split("/"))
        assert limit == "64MiB" and usage.endswith("B"), out
        assert 0.0 < float(mem_perc.rstrip("%")) < 100.0, out

        table = cli.ok("stats", "--no-stream", "--no-trunc", busy).splitlines()
        assert table[0].split() == ["CONTAINER", "ID", "NAME", "CPU", "%", "MEM", "USAGE", "/", "LIMIT", "MEM",
                                    "%", "NET", "I/O", "BLOCK", "I/O", "PIDS"], table
        assert table[1].startswith(cid + "   " + busy), table

        running = cli.ok("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}").splitlines()
        assert f"{busy} 1" in running and not any(line.startswith(idle) for line in running), running
        everything = cli.ok("stats", "--no-stream", "-a", "--format", "{{.Name}} {{.CPUPerc}} {{.PIDs}}")
        assert f"{idle} 0.00% 0" in everything.splitlines(), everything

        r = cli("stats", "--no-stream", f"{busy}-nosuch", busy)
        assert r.rc == 1 and r.out == "", r
        assert r.err.strip() == f"Error response from daemon: No such container: {busy}-nosuch", r
    finally:
        cli.ok("rm", "-f", busy, idle)


def test_stats_stream_redraws_and_follows_new_containers(cli: Cli, names: Callable[[str], str]) -> None:
    first, second = names("sfirst"), names("ssecond")
    cli.ok("run", "-d", "--name", first, "busybox", "sleep", "600")
    proc = cli.popen("stats", "--format", "table {{.Name}}\t{{.PIDs}}")
    try:
        assert proc.stdout is not None
        text = _read_until(proc.stdout.fileno(), lambda t: t.count("\x1b[J") >= 2 and first in t)
        # The last complete frame: cursor home, lines each ending with "erase line", "erase below".
        frame = text.split("\x1b[J")[-2].split("\x1b[H")[-1]
        assert frame.startswith("NAME") and "\x1b[K\n" in frame, frame
        rows = [line.replace("\x1b[K", "").split() for line in frame.splitlines()]
        assert [first, "1"] in rows, frame

        cli.ok("run", "-d", "--name", second, "busybox", "sleep", "600")
        text = _read_until(proc.stdout.fileno(), lambda t: second in t.split("\x1b[H")[-1])
        assert proc.poll() is None  # still streaming
    finally:
        proc.kill()
        proc.communicate(timeout=30)
        cli.ok("rm", "-f", first, second)
