"""`sangja kill`: send a signal (default KILL) to running containers."""

from __future__ import annotations

from sangja.cli.command import Cli, Spec, min_args, quote_path, run_for_each
from sangja.cli.flags import Options, Str

SPEC = Spec(
    use="[OPTIONS] CONTAINER [CONTAINER...]",
    short="Kill one or more running containers",
    flags=[Str("signal", "s", "Signal to send to the container")],
    args=min_args(1),
    aliases="docker container kill, docker kill",
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    query = {"signal": opts.signal or None}
    return run_for_each(cli, args, lambda name: cli.client.post(f"/containers/{quote_path(name)}/kill", query))
