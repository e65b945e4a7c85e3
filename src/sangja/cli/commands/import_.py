"""`sangja import`: create a filesystem image from a tarball (file, URL or stdin), streamed."""

from __future__ import annotations

from sangja.cli import jsonstream
from sangja.cli.command import Cli, Spec, min_args
from sangja.cli.errors import CLIError
from sangja.cli.flags import List, Options, Str
from sangja.cli.reference import parse_normalized

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO

SPEC = Spec(
    use="[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
    short="Import the contents from a tarball to create a filesystem image",
    flags=[
        List("change", "c", "Apply Dockerfile instruction to the created image"),
        Str("message", "m", "Set commit message for imported image"),
        Str("platform", "", "Set platform if server is multi-platform capable"),
    ],
    args=min_args(1),
    aliases="docker image import, docker import",
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    source_arg = args[0]
    ref = args[1] if len(args) > 1 else ""
    if ref:
        try:
            parse_normalized(ref)
        except ValueError as exc:
            raise CLIError(str(exc)) from None
    body: BinaryIO | None = None
    close = False
    if source_arg == "-":
        body, from_src = cli.streams.stdin, "-"
    elif source_arg.startswith(("http://", "https://")):
        from_src = source_arg
    else:
        try:
            body = open(source_arg, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise CLIError(f"open {source_arg}: {(exc.strerror or str(exc)).lower()}") from None
        close = True
        from_src = "-"
    query = {
        "fromSrc": from_src,
        "repo": ref or None,
        "message": opts.message or None,
        "platform": opts.platform.lower() or None,
        "changes": list(opts.change) or None,
    }
    try:
        resp = cli.client.request("POST", "/images/create", query, raw_body=body,
                                  content_type="text/plain" if body is not None else None)
        jsonstream.display(jsonstream.decode_lines(resp.lines()), cli.streams.stdout, cli.out_is_terminal,
                           jsonstream.terminal_width(cli.streams.stdout))
        cli.client.finish(resp)
    finally:
        if close and body is not None:
            body.close()
    return 0
