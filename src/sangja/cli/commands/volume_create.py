"""`sangja volume create`: create a volume (named, or anonymous with a random name)."""

from __future__ import annotations

from sangja.cli.command import Cli, Spec, max_args
from sangja.cli.errors import CLIError
from sangja.cli.flags import List, Options, Str

SPEC = Spec(
    use="[OPTIONS] [VOLUME]",
    short="Create a volume",
    flags=[
        Str("driver", "d", "Specify volume driver name", default="local"),
        List("label", "", "Set metadata for a volume"),
        Str("name", "", "Specify volume name", hidden=True),
        List("opt", "o", "Set driver specific options", type_name="map"),
    ],
    args=max_args(1),
)


def _pairs(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = value
    return out


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    name: str = opts.name
    if args:
        if name and name != args[0]:
            raise CLIError("conflicting options: cannot specify a volume-name through both --name and "
                           "as a positional arg", 1)
        name = args[0]
    vol = cli.client.post("/volumes/create", body={
        "Name": name,
        "Driver": opts.driver,
        "DriverOpts": _pairs(opts.opt),
        "Labels": _pairs(opts.label),
    }) or {}
    cli.out(str(vol.get("Name", "")))
    return 0
