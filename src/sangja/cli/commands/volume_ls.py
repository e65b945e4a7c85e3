"""`sangja volume ls`: list volumes with docker's columns, filters and --format."""

from __future__ import annotations

from sangja.cli import formatter
from sangja.cli.client import encode_filters
from sangja.cli.command import Cli, Spec, no_args
from sangja.cli.filters import collect, filter_flag
from sangja.cli.flags import Bool, Options, Str
from sangja.cli.units import human_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SPEC = Spec(
    use="[OPTIONS]",
    short="List volumes",
    flags=[
        Bool("cluster", "", "Display only cluster volumes, and use cluster volume list formatting", hidden=True),
        filter_flag("f", "Provide filter values (e.g. \"dangling=true\")"),
        Str("format", "", "Format output using a custom template:\n'table':            Print output in table "
            "format with column headers (default)\n'table TEMPLATE':   Print output in table format using the "
            "given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output "
            "using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information "
            "about formatting output with templates"),
        Bool("quiet", "q", "Only display volume names"),
    ],
    args=no_args(),
    aliases="docker volume ls, docker volume list",
)

DEFAULT_TABLE = "table {{.Driver}}\t{{.Name}}"
HEADERS = {
    "Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT", "Labels": "LABELS",
    "Links": "LINKS", "Size": "SIZE", "CreatedAt": "CREATED", "Group": "GROUP", "Availability": "AVAILABILITY",
    "Status": "STATUS",
}


class VolumeRow(formatter.Row):
    """formatter.volumeContext."""

    GO_TYPE = "*formatter.volumeContext"
    FIELDS = ("Availability", "Driver", "Group", "Labels", "Links", "Mountpoint", "Name", "Scope", "Size",
              "Status")

    def __init__(self, vol: dict[str, Any]) -> None:
        self.v = vol

    def Name(self) -> str:
        return str(self.v.get("Name", ""))

    def Driver(self) -> str:
        return str(self.v.get("Driver", ""))

    def Scope(self) -> str:
        return str(self.v.get("Scope", ""))

    def Mountpoint(self) -> str:
        return str(self.v.get("Mountpoint", ""))

    def CreatedAt(self) -> str:
        return str(self.v.get("CreatedAt", ""))

    def Labels(self) -> str:
        labels = self.v.get("Labels") or {}
        return ",".join(f"{k}={v}" for k, v in labels.items())

    def Label(self, name: str) -> str:
        return str((self.v.get("Labels") or {}).get(name, ""))

    def Links(self) -> str:
        usage = self.v.get("UsageData")
        return str(usage.get("RefCount")) if usage else "N/A"

    def Size(self) -> str:
        usage = self.v.get("UsageData")
        if not usage or int(usage.get("Size", -1)) < 0:
            return "N/A"
        return human_size(int(usage["Size"]))

    def Group(self) -> str:
        return ""

    def Availability(self) -> str:
        return "N/A"

    def Status(self) -> str:
        return "N/A"


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    data = cli.client.get("/volumes", {"filters": encode_filters(collect(opts.filter))}) or {}
    vols = sorted(data.get("Volumes") or [], key=lambda v: str(v.get("Name", "")))
    fmt: str = opts.format or "table"
    if opts.quiet and fmt == "table":
        fmt = "{{.Name}}"
    elif fmt == "table":
        fmt = DEFAULT_TABLE
    cli.out(formatter.render(fmt, [VolumeRow(v) for v in vols], HEADERS), end="")
    for warning in data.get("Warnings") or []:
        cli.err(str(warning))
    return 0
