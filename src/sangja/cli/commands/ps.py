"""`sangja ps` / `sangja container ls`: list containers with docker's columns and --format."""

from __future__ import annotations

import time

from sangja.cli import formatter, gotemplate
from sangja.cli.client import encode_filters
from sangja.cli.command import Cli, Spec, no_args
from sangja.cli.errors import CLIError
from sangja.cli.filters import collect, filter_flag
from sangja.cli.flags import Bool, Int, Options, Str
from sangja.cli.gofmt import go_quote
from sangja.cli.units import go_time_string, human_duration, human_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

FORMAT_HELP = ("Format output using a custom template:\n'table':            Print output in table format with "
               "column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go "
               "template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the "
               "given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about "
               "formatting output with templates")

SPEC = Spec(
    use="[OPTIONS]",
    short="List containers",
    flags=[
        Bool("all", "a", "Show all containers (default shows just running)"),
        filter_flag(),
        Str("format", "", FORMAT_HELP),
        Int("last", "n", "Show n last created containers (includes all states)", -1),
        Bool("latest", "l", "Show the latest created container (includes all states)"),
        Bool("no-trunc", "", "Don't truncate output"),
        Bool("quiet", "q", "Only display container IDs"),
        Bool("size", "s", "Display total file sizes"),
    ],
    args=no_args(),
    aliases="docker container ls, docker container list, docker container ps, docker ps",
)

DEFAULT_TABLE = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

HEADERS = {
    "ID": "CONTAINER ID", "Names": "NAMES", "Image": "IMAGE", "Command": "COMMAND",
    "CreatedAt": "CREATED AT", "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE",
    "Status": "STATUS", "Size": "SIZE", "Labels": "LABELS", "Mounts": "MOUNTS",
    "LocalVolumes": "LOCAL VOLUMES", "Networks": "NETWORKS", "Platform": "PLATFORM",
}


class ContainerRow(formatter.Row):
    """formatter.ContainerContext over one /containers/json entry."""

    GO_TYPE = "*formatter.ContainerContext"
    FIELDS = ("Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts", "Names",
              "Networks", "Platform", "Ports", "RunningFor", "Size", "State", "Status")

    def __init__(self, c: dict[str, Any], trunc: bool, now: float) -> None:
        self.c = c
        self.trunc = trunc
        self.now = now

    def ID(self) -> str:
        ident = str(self.c.get("Id", ""))
        return formatter.truncate_id(ident) if self.trunc else ident

    def Names(self) -> str:
        names = [n[1:] if n.startswith("/") else n for n in self.c.get("Names") or []]
        if self.trunc:
            return next((n for n in names if "/" not in n), "")
        return ",".join(names)

    def Image(self) -> str:
        image = str(self.c.get("Image") or "")
        if not image:
            return "<no image>"
        if not self.trunc:
            return image
        image_id = str(self.c.get("ImageID") or "")
        if formatter.truncate_id(image_id) == formatter.truncate_id(image):
            return formatter.truncate_id(image)
        return familiar_name(image)

    def Command(self) -> str:
        command = str(self.c.get("Command") or "")
        if self.trunc:
            command = formatter.ellipsis(command, 20)
        return go_quote(command)

    def CreatedAt(self) -> str:
        return go_time_string(int(self.c.get("Created") or 0))

    def RunningFor(self) -> str:
        return human_duration(self.now - int(self.c.get("Created") or 0)) + " ago"

    def Ports(self) -> str:
        return displayable_ports(self.c.get("Ports") or [])

    def State(self) -> str:
        return str(self.c.get("State") or "")

    def Status(self) -> str:
        return str(self.c.get("Status") or "")

    def Size(self) -> str:
        srw = human_size(int(self.c.get("SizeRw") or 0), 3)
        root = int(self.c.get("SizeRootFs") or 0)
        return f"{srw} (virtual {human_size(root, 3)})" if root > 0 else srw

    def Labels(self) -> str:
        labels = self.c.get("Labels") or {}
        return ",".join(sorted(f"{k}={v}" for k, v in labels.items()))

    def Label(self, name: str) -> str:
        return str((self.c.get("Labels") or {}).get(name, ""))

    def Mounts(self) -> str:
        names = []
        for m in self.c.get("Mounts") or []:
            name = m.get("Name") or m.get("Source") or ""
            names.append(formatter.ellipsis(name, 15) if self.trunc else name)
        return ",".join(names)

    def LocalVolumes(self) -> str:
        return str(sum(1 for m in self.c.get("Mounts") or [] if m.get("Driver") == "local"))

    def Networks(self) -> str:
        networks = (self.c.get("NetworkSettings") or {}).get("Networks") or {}
        return ",".join(networks)

    def Platform(self) -> Any:
        descriptor = self.c.get("ImageManifestDescriptor") or {}
        platform = descriptor.get("platform")
        if not platform:
            return None
        return "/".join(p for p in (platform.get("os"), platform.get("architecture"), platform.get("variant")) if p)


