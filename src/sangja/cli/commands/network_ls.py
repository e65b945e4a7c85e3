"""`sangja network ls`: list networks with docker's columns, filters and --format."""

from __future__ import annotations

from sangja.cli import formatter
from sangja.cli.client import encode_filters
from sangja.cli.command import Cli, Spec, no_args
from sangja.cli.filters import collect, filter_flag
from sangja.cli.flags import Bool, Options, Str

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SPEC = Spec(
    use="[OPTIONS]",
    short="List networks",
    flags=[
        filter_flag("f", "Provide filter values (e.g. \"driver=bridge\")"),
        Str("format", "", "Format output using a custom template:\n'table':            Print output in table "
            "format with column headers (default)\n'table TEMPLATE':   Print output in table format using the "
            "given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output "
            "using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information "
            "about formatting output with templates"),
        Bool("no-trunc", "", "Do not truncate the output"),
        Bool("quiet", "q", "Only display network IDs"),
    ],
    args=no_args(),
    aliases="docker network ls, docker network list",
)

DEFAULT_TABLE = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
HEADERS = {
    "ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv4": "IPV4", "IPv6": "IPV6",
    "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT",
}


class NetworkRow(formatter.Row):
    """formatter.networkContext."""

    GO_TYPE = "*formatter.networkContext"
    FIELDS = ("CreatedAt", "Driver", "ID", "IPv4", "IPv6", "Internal", "Labels", "Name", "Scope")

    def __init__(self, net: dict[str, Any], trunc: bool) -> None:
        self.n = net
        self.trunc = trunc

    def ID(self) -> str:
        nid = str(self.n.get("Id", ""))
        return nid[:12] if self.trunc else nid

    def Name(self) -> str:
        return str(self.n.get("Name", ""))

    def Driver(self) -> str:
        return str(self.n.get("Driver", ""))

    def Scope(self) -> str:
        return str(self.n.get("Scope", ""))

    def IPv4(self) -> str:
        return str(self.n.get("EnableIPv4", True)).lower()

    def IPv6(self) -> str:
        return str(bool(self.n.get("EnableIPv6"))).lower()

    def Internal(self) -> str:
        return str(bool(self.n.get("Internal"))).lower()

    def Labels(self) -> str:
        return ",".join(f"{k}={v}" for k, v in (self.n.get("Labels") or {}).items())

    def Label(self, name: str) -> str:
        return str((self.n.get("Labels") or {}).get(name, ""))

    def CreatedAt(self) -> str:
        return str(self.n.get("Created", ""))


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    nets = cli.client.get("/networks", {"filters": encode_filters(collect(opts.filter))}) or []
    nets = sorted(nets, key=lambda n: str(n.get("Name", "")))
    fmt: str = opts.format or "table"
    if opts.quiet and fmt == "table":
        fmt = "{{.ID}}"
    elif fmt == "table":
        fmt = DEFAULT_TABLE
    cli.out(formatter.render(fmt, [NetworkRow(n, not opts.no_trunc) for n in nets], HEADERS), end="")
    return 0
