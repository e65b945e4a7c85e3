"""`sangja volume rm`: remove volumes."""

from __future__ import annotations

from sangja.cli.command import Cli, Spec, min_args, quote_path, run_for_each
from sangja.cli.flags import Bool, Options

SPEC = Spec(
    use="[OPTIONS] VOLUME [VOLUME...]",
    short="Remove one or more volumes",
    flags=[Bool("force", "f", "Force the removal of one or more volumes")],
    args=min_args(1),
    aliases="docker volume rm, docker volume remove",
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    def remove(name: str) -> None:
        cli.client.delete(f"/volumes/{quote_path(name)}", {"force": True if opts.force else None})

    return run_for_each(cli, args, remove)
