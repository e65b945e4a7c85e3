"""`sangja network prune`: remove the user-defined networks no container is connected to."""

from __future__ import annotations

from sangja.cli.client import encode_filters
from sangja.cli.command import Cli, Spec, no_args
from sangja.cli.filters import collect, filter_flag
from sangja.cli.flags import Bool, Options

SPEC = Spec(
    use="[OPTIONS]",
    short="Remove all unused networks",
    flags=[
        filter_flag("", 'Provide filter values (e.g. "until=<timestamp>")'),
        Bool("force", "f", "Do not prompt for confirmation"),
    ],
    args=no_args(),
)

WARNING = ("WARNING! This will remove all custom networks not used by at least one container.\n"
           "Are you sure you want to continue?")


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    if not opts.force and not cli.confirm(WARNING):
        return 0
    report = cli.client.post("/networks/prune", {"filters": encode_filters(collect(opts.filter))}) or {}
    deleted = report.get("NetworksDeleted") or []
    if deleted:
        cli.out("Deleted Networks:\n" + "\n".join(deleted) + "\n")
    return 0
