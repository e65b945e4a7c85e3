"""`sangja top`: the processes of a running container, as a table."""

from __future__ import annotations

from sangja.cli.command import Cli, Spec, min_args, quote_path
from sangja.cli.flags import Options
from sangja.cli.tabwriter import tabulate

SPEC = Spec(
    use="CONTAINER [ps OPTIONS]",
    short="Display the running processes of a container",
    args=min_args(1),
    aliases="docker container top, docker top",
    interspersed=False,
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    query = {"ps_args": " ".join(args[1:]) if len(args) > 1 else None}
    result = cli.client.get(f"/containers/{quote_path(args[0])}/top", query) or {}
    lines = ["\t".join(result.get("Titles") or [])]
    lines += ["\t".join(str(f) for f in proc) for proc in result.get("Processes") or []]
    cli.out(tabulate("\n".join(lines) + "\n", minwidth=20, padding=3), end="")
    return 0