def familiar_name(ref: str) -> str:
    """reference.FamiliarString without the digest: drop docker.io/ and library/."""
    name = ref.partition("@")[0]
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"):
        if name.startswith(prefix):
            rest = name[len(prefix):]
            if prefix.endswith("library/") and "/" in rest.split(":")[0]:
                continue
            name = rest
            break
    return name


def displayable_ports(ports: list[dict[str, Any]]) -> str:
    """formatter.DisplayablePorts: group consecutive ports, list host mappings last."""
    def sort_key(p: dict[str, Any]) -> tuple[Any, ...]:
        ip = str(p.get("IP") or "")
        return (int(p.get("PrivatePort") or 0), _ip_key(ip), int(p.get("PublicPort") or 0), str(p.get("Type") or ""))

    groups: dict[str, list[int]] = {}
    order: list[str] = []
    result: list[str] = []
    mappings: list[str] = []
    for p in sorted(ports, key=sort_key):
        current = int(p.get("PrivatePort") or 0)
        ptype = str(p.get("Type") or "")
        key = ptype
        ip = str(p.get("IP") or "")
        if ip:
            public = int(p.get("PublicPort") or 0)
            if public != current:
                host = f"[{ip}]" if ":" in ip else ip
                mappings.append(f"{host}:{public}->{current}/{ptype}")
                continue
            key = f"{ip}/{ptype}"
        group = groups.get(key)
        if group is None:
            groups[key] = [current, current]
            order.append(key)
            continue
        if current == group[1] + 1:
            group[1] = current
            continue
        result.append(_form_group(key, group[0], group[1]))
        groups[key] = [current, current]
    for key in order:
        first, last = groups[key]
        result.append(_form_group(key, first, last))
    return ", ".join(result + mappings)


def _ip_key(ip: str) -> tuple[int, bytes]:
    if not ip:
        return (0, b"")
    import ipaddress

    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return (3, ip.encode())
    return (1 if addr.version == 4 else 2, addr.packed)


def _form_group(key: str, start: int, last: int) -> str:
    ip, _, gtype = key.rpartition("/")
    group = str(start) if start == last else f"{start}-{last}"
    if ip:
        host = f"[{ip}]" if ":" in ip else ip
        group = f"{host}:{group}->{group}"
    return f"{group}/{gtype}"


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    fmt: str = opts.format
    if fmt and opts.quiet:
        cli.err("WARNING: Ignoring custom format, because both --format and --quiet are set.")
    size = bool(opts.size)
    if fmt and not opts.quiet:
        try:
            probe = gotemplate.parse(fmt)
        except gotemplate.TemplateError as exc:
            raise CLIError(f"failed to parse template: {exc}") from None
        try:
            probe.execute(ContainerRow({}, True, time.time()))
        except gotemplate.TemplateError as exc:
            raise CLIError(f"failed to execute template: {exc}") from None
        if "Size" in probe.field_names() and "size" not in opts.changed:
            size = True
    limit = opts.last
    if opts.latest and limit == -1:
        limit = 1
    query = {
        "all": True if opts.all else None,
        "limit": limit if limit > 0 else None,
        "size": True if size else None,
        "filters": encode_filters(collect(opts.filter)),
    }
    containers = cli.client.get("/containers/json", query) or []
    if opts.quiet:
        fmt = "{{.ID}}"
    elif not fmt or fmt == "table":
        fmt = DEFAULT_TABLE + ("\t{{.Size}}" if size else "")
    now = time.time()
    rows = [ContainerRow(c, not opts.no_trunc, now) for c in containers]
    cli.out(formatter.render(fmt, rows, HEADERS), end="")
    return 0
