"""`sangja rmi` / `sangja image rm`: remove images."""

from __future__ import annotations

from sangja.cli.command import Cli, Spec, min_args, quote_path
from sangja.cli.errors import CLIError, DaemonError
from sangja.cli.flags import Bool, Options

SPEC = Spec(
    use="[OPTIONS] IMAGE [IMAGE...]",
    short="Remove one or more images",
    flags=[
        Bool("force", "f", "Force removal of the image"),
        Bool("no-prune", "", "Do not delete untagged parents"),
    ],
    args=min_args(1),
    aliases="docker image rm, docker image remove, docker rmi",
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    errors: list[CLIError] = []
    fatal = False
    for image in args:
        try:
            deleted = cli.client.delete(f"/images/{quote_path(image)}", {
                "force": True if opts.force else None,
                "noprune": True if opts.no_prune else None,
            }) or []
        except CLIError as exc:
            if not (isinstance(exc, DaemonError) and exc.not_found):
                fatal = True
            errors.append(exc)
            continue
        for item in deleted:
            if item.get("Deleted"):
                cli.out(f"Deleted: {item['Deleted']}")
            else:
                cli.out(f"Untagged: {item.get('Untagged', '')}")
    if errors:
        message = "\n".join(str(e) for e in errors)
        if not opts.force or fatal:
            raise CLIError(message)
        cli.err(message)
    return 0
