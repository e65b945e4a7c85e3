"""`sangja container inspect`: inspect containers only."""

from __future__ import annotations

from sangja.cli.command import Cli, Spec, min_args
from sangja.cli.commands.inspect import FORMAT_HELP, container_getter, inspect
from sangja.cli.flags import Bool, Options, Str

SPEC = Spec(
    use="[OPTIONS] CONTAINER [CONTAINER...]",
    short="Display detailed information on one or more containers",
    flags=[Str("format", "f", FORMAT_HELP), Bool("size", "s", "Display total file sizes")],
    args=min_args(1),
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    return inspect(cli, args, opts.format, container_getter(cli, opts.size))
