"""`top`: the host's `ps` output, limited to the container's processes (like dockerd)."""

from __future__ import annotations

import asyncio
from typing import Any

from sangja.daemon.daemon import Daemon
from sangja.errors import Conflict, InvalidParameter


async def top_container(d: Daemon, ref: str, ps_args: str = "-ef") -> dict[str, Any]:
    c = d.containers.get(ref)
    if not c.state.running:
        raise Conflict(f"container {c.id} is not running")
    if c.state.status == "paused":
        raise Conflict(f"container {c.id} is paused")
    pids = set(await d.runtime.top(c.id))
    args = ps_args.split() if ps_args else ["-ef"]
    proc = await asyncio.create_subprocess_exec(
        "ps", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise InvalidParameter(f"Error running ps: {err.decode(errors='replace').strip()}")
    return parse_ps(out.decode(errors="replace"), pids)


def parse_ps(output: str, pids: set[int]) -> dict[str, Any]:
    lines = output.splitlines()
    if not lines:
        raise InvalidParameter("Couldn't find PID field in ps output")
    titles = lines[0].split()
    if "PID" not in titles:
        raise InvalidParameter("Couldn't find PID field in ps output")
    pid_col = titles.index("PID")
    procs: list[list[str]] = []
    for line in lines[1:]:
        fields = line.split(None, len(titles) - 1)
        if len(fields) <= pid_col:
            continue
        try:
            pid = int(fields[pid_col])
        except ValueError:
            continue
        if pid in pids:
            procs.append(fields)
    return {"Titles": titles, "Processes": procs}
