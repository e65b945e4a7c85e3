"""`sangja pull` on a terminal: one live row per layer, drawn with rich, in docker's layout.

    display_pull(jsonstream.decode_lines(resp.lines()), console)

    latest: Pulling from library/busybox                     <- lines without an id: printed as they come
    c30bcf3f7e16: Pull complete
    82c31ba9bd1d: Downloading  ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━  12.6MB/26.9MB
    ad7862d54f92: Extracting   ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━  26.9MB/26.9MB
    Digest: sha256:…
    Status: Downloaded newer image for busybox:latest

Each layer keeps its row, in the order the daemon first named it (Pulling fs layer / Already
exists / Waiting), and the row shows its last status; Downloading and Extracting add a bar and
the sizes. When the stream ends, the rows stay on screen as they last were. An error line
stops the view with StreamError, like jsonstream.display. Off a terminal, `pull` prints plain
status lines with jsonstream.display instead; this module (and rich, ~100 ms to import) is
only loaded for a terminal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from sangja.cli.jsonstream import stream_error
from sangja.cli.units import human_size

BAR_WIDTH = 40
_MOVING = ("Downloading", "Extracting", "Pushing")


@dataclass
class LayerRow:
    ident: str
    status: str
    current: int = 0
    total: int = 0


class PullView:
    """The rows of a pull, fed one decoded message at a time (rendering is rich's)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.rows: dict[str, LayerRow] = {}

    def feed(self, msg: dict[str, Any]) -> str | None:
        """Take one message; return a line to print above the rows, if it is one."""
        error = stream_error(msg)
        if error is not None:
            raise error
        status = str(msg.get("status") or "")
        ident = msg.get("id")
        detail = msg.get("progressDetail")
        if not ident or detail is None:
            # "Pulling from …" names the tag, not a layer; Digest/Status lines have no id.
            return f"{ident}: {status}" if ident else status or None
        row = self.rows.get(ident)
        if row is None:
            row = self.rows[ident] = LayerRow(ident, status)
        row.status = status
        row.current = int(detail.get("current") or 0)
        row.total = int(detail.get("total") or 0)
        return None

    def __rich__(self) -> RenderableType:
        table = Table.grid(padding=(0, 1))
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True)
        for row in self.rows.values():
            moving = row.status in _MOVING and row.total > 0
            bar: RenderableType = ProgressBar(total=row.total, completed=min(row.current, row.total),
                                              width=BAR_WIDTH) if moving else Text("")
            sizes = f"{human_size(row.current)}/{human_size(row.total)}" if moving else ""
            table.add_row(Text(f"{row.ident}: {row.status}"), bar, Text(sizes))
        return Group(table)


def display_pull(messages: Iterable[dict[str, Any]], console: Console, refresh: bool = True) -> None:
    """Show a pull's stream live on `console`; raises StreamError on an error line.
    `refresh=False` redraws only on messages (no refresh thread: tests, recorded streams)."""
    view = PullView(console)
    with Live(view, console=console, auto_refresh=refresh, refresh_per_second=8) as live:
        for msg in messages:
            line = view.feed(msg)
            if line is not None:
                live.console.print(Text(line))
            if not refresh:
                live.refresh()
