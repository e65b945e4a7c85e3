"""`sangja unpause`: thaw paused containers."""

from __future__ import annotations

from sangja.cli.command import Cli, Spec, min_args, quote_path, run_for_each
from sangja.cli.flags import Options

SPEC = Spec(
    use="CONTAINER [CONTAINER...]",
    short="Unpause all processes within one or more containers",
    args=min_args(1),
    aliases="docker container unpause, docker unpause",
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    return run_for_each(cli, args, lambda name: cli.client.post(f"/containers/{quote_path(name)}/unpause"))
