"""`sangja tag`: add a name to an image."""

from __future__ import annotations

from sangja.cli.command import Cli, Spec, exact_args, quote_path
from sangja.cli.errors import CLIError
from sangja.cli.flags import Options
from sangja.cli.reference import parse_normalized

SPEC = Spec(
    use="SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
    short="Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
    args=exact_args(2),
    aliases="docker image tag, docker tag",
    interspersed=False,
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    source, target = args
    try:
        ref = parse_normalized(target)
    except ValueError as exc:
        raise CLIError(f'Error parsing reference: "{target}" is not a valid repository/tag: {exc}') from None
    if ref.digest:
        raise CLIError("refusing to create a tag with a digest reference")
    ref = ref.with_default_tag()
    cli.client.post(f"/images/{quote_path(source)}/tag", {"repo": ref.name, "tag": ref.tag})
    return 0
