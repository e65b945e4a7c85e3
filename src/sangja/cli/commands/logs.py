"""`sangja logs`: a container's output, demultiplexed to stdout/stderr unless it has a TTY."""

from __future__ import annotations

from sangja.cli.command import Cli, Spec, exact_args, quote_path
from sangja.cli.errors import CLIError
from sangja.cli.flags import Bool, Options, Str
from sangja.cli.stdcopy import FrameDemuxer, write_frames
from sangja.cli.units import get_timestamp

SPEC = Spec(
    use="[OPTIONS] CONTAINER",
    short="Fetch the logs of a container",
    flags=[
        Bool("details", "", "Show extra details provided to logs"),
        Bool("follow", "f", "Follow log output"),
        Str("since", "", 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 '
                         "minutes)"),
        Str("tail", "n", "Number of lines to show from the end of the logs", "all"),
        Bool("timestamps", "t", "Show timestamps"),
        Str("until", "", 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for '
                         "42 minutes)"),
    ],
    args=exact_args(1),
    aliases="docker container logs, docker logs",
)


def timestamp_param(name: str, value: str) -> str | None:
    if not value:
        return None
    try:
        return get_timestamp(value)
    except ValueError as exc:
        raise CLIError(f'invalid value for "{name}": {exc}') from None


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    info = cli.client.get(f"/containers/{quote_path(args[0])}/json") or {}
    tty = bool((info.get("Config") or {}).get("Tty"))
    query = {
        "stdout": True, "stderr": True,
        "since": timestamp_param("since", opts.since),
        "until": timestamp_param("until", opts.until),
        "timestamps": True if opts.timestamps else None,
        "details": True if opts.details else None,
        "follow": True if opts.follow else None,
        "tail": opts.tail,
    }
    resp = cli.client.stream("GET", f"/containers/{quote_path(str(info.get('Id') or args[0]))}/logs", query)
    out, err = cli.streams.stdout, cli.streams.stderr
    cli.flush()
    if tty:
        for data in resp.chunks():
            out.write(data)
            out.flush()
    else:
        demux = FrameDemuxer()
        for data in resp.chunks():
            write_frames(demux.feed(data), out, err)
    cli.client.finish(resp)
    return 0
