"""`sangja network disconnect`: disconnect a container from a network."""

from __future__ import annotations

from sangja.cli.command import Cli, Spec, exact_args, quote_path
from sangja.cli.flags import Bool, Options

SPEC = Spec(
    use="[OPTIONS] NETWORK CONTAINER",
    short="Disconnect a container from a network",
    flags=[Bool("force", "f", "Force the container to disconnect from a network")],
    args=exact_args(2),
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    cli.client.post(f"/networks/{quote_path(args[0])}/disconnect",
                    body={"Container": args[1], "Force": bool(opts.force)})
    return 0
