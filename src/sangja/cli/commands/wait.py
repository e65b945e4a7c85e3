"""`sangja wait`: block until containers stop; print each exit code."""

from __future__ import annotations

from sangja.cli.command import Cli, Spec, join_errors, min_args, quote_path
from sangja.cli.errors import CLIError
from sangja.cli.flags import Options

SPEC = Spec(
    use="CONTAINER [CONTAINER...]",
    short="Block until one or more containers stop, then print their exit codes",
    args=min_args(1),
    aliases="docker container wait, docker wait",
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    errors: list[CLIError] = []
    for name in args:
        try:
            result = cli.client.post(f"/containers/{quote_path(name)}/wait") or {}
        except CLIError as exc:
            errors.append(exc)
            continue
        cli.out(str(result.get("StatusCode", 0)))
        cli.flush()
    error = join_errors(errors)
    if error is not None:
        raise error
    return 0
