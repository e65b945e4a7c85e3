"""Calling runc, and turning its error output into the messages users see.

runc logs errors through logrus as `time="…" level=error msg="…"` (msg Go-quoted); what
Docker shows is the msg alone, so that wrapper is removed here.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from sangja.errors import Conflict, System

_LOGRUS = re.compile(r'^time="[^"]*"\s+level=(\w+)\s+msg="((?:[^"\\]|\\.)*)"')
_GO_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "'": "'", "a": "\a", "b": "\b",
               "f": "\f", "v": "\v"}


class CreateFailed(System):
    """runc (or conmon) could not create the container.

    `message` is runc's own text without the logrus wrapper, e.g.
    `runc create failed: unable to start container process: exec: "nosuch": executable file
    not found in $PATH`. `kind` says how Docker classifies it:
        "not_found"   exit code 127 (no such executable / file)
        "permission"  exit code 126 (permission denied)
        "not_dir"     exit code 127 (a file mounted on a directory or the reverse)
        ""            anything else
    """

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        self.kind = classify_create_error(message) if kind is None else kind


class NotRunning(Conflict):
    """The container has no running process (kill, pause, top, resize of a stopped container)."""


def _go_unquote(body: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\" or i + 1 >= len(body):
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _GO_ESCAPES:
            out.append(_GO_ESCAPES[nxt])
            i += 2
        elif nxt == "x" and i + 4 <= len(body):
            out.append(chr(int(body[i + 2 : i + 4], 16)))
            i += 4
        elif nxt in "uU":
            width = 4 if nxt == "u" else 8
            try:
                out.append(chr(int(body[i + 2 : i + 2 + width], 16)))
            except ValueError:
                out.append(body[i : i + 2 + width])
            i += 2 + width
        else:
            out.append(nxt)
            i += 2
    return "".join(out)


def clean_runc_message(text: str) -> str:
    """The error text inside runc's log lines (error and fatal lines; all lines if none match).

    Lines that aren't logrus-formatted are kept as they are.
    """
    errors: list[str] = []
    plain: list[str] = []
    for line in text.strip().splitlines():
        line = line.strip()
        if not line:
            continue
        m = _LOGRUS.match(line)
        if m is None:
            plain.append(line)
        elif m.group(1) in ("error", "fatal", "panic"):
            errors.append(_go_unquote(m.group(2)).strip())
    chosen = errors or plain
    return "; ".join(chosen) if chosen else text.strip()


def classify_create_error(message: str) -> str:
    """Docker's classification of a create failure (daemon/start.go), latest match wins."""
    lower = message.lower()
    kind = ""
    if "executable file not found" in lower or "no such file or directory" in lower:
        kind = "not_found"
    if "permission denied" in lower:
        kind = "permission"
    if "not a directory" in lower:
        kind = "not_dir"
    return kind


def is_not_running(message: str) -> bool:
    lower = message.lower()
    return any(s in lower for s in ("not running", "does not exist", "process already finished",
                                    "container not paused"))


class Runc:
    """One runc binary with one state root (per daemon: `--root` under its exec root)."""

    def __init__(self, binary: str, root: Path) -> None:
        self.binary = binary
        self.root = root

    async def run(self, *args: str, timeout: float = 60.0) -> tuple[int, bytes, bytes]:
        """Run `runc --root R args...`; (returncode, stdout, stderr).

        Killed after `timeout` seconds (System error): a runc stuck on a hung mount or cgroup
        must not hang the daemon's verb for ever.
        """
        proc = await asyncio.create_subprocess_exec(
            self.binary, "--root", str(self.root), *args,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout)
        except (TimeoutError, asyncio.CancelledError) as e:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            if isinstance(e, TimeoutError):
                raise System(f"runc {args[0] if args else ''} timed out after {timeout:g}s") from None
            raise
        return proc.returncode or 0, out, err

    async def check(self, *args: str, timeout: float = 60.0) -> bytes:
        """Like run() but raises: NotRunning for a container that isn't running, System otherwise."""
        rc, out, err = await self.run(*args, timeout=timeout)
        if rc != 0:
            message = clean_runc_message(err.decode("utf-8", "replace")) or f"runc {args[0]} failed"
            if is_not_running(message):
                raise NotRunning(message)
            raise System(message)
        return out
