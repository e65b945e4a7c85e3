"""`sangja load`: load images from a tar archive (file or stdin), streamed to the daemon."""

from __future__ import annotations

from sangja.cli import jsonstream
from sangja.cli.command import Cli, Spec, no_args
from sangja.cli.errors import CLIError
from sangja.cli.flags import Bool, Options, Str

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO

SPEC = Spec(
    use="[OPTIONS]",
    short="Load an image from a tar archive or STDIN",
    flags=[
        Str("input", "i", "Read from tar archive file, instead of STDIN"),
        Str("platform", "", 'Load only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., '
                            '"linux/amd64")'),
        Bool("quiet", "q", "Suppress the load output"),
    ],
    args=no_args(),
    aliases="docker image load, docker load",
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    source: BinaryIO
    if not opts.input:
        if cli.in_is_terminal:
            raise CLIError("requested load from stdin, but stdin is empty")
        source = cli.streams.stdin
    else:
        try:
            source = open(opts.input, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise CLIError(f"open {opts.input}: {exc.strerror.lower() if exc.strerror else exc}") from None
    try:
        terminal = cli.out_is_terminal
        query = {"quiet": True if opts.quiet or not terminal else None, "platform": opts.platform or None}
        resp = cli.client.request("POST", "/images/load", query, raw_body=source, content_type="application/x-tar")
        jsonstream.display(jsonstream.decode_lines(resp.lines()), cli.streams.stdout, terminal,
                           jsonstream.terminal_width(cli.streams.stdout))
        cli.client.finish(resp)
    finally:
        if source is not cli.streams.stdin:
            source.close()
    return 0
