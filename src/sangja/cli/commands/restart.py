"""`sangja restart`: restart containers (one after another, like docker)."""

from __future__ import annotations

from sangja.cli.command import Cli, Spec, join_errors, min_args, quote_path
from sangja.cli.commands.stop import stop_query
from sangja.cli.errors import CLIError
from sangja.cli.flags import Flag, Int, Options, Str

SPEC = Spec(
    use="[OPTIONS] CONTAINER [CONTAINER...]",
    short="Restart one or more containers",
    flags=[
        Str("signal", "s", "Signal to send to the container"),
        Int("timeout", "t", "Seconds to wait before killing the container"),
        Flag("time", kind="int", help="Seconds to wait before killing the container", hidden=True, dest="timeout"),
    ],
    args=min_args(1),
    aliases="docker container restart, docker restart",
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    query = stop_query(opts)
    errors: list[CLIError] = []
    for name in args:
        try:
            cli.client.post(f"/containers/{quote_path(name)}/restart", query)
        except CLIError as exc:
            errors.append(exc)
            continue
        cli.out(name)
    error = join_errors(errors)
    if error is not None:
        raise error
    return 0
