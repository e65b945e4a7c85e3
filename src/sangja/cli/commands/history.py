"""`sangja history`: the layers of an image."""

from __future__ import annotations

import time

from sangja.cli import formatter
from sangja.cli.command import Cli, Spec, exact_args, quote_path
from sangja.cli.commands.ps import FORMAT_HELP
from sangja.cli.flags import Bool, Options, Str
from sangja.cli.units import human_duration, human_size, rfc3339

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SPEC = Spec(
    use="[OPTIONS] IMAGE",
    short="Show the history of an image",
    flags=[
        Str("format", "", FORMAT_HELP),
        Bool("human", "H", "Print sizes and dates in human readable format", True),
        Bool("no-trunc", "", "Don't truncate output"),
        Str("platform", "", 'Show history for the given platform. Formatted as "os[/arch[/variant]]" (e.g., '
                            '"linux/amd64")'),
        Bool("quiet", "q", "Only show image IDs"),
    ],
    args=exact_args(1),
    aliases="docker image history, docker history",
)

DEFAULT_TABLE = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
NON_HUMAN_TABLE = "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
HEADERS = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY",
           "Size": "SIZE", "Comment": "COMMENT"}
EPOCH_2000 = 946684800


class HistoryRow(formatter.Row):
    GO_TYPE = "*image.historyContext"
    FIELDS = ("Comment", "CreatedAt", "CreatedBy", "CreatedSince", "ID", "Size")

    def __init__(self, h: dict[str, Any], trunc: bool, human: bool, now: float) -> None:
        self.h = h
        self.trunc = trunc
        self.human = human
        self.now = now

    def ID(self) -> str:
        ident = str(self.h.get("Id", ""))
        return formatter.truncate_id(ident) if self.trunc else ident

    def CreatedAt(self) -> str:
        return rfc3339(int(self.h.get("Created") or 0))

    def CreatedSince(self) -> str:
        if not self.human:
            return self.CreatedAt()
        created = int(self.h.get("Created") or 0)
        if created <= EPOCH_2000:
            return "N/A"
        return human_duration(self.now - created) + " ago"

    def CreatedBy(self) -> str:
        text = str(self.h.get("CreatedBy") or "").replace("\t", " ")
        return formatter.ellipsis(text, 45) if self.trunc else text

    def Size(self) -> str:
        size = int(self.h.get("Size") or 0)
        return human_size(size, 3) if self.human else str(size)

    def Comment(self) -> str:
        return str(self.h.get("Comment") or "")


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    query: dict[str, Any] = {"platform": None}
    if opts.platform:
        import json

        parts = opts.platform.split("/")
        query["platform"] = json.dumps({"os": parts[0], "architecture": parts[1] if len(parts) > 1 else "",
                                        **({"variant": parts[2]} if len(parts) > 2 else {})})
    history = cli.client.get(f"/images/{quote_path(args[0])}/history", query) or []
    fmt: str = opts.format or "table"
    if fmt == "table":
        fmt = "{{.ID}}" if opts.quiet else (DEFAULT_TABLE if opts.human else NON_HUMAN_TABLE)
    now = time.time()
    rows = [HistoryRow(h, not opts.no_trunc, opts.human, now) for h in history]
    cli.out(formatter.render(fmt, rows, HEADERS), end="")
    return 0
