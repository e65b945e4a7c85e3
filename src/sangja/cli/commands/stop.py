"""`sangja stop`: stop running containers (SIGTERM, then SIGKILL after the timeout)."""

from __future__ import annotations

from sangja.cli.command import Cli, Spec, min_args, quote_path, run_for_each
from sangja.cli.flags import Flag, Int, Options, Str

SPEC = Spec(
    use="[OPTIONS] CONTAINER [CONTAINER...]",
    short="Stop one or more running containers",
    flags=[
        Str("signal", "s", "Signal to send to the container"),
        Int("timeout", "t", "Seconds to wait before killing the container"),
        Flag("time", kind="int", help="Seconds to wait before killing the container", hidden=True, dest="timeout"),
    ],
    args=min_args(1),
    aliases="docker container stop, docker stop",
)


def stop_query(opts: Options) -> dict[str, object]:
    timed = "timeout" in opts.changed or "time" in opts.changed
    return {"t": opts.timeout if timed else None, "signal": opts.signal or None}


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    query = stop_query(opts)
    return run_for_each(cli, args, lambda name: cli.client.post(f"/containers/{quote_path(name)}/stop", query))
