"""Read a container's log (conmon's k8s-file, rotated by sangjad), optionally following it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from sangja.daemon.daemon import Daemon
from sangja.errors import InvalidParameter
from sangja.runtime import logs as logfile


@dataclass(frozen=True)
class LogOptions:
    stdout: bool = True
    stderr: bool = True
    follow: bool = False
    since_ns: int | None = None
    until_ns: int | None = None
    tail: int | None = None  # None = all


async def read_logs(d: Daemon, ref: str, opts: LogOptions) -> AsyncIterator[logfile.LogEntry]:
    c = d.containers.get(ref)
    if (c.host_config.get("LogConfig") or {}).get("Type") == "none":
        raise InvalidParameter("configured logging driver does not support reading")
    path = Path(c.log_path)
    stopped = d.stopped_event(c.id)

    def wanted(e: logfile.LogEntry) -> bool:
        return (e.stream == "stdout" and opts.stdout) or (e.stream == "stderr" and opts.stderr)

    read_from_ns = time.time_ns()
    if opts.tail is not None:
        entries = await asyncio.to_thread(logfile.tail_entries, path, opts.tail, opts.since_ns, opts.until_ns)
    else:
        entries = await asyncio.to_thread(
            lambda: list(logfile.read_entries(path, opts.since_ns, opts.until_ns))
        )
    last_ns = 0
    for e in entries:
        last_ns = max(last_ns, e.time_ns)
        if wanted(e):
            yield e
    if not opts.follow or stopped.is_set():
        return
    if opts.until_ns is not None and last_ns >= opts.until_ns:
        return
    # Follow from just after what was shown; with --tail the older lines were skipped on purpose.
    follow_since = last_ns + 1 if last_ns else (read_from_ns if opts.tail is not None else opts.since_ns)
    async for e in logfile.follow(path, stopped, since_ns=follow_since):
        if opts.until_ns is not None and e.time_ns > opts.until_ns:
            return
        if wanted(e):
            yield e
