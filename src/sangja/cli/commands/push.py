"""`sangja push`: upload an image to a registry (POST /images/{name}/push?tag=…)."""

from __future__ import annotations

import io

from sangja.cli import dockerconfig, jsonstream
from sangja.cli.command import Cli, Spec, exact_args, quote_path
from sangja.cli.errors import CLIError
from sangja.cli.flags import Bool, Options, Str
from sangja.cli.reference import parse_normalized

SPEC = Spec(
    use="[OPTIONS] NAME[:TAG]",
    short="Upload an image to a registry",
    flags=[
        Bool("all-tags", "a", "Push all tags of an image to the repository"),
        Str("platform", "", "Push a platform-specific manifest as a single-platform image to the registry"),
        Bool("quiet", "q", "Suppress verbose output"),
    ],
    args=exact_args(1),
    aliases="docker image push, docker push",
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    try:
        ref = parse_normalized(args[0])
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    if opts.all_tags and ref.tag:
        raise CLIError("tag can't be used with --all-tags/-a")
    if ref.digest:
        raise CLIError("cannot push a digest reference")
    if not opts.all_tags and not ref.tag:
        ref = ref.with_default_tag()
        if not opts.quiet:
            cli.out(f"Using default tag: {ref.tag}")
    try:
        auth = dockerconfig.registry_auth_header(ref.domain)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    query = {"tag": ref.tag or None, "platform": opts.platform or None}
    resp = cli.client.request("POST", f"/images/{quote_path(ref.name)}/push", query,
                              headers={"X-Registry-Auth": auth})
    out = io.BytesIO() if opts.quiet else cli.streams.stdout
    terminal = False if opts.quiet else cli.out_is_terminal
    jsonstream.display(jsonstream.decode_lines(resp.lines()), out, terminal,
                       jsonstream.terminal_width(cli.streams.stdout))
    cli.client.finish(resp)
    if opts.quiet:
        cli.out(ref.name + (f":{ref.tag}" if ref.tag else ""))
    return 0
