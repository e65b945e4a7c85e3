"""`sangja network rm`: remove networks."""

from __future__ import annotations

from sangja.cli.command import Cli, Spec, min_args, quote_path, run_for_each
from sangja.cli.flags import Bool, Options

SPEC = Spec(
    use="NETWORK [NETWORK...]",
    short="Remove one or more networks",
    flags=[Bool("force", "f", "Do not error if the network does not exist")],
    args=min_args(1),
    aliases="docker network rm, docker network remove",
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    def remove(name: str) -> None:
        cli.client.delete(f"/networks/{quote_path(name)}")

    ignore = (lambda e: "not found" in str(e)) if opts.force else None
    return run_for_each(cli, args, remove, ignore)
