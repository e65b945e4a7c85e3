"""`sangja commit`: create a new image from a container's changes."""

from __future__ import annotations

from sangja.cli.command import Cli, Spec
from sangja.cli.errors import CLIError
from sangja.cli.flags import Bool, List, Options, Str
from sangja.cli.reference import parse_normalized

SPEC = Spec(
    use="[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
    short="Create a new image from a container's changes",
    flags=[
        Str("author", "a", 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")'),
        List("change", "c", "Apply Dockerfile instruction to the created image"),
        Str("message", "m", "Commit message"),
        Bool("pause", "p", "Pause container during commit", default=True),
    ],
    args=("range", 1, 2),
    aliases="docker container commit, docker commit",
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    container = args[0]
    repo = tag = ""
    if len(args) == 2:
        try:
            ref = parse_normalized(args[1])
        except ValueError as exc:
            raise CLIError(str(exc)) from None
        if ref.digest:
            raise CLIError("refusing to create a tag with a digest reference")
        repo, tag = ref.familiar_name(), ref.tag
    query = {
        "container": container,
        "repo": repo or None,
        "tag": tag or None,
        "comment": opts.message or None,
        "author": opts.author or None,
        "changes": list(opts.change) or None,
        "pause": "1" if opts.pause else "0",
    }
    answer = cli.client.post("/commit", query)
    cli.out(str(answer.get("Id", "")))
    return 0
