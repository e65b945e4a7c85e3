"""`sangja image prune`: remove dangling (or, with -a, all unused) images."""

from __future__ import annotations

from sangja.cli.client import encode_filters
from sangja.cli.command import Cli, Spec, no_args
from sangja.cli.filters import collect, filter_flag
from sangja.cli.flags import Bool, Options
from sangja.cli.units import human_size

SPEC = Spec(
    use="[OPTIONS]",
    short="Remove unused images",
    flags=[
        Bool("all", "a", "Remove all unused images, not just dangling ones"),
        filter_flag("", 'Provide filter values (e.g. "until=<timestamp>")'),
        Bool("force", "f", "Do not prompt for confirmation"),
    ],
    args=no_args(),
)

ALL_WARNING = ("WARNING! This will remove all images without at least one container associated to them.\n"
               "Are you sure you want to continue?")
DANGLING_WARNING = "WARNING! This will remove all dangling images.\nAre you sure you want to continue?"


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    filters = collect(opts.filter)
    filters["dangling"] = ["false" if opts.all else "true"]
    if not opts.force and not cli.confirm(ALL_WARNING if opts.all else DANGLING_WARNING):
        return 0
    report = cli.client.post("/images/prune", {"filters": encode_filters(filters)}) or {}
    deleted = report.get("ImagesDeleted") or []
    if deleted:
        lines = ["Deleted Images:"]
        for item in deleted:
            if item.get("Untagged"):
                lines.append(f"untagged: {item['Untagged']}")
            else:
                lines.append(f"deleted: {item.get('Deleted', '')}")
        cli.out("\n".join(lines) + "\n")
    cli.out(f"Total reclaimed space: {human_size(int(report.get('SpaceReclaimed') or 0))}")
    return 0
