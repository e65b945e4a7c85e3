"""`sangja save`: stream images as a tar archive to a file (-o) or stdout (never a terminal)."""

from __future__ import annotations

import os

from sangja.cli.command import Cli, Spec, min_args
from sangja.cli.errors import CLIError
from sangja.cli.flags import Options, Str

SPEC = Spec(
    use="[OPTIONS] IMAGE [IMAGE...]",
    short="Save one or more images to a tar archive (streamed to STDOUT by default)",
    flags=[
        Str("output", "o", "Write to a file, instead of STDOUT"),
        Str("platform", "", 'Save only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., '
                            '"linux/amd64")'),
    ],
    args=min_args(1),
    aliases="docker image save, docker save",
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    if not opts.output and cli.out_is_terminal:
        raise CLIError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
    tmp_path = ""
    if opts.output:
        # Like docker's atomicwriter: write next to the target, rename when complete.
        directory = os.path.dirname(os.path.abspath(opts.output))
        if not os.path.isdir(directory):
            raise CLIError(f"failed to save image: invalid output path: directory {directory!r} does not exist")
        tmp_path = os.path.join(directory, f".{os.path.basename(opts.output)}.{os.getpid()}.tmp")
    query = {"names": list(args), "platform": opts.platform or None}
    resp = cli.client.stream("GET", "/images/get", query)
    try:
        if tmp_path:
            fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                for chunk in resp.chunks():
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp_path, opts.output)
            tmp_path = ""
        else:
            out = cli.streams.stdout
            for chunk in resp.chunks():
                out.write(chunk)
            out.flush()
    finally:
        if tmp_path and os.path.exists(tmp_path):
            os.unlink(tmp_path)
    cli.client.finish(resp)
    return 0
