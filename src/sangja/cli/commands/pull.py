"""`sangja pull`: download an image from a registry (POST /images/create?fromImage=…&tag=…)."""

from __future__ import annotations

import io

from sangja.cli import dockerconfig, jsonstream
from sangja.cli.command import Cli, Spec, exact_args
from sangja.cli.errors import CLIError
from sangja.cli.flags import Bool, Options, Str
from sangja.cli.reference import parse_normalized

SPEC = Spec(
    use="[OPTIONS] NAME[:TAG|@DIGEST]",
    short="Download an image from a registry",
    flags=[
        Bool("all-tags", "a", "Download all tagged images in the repository"),
        Str("platform", "", "Set platform if server is multi-platform capable"),
        Bool("quiet", "q", "Suppress verbose output"),
    ],
    args=exact_args(1),
    aliases="docker image pull, docker pull",
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    try:
        ref = parse_normalized(args[0])
    except ValueError as exc:
        raise CLIError(f"invalid reference format: {exc}" if "invalid reference" not in str(exc) else str(exc)) \
            from None
    if opts.all_tags and (ref.tag or ref.digest):
        raise CLIError("tag can't be used with --all-tags/-a")
    query: dict[str, object] = {"fromImage": ref.name, "platform": opts.platform or None}
    if ref.digest:
        query["fromImage"] = f"{ref.name}@{ref.digest}"
    elif not opts.all_tags:
        if not ref.tag:
            ref = ref.with_default_tag()
            if not opts.quiet:
                cli.out(f"Using default tag: {ref.tag}")
        query["tag"] = ref.tag
    try:
        auth = dockerconfig.registry_auth_header(ref.domain)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    resp = cli.client.request("POST", "/images/create", query, headers={"X-Registry-Auth": auth})
    messages = jsonstream.decode_lines(resp.lines())
    if opts.quiet:
        jsonstream.display(messages, io.BytesIO(), False)
    elif cli.out_is_terminal:
        # Per-layer bars drawn with rich; imported only here, rich costs ~100 ms.
        from sangja.cli.buildview import terminal_console
        from sangja.cli.pullview import display_pull

        display_pull(messages, terminal_console(cli.streams.stdout, jsonstream.terminal_width(cli.streams.stdout)))
    else:
        jsonstream.display(messages, cli.streams.stdout, False)
    cli.client.finish(resp)
    cli.out(str(ref.name + (f":{ref.tag}" if ref.tag else "") + (f"@{ref.digest}" if ref.digest else "")))
    return 0
