"""`sangja container prune`: remove all stopped containers (asks first unless -f)."""

from __future__ import annotations

from sangja.cli.client import encode_filters
from sangja.cli.command import Cli, Spec, no_args
from sangja.cli.filters import collect, filter_flag
from sangja.cli.flags import Bool, Options
from sangja.cli.units import human_size

SPEC = Spec(
    use="[OPTIONS]",
    short="Remove all stopped containers",
    flags=[
        filter_flag("", 'Provide filter values (e.g. "until=<timestamp>")'),
        Bool("force", "f", "Do not prompt for confirmation"),
    ],
    args=no_args(),
)

WARNING = "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?"


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    if not opts.force and not cli.confirm(WARNING):
        return 0  # docker treats "no" as a cancellation: nothing more printed, status 0
    report = cli.client.post("/containers/prune", {"filters": encode_filters(collect(opts.filter))}) or {}
    deleted = report.get("ContainersDeleted") or []
    reclaimed = 0
    if deleted:
        cli.out("Deleted Containers:\n" + "".join(f"{i}\n" for i in deleted))
        reclaimed = int(report.get("SpaceReclaimed") or 0)
    cli.out(f"Total reclaimed space: {human_size(reclaimed)}")
    return 0
