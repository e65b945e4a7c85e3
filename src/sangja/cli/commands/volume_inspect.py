"""`sangja volume inspect`: inspect volumes only."""

from __future__ import annotations

from sangja.cli.command import Cli, Spec, min_args, quote_path
from sangja.cli.commands.inspect import FORMAT_HELP, get_raw, inspect
from sangja.cli.flags import Options, Str

SPEC = Spec(
    use="[OPTIONS] VOLUME [VOLUME...]",
    short="Display detailed information on one or more volumes",
    flags=[Str("format", "f", FORMAT_HELP)],
    args=min_args(1),
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    return inspect(cli, args, opts.format, lambda ref: get_raw(cli, f"/volumes/{quote_path(ref)}"))
