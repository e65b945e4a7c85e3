"""`sangja build` on a terminal: a compact live view of the classic builder's stream (rich).

    display_build(jsonstream.decode_lines(resp.lines()), console)

The stream is the classic builder's ("Step 2/5 : RUN make", " ---> Running in …", the RUN's
output, " ---> 1a2b3c4d5e6f", "Successfully built …"). While a step runs, the live area shows
its line with a spinner and elapsed time, and the last few lines of its output; when it ends,
the step collapses into one line (its result image, "cached", its time). Lines outside steps
("Successfully built", "Successfully tagged", warnings) are printed as they come. A failure
leaves the failing step's line and its last output on the screen, then raises StreamError
like jsonstream.display, so `build` prints the message and exits with the RUN's code.

Only imported by `build` on a terminal: rich costs ~100 ms to import, other commands don't pay it.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

from sangja.cli.jsonstream import render_progress, stream_error

TAIL = 5                         # output lines of the running step kept in view
_STEP = re.compile(r"^Step \d+/\d+ : ")
_RESULT = re.compile(r"^ ---> ([0-9a-f]{12,64})$")


@dataclass
class Step:
    title: str                      # "Step 2/5 : RUN make"
    started: float
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL))
    result: str = ""
    cached: bool = False
    # One spinner per step: its frame follows the time since it was made.
    spinner: Spinner = field(default_factory=lambda: Spinner("dots"))


class BuildView:
    """The state of the view, fed one decoded message at a time (rendering is rich's)."""

    def __init__(self, console: Console, clock: Callable[[], float] = time.monotonic) -> None:
        self.console = console
        self.clock = clock
        self.step: Step | None = None
        self.progress: dict[str, str] = {}   # a FROM's pull: layer id -> its status line
        self._partial = ""

    def __rich__(self) -> RenderableType:
        step = self.step
        if step is None:
            return Text("")
        elapsed = self.clock() - step.started
        head = step.spinner
        head.update(text=Text.assemble((step.title, "bold"), (f"  {elapsed:.1f}s", "dim")))
        lines = [Text("  " + line, style="dim", overflow="ellipsis", no_wrap=True)
                 for line in [*step.tail, *self.progress.values()]]
        return Group(head, *lines)

    def feed(self, msg: dict[str, Any]) -> None:
        error = stream_error(msg)
        if error is not None:
            self._flush_partial()
            self._close_step(failed=True)
            raise error
        if msg.get("aux") is not None:
            return
        if msg.get("progressDetail") is not None or (msg.get("status") and not msg.get("stream")):
            self._status(msg)
            return
        text = self._partial + (msg.get("stream") or "")
        *lines, self._partial = text.split("\n")
        for line in lines:
            self._line(line.rstrip("\r"))
        # "Step 1/3 : FROM x" comes without its newline (which follows in a message of its own).
        if _STEP.match(self._partial):
            line, self._partial = self._partial, ""
            self._line(line)

    def finish(self) -> None:
        self._flush_partial()
        self._close_step(failed=False)

    def _status(self, msg: dict[str, Any]) -> None:
        ident = msg.get("id") or ""
        progress = msg.get("progressDetail") or {}
        line = f"{ident + ': ' if ident else ''}{msg.get('status', '')} {render_progress(progress, 60)}".rstrip()
        if self.step is None:
            self.console.print(Text(line))
        else:
            self.progress[ident] = line

    def _line(self, line: str) -> None:
        if _STEP.match(line):
            self._close_step(failed=False)
            self.step = Step(line, self.clock())
            return
        step = self.step
        if step is None:
            if line:
                self.console.print(Text(line))
            return
        stripped = line.strip()
        if line.startswith("Successfully built ") or line.startswith("Successfully tagged "):
            self._close_step(failed=False)
            self.console.print(Text(line))
        elif stripped == "---> Using cache":
            step.cached = True
        elif stripped.startswith("---> Running in ") or stripped.startswith("Removing intermediate container "):
            pass
        elif m := _RESULT.match(line):
            step.result = m.group(1)
        elif stripped:
            step.tail.append(line)

    def _flush_partial(self) -> None:
        if self._partial:
            line, self._partial = self._partial, ""
            self._line(line)

    def _close_step(self, failed: bool) -> None:
        step, self.step = self.step, None
        self.progress.clear()
        if step is None:
            return
        elapsed = self.clock() - step.started
        if failed:
            self.console.print(Text.assemble(("✗ ", "bold red"), (step.title, "bold"), (f"  {elapsed:.1f}s", "dim")))
            for line in step.tail:
                self.console.print(Text("  " + line, style="red"))
            return
        parts: list[tuple[str, str] | str] = [("✓ ", "green"), step.title]
        if step.result:
            parts.append(("  → " + step.result[:12], "cyan"))
        if step.cached:
            parts.append(("  cached", "yellow"))
        parts.append((f"  {elapsed:.1f}s", "dim"))
        self.console.print(Text.assemble(*parts))


def display_build(messages: Iterable[dict[str, Any]], console: Console,
                  clock: Callable[[], float] = time.monotonic, refresh: bool = True) -> None:
    """Show the build stream live on `console`; raises StreamError on an error line.
    `refresh=False` redraws only on messages (no refresh thread: tests, recorded streams)."""
    view = BuildView(console, clock)
    with Live(view, console=console, transient=True, auto_refresh=refresh, refresh_per_second=8) as live:
        for msg in messages:
            view.feed(msg)
            if not refresh:
                live.refresh()
        view.finish()


class _TextOut:
    """A text file over the CLI's binary stdout (rich writes str)."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out

    def write(self, s: str) -> int:
        self._out.write(s.encode("utf-8", "replace"))
        return len(s)

    def flush(self) -> None:
        self._out.flush()


def terminal_console(out: BinaryIO, width: int) -> Console:
    # A terminal that reports no size (a fresh pty) gets a usual width.
    return Console(file=_TextOut(out), force_terminal=True, width=width if width >= 20 else 80,  # type: ignore[arg-type]
                   highlight=False)
