"""`sangja diff`: inspect changes to files or directories on a container's filesystem."""

from __future__ import annotations

from sangja.cli.command import Cli, Spec, exact_args, quote_path
from sangja.cli.flags import Options

SPEC = Spec(
    use="CONTAINER",
    short="Inspect changes to files or directories on a container's filesystem",
    args=exact_args(1),
    aliases="docker container diff, docker diff",
)

KINDS = {0: "C", 1: "A", 2: "D"}


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    changes = cli.client.get(f"/containers/{quote_path(args[0])}/changes") or []
    for change in changes:
        cli.out(f"{KINDS.get(int(change.get('Kind', 0)), '?')} {change.get('Path', '')}")
    return 0
