"""`sangja rm`: remove containers."""

from __future__ import annotations

from sangja.cli.command import Cli, Spec, min_args, quote_path, run_for_each
from sangja.cli.errors import CLIError, DaemonError
from sangja.cli.flags import Bool, Options

SPEC = Spec(
    use="[OPTIONS] CONTAINER [CONTAINER...]",
    short="Remove one or more containers",
    flags=[
        Bool("force", "f", "Force the removal of a running container (uses SIGKILL)"),
        Bool("link", "l", "Remove the specified link"),
        Bool("volumes", "v", "Remove anonymous volumes associated with the container"),
    ],
    args=min_args(1),
    aliases="docker container rm, docker container remove, docker rm",
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    def remove(name: str) -> None:
        ident = name.strip("/")
        if not ident:
            raise CLIError("container name cannot be empty")
        cli.client.delete(f"/containers/{quote_path(ident)}", {
            "v": True if opts.volumes else None,
            "link": True if opts.link else None,
            "force": True if opts.force else None,
        })

    def report_missing(err: CLIError) -> bool:
        # docker 28: `rm -f` reports a container that is already gone but does not fail.
        if opts.force and isinstance(err, DaemonError) and err.not_found:
            cli.err(str(err))
            return True
        return False

    return run_for_each(cli, args, remove, report_missing)
