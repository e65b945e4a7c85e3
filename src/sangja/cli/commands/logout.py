"""`sangja logout`: forget a registry's credentials (~/.docker/config.json or the credential helper)."""

from __future__ import annotations

from sangja.cli import dockerconfig
from sangja.cli.command import Cli, Spec, max_args
from sangja.cli.errors import CLIError
from sangja.cli.flags import Options

SPEC = Spec(
    use="[SERVER]",
    short="Log out from a registry",
    args=max_args(1),
    aliases="docker logout",
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    server = dockerconfig.server_key(args[0] if args else "")
    try:
        found = dockerconfig.erase(server)
    except (OSError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    if not found:
        cli.out(f"Not logged in to {server}")
        return 0
    cli.out(f"Removing login credentials for {server}")
    return 0
