"""Docker-style log rotation (json-file's max-size/max-file), done by sangjad for conmon's logs.

conmon's own size cap throws the log away (CONMON-NOTES §2), so sangjad rotates:
rename, then ask conmon to reopen — lossless. A conmon backstop cap (start.py)
bounds the disk while sangjad is down.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from pathlib import Path

from sangja.daemon.create_config import parse_size
from sangja.daemon.daemon import Daemon
from sangja.runtime.logs import rotate_if_needed

log = logging.getLogger(__name__)

INTERVAL = 1.0


def limits(opts: dict[str, str], defaults: dict[str, str]) -> tuple[int, int]:
    size = opts.get("max-size", defaults.get("max-size", "10m"))
    files = opts.get("max-file", defaults.get("max-file", "3"))
    return (0 if size == "-1" else parse_size(size)), max(1, int(files))


async def rotate_forever(d: Daemon) -> None:
    while True:
        await asyncio.sleep(INTERVAL)
        for c in d.containers:
            if not c.state.running:
                continue
            lc = c.host_config.get("LogConfig") or {}
            if lc.get("Type") == "none":
                continue
            max_size, max_file = limits(lc.get("Config") or {}, d.config.log_opts)
            if not max_size:
                continue
            reopen = functools.partial(d.runtime.reopen_log, c.id)
            try:
                await asyncio.to_thread(rotate_if_needed, Path(c.log_path), max_size, max_file, reopen)
            except OSError as exc:
                log.warning("rotating the log of %s failed: %s", c.short_id, exc)
