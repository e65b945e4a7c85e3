"""`sangja rename`: give a container a new name."""

from __future__ import annotations

from sangja.cli.command import Cli, Spec, exact_args, quote_path
from sangja.cli.errors import CLIError
from sangja.cli.flags import Options

SPEC = Spec(
    use="CONTAINER NEW_NAME",
    short="Rename a container",
    args=exact_args(2),
    aliases="docker container rename, docker rename",
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    old, new = args[0].strip(), args[1].strip()
    if not old or not new:
        raise CLIError("Error: Neither old nor new names may be empty")
    try:
        cli.client.post(f"/containers/{quote_path(old)}/rename", {"name": new})
    except CLIError as exc:
        raise CLIError(f"{exc}\nError: failed to rename container named {old}") from None
    return 0
