"""`sangja export`: stream a container's filesystem as a tar archive (to a file or stdout)."""

from __future__ import annotations

import os

from sangja.cli.command import Cli, Spec, exact_args, quote_path
from sangja.cli.errors import CLIError
from sangja.cli.flags import Options, Str

SPEC = Spec(
    use="[OPTIONS] CONTAINER",
    short="Export a container's filesystem as a tar archive",
    flags=[Str("output", "o", "Write to a file, instead of STDOUT")],
    args=exact_args(1),
    aliases="docker container export, docker export",
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    if not opts.output and cli.out_is_terminal:
        raise CLIError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
    resp = cli.client.stream("GET", f"/containers/{quote_path(args[0])}/export")
    if opts.output:
        directory = os.path.dirname(os.path.abspath(opts.output))
        tmp_path = os.path.join(directory, f".{os.path.basename(opts.output)}.{os.getpid()}.tmp")
        try:
            with open(tmp_path, "wb") as f:
                for chunk in resp.chunks():
                    f.write(chunk)
            os.replace(tmp_path, opts.output)
        except OSError as exc:
            raise CLIError(f"failed to export container: {exc.strerror or exc}") from None
        finally:
            if os.path.exists(tmp_path):
                os.unlink(tmp_path)
    else:
        out = cli.streams.stdout
        for chunk in resp.chunks():
            out.write(chunk)
        out.flush()
    cli.client.finish(resp)
    return 0
