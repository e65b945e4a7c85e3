"""`sangja image inspect`: inspect images only."""

from __future__ import annotations

from sangja.cli.command import Cli, Spec, min_args
from sangja.cli.commands.inspect import FORMAT_HELP, image_getter, inspect
from sangja.cli.flags import Options, Str

SPEC = Spec(
    use="[OPTIONS] IMAGE [IMAGE...]",
    short="Display detailed information on one or more images",
    flags=[Str("format", "f", FORMAT_HELP)],
    args=min_args(1),
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    return inspect(cli, args, opts.format, image_getter(cli))
