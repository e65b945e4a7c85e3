"""`sangja volume prune`: remove unused anonymous (with -a, all unused) local volumes."""

from __future__ import annotations

from sangja.cli.client import encode_filters
from sangja.cli.command import Cli, Spec, no_args
from sangja.cli.filters import collect, filter_flag
from sangja.cli.flags import Bool, Options
from sangja.cli.units import human_size

SPEC = Spec(
    use="[OPTIONS]",
    short="Remove unused local volumes",
    flags=[
        Bool("all", "a", "Remove all unused volumes, not just anonymous ones"),
        filter_flag("", 'Provide filter values (e.g. "label=<label>")'),
        Bool("force", "f", "Do not prompt for confirmation"),
    ],
    args=no_args(),
)

WARNING = ("WARNING! This will remove anonymous local volumes not used by at least one container.\n"
           "Are you sure you want to continue?")
ALL_WARNING = ("WARNING! This will remove all local volumes not used by at least one container.\n"
               "Are you sure you want to continue?")


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    filters = collect(opts.filter)
    if opts.all:
        filters["all"] = ["true"]
    if not opts.force and not cli.confirm(ALL_WARNING if opts.all else WARNING):
        return 0
    report = cli.client.post("/volumes/prune", {"filters": encode_filters(filters)}) or {}
    deleted = report.get("VolumesDeleted") or []
    if deleted:
        cli.out("Deleted Volumes:\n" + "\n".join(deleted) + "\n")
    cli.out(f"Total reclaimed space: {human_size(int(report.get('SpaceReclaimed') or 0))}")
    return 0
