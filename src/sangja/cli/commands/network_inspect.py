"""`sangja network inspect`: inspect networks only."""

from __future__ import annotations

from sangja.cli.command import Cli, Spec, min_args, quote_path
from sangja.cli.commands.inspect import FORMAT_HELP, get_raw, inspect
from sangja.cli.flags import Bool, Options, Str

SPEC = Spec(
    use="[OPTIONS] NETWORK [NETWORK...]",
    short="Display detailed information on one or more networks",
    flags=[Str("format", "f", FORMAT_HELP), Bool("verbose", "v", "Verbose output for diagnostics")],
    args=min_args(1),
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    return inspect(cli, args, opts.format, lambda ref: get_raw(cli, f"/networks/{quote_path(ref)}"))
