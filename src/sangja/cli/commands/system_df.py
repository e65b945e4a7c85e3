"""`sangja system df`: disk usage by type, or with -v per image, container, volume and build
cache record (docker/cli cli/command/system/df.go and formatter/disk_usage.go)."""

from __future__ import annotations

import time

from sangja.cli import formatter, gotemplate
from sangja.cli.command import Cli, Spec, no_args
from sangja.cli.commands.images import HEADERS as IMAGE_HEADERS
from sangja.cli.commands.images import ImageRow, is_dangling, split_tag
from sangja.cli.commands.ps import FORMAT_HELP, ContainerRow, familiar_name
from sangja.cli.commands.ps import HEADERS as CONTAINER_HEADERS
from sangja.cli.commands.volume_ls import HEADERS as VOLUME_HEADERS
from sangja.cli.commands.volume_ls import VolumeRow
from sangja.cli.errors import CLIError
from sangja.cli.flags import Bool, Options, Str
from sangja.cli.units import human_duration, human_size, parse_rfc3339

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SPEC = Spec(
    use="[OPTIONS]",
    short="Show sangja disk usage",
    flags=[
        Str("format", "", FORMAT_HELP),
        Bool("verbose", "v", "Show detailed information on space usage"),
    ],
    args=no_args(),
)

DEFAULT_TABLE = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"
RAW_FORMAT = ("type: {{.Type}}\ntotal: {{.TotalCount}}\nactive: {{.Active}}\nsize: {{.Size}}\n"
              "reclaimable: {{.Reclaimable}}\n")
HEADERS = {"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE", "Reclaimable": "RECLAIMABLE"}

IMAGE_TABLE = ("table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}"
               "\t{{.UniqueSize}}\t{{.Containers}}")
CONTAINER_TABLE = ("table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}"
                   "\t{{.Status}}\t{{.Names}}")
VOLUME_TABLE = "table {{.Name}}\t{{.Links}}\t{{.Size}}"
BUILD_CACHE_TABLE = ("table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}"
                     "\t{{.UsageCount}}\t{{.Shared}}")
BUILD_CACHE_HEADERS = {
    "ID": "CACHE ID", "Parent": "PARENT", "CacheType": "CACHE TYPE", "Size": "SIZE", "CreatedSince": "CREATED",
    "LastUsedSince": "LAST USED", "UsageCount": "USAGE", "InUse": "IN USE", "Shared": "SHARED",
    "Description": "DESCRIPTION",
}

ACTIVE_STATES = ("running", "paused", "restarting")


def _reclaimable(reclaimable: int, total: int) -> str:
    if total > 0:
        return f"{human_size(reclaimable)} ({reclaimable * 100 // total}%)"
    return human_size(reclaimable)


class UsageRow(formatter.Row):
    """One line of the summary: docker's diskUsage{Images,Containers,Volumes,Builder}Context."""

    FIELDS = ("Active", "Reclaimable", "Size", "TotalCount", "Type")

    def __init__(self, kind: str, total: int, active: int, size: int, reclaimable: str) -> None:
        self.kind, self.total, self.active, self.size, self.reclaimable = kind, total, active, size, reclaimable

    def Type(self) -> str:
        return self.kind

    def TotalCount(self) -> str:
        return str(self.total)

    def Active(self) -> str:
        return str(self.active)

    def Size(self) -> str:
        return human_size(self.size)

    def Reclaimable(self) -> str:
        return self.reclaimable


def summary_rows(du: dict[str, Any]) -> list[UsageRow]:
    images = du.get("Images") or []
    layers = int(du.get("LayersSize") or 0)
    used = sum(int(i["Size"]) - int(i["SharedSize"]) for i in images
               if i.get("Containers") and i.get("Size", -1) != -1 and i.get("SharedSize", -1) != -1)
    rows = [UsageRow("Images", len(images), sum(1 for i in images if int(i.get("Containers") or 0) > 0), layers,
                     _reclaimable(layers - used, layers))]

    containers = du.get("Containers") or []
    active = [c for c in containers if c.get("State") in ACTIVE_STATES]
    total_rw = sum(int(c.get("SizeRw") or 0) for c in containers)
    idle_rw = total_rw - sum(int(c.get("SizeRw") or 0) for c in active)
    rows.append(UsageRow("Containers", len(containers), len(active), total_rw, _reclaimable(idle_rw, total_rw)))

    volumes = du.get("Volumes") or []
    sized = [v["UsageData"] for v in volumes if (v.get("UsageData") or {}).get("Size", -1) != -1]
    total_vol = sum(int(u["Size"]) for u in sized)
    free_vol = sum(int(u["Size"]) for u in sized if not u.get("RefCount"))
    rows.append(UsageRow("Local Volumes", len(volumes),
                         sum(1 for v in volumes if int((v.get("UsageData") or {}).get("RefCount") or 0) > 0),
                         total_vol, _reclaimable(free_vol, total_vol)))

    cache = du.get("BuildCache") or []
    builder = sum(int(b.get("Size") or 0) for b in cache if not b.get("Shared"))
    in_use = sum(int(b.get("Size") or 0) for b in cache if b.get("InUse") and not b.get("Shared"))
    rows.append(UsageRow("Build Cache", len(cache), sum(1 for b in cache if b.get("InUse")), builder,
                         human_size(builder - in_use)))
    return rows


class BuildCacheRow(formatter.Row):
    """formatter.buildCacheContext over one BuildCache record."""

    GO_TYPE = "*formatter.buildCacheContext"
    FIELDS = ("CacheType", "CreatedAt", "CreatedSince", "Description", "ID", "InUse", "LastUsedAt",
              "LastUsedSince", "Parent", "Shared", "Size", "UsageCount")

    def __init__(self, record: dict[str, Any], trunc: bool, now: float) -> None:
        self.v, self.trunc, self.now = record, trunc, now

    def ID(self) -> str:
        ident = str(self.v.get("ID") or "")
        ident = formatter.truncate_id(ident) if self.trunc else ident
        return ident + "*" if self.v.get("InUse") else ident

    def Parent(self) -> str:
        parent = ", ".join(self.v.get("Parents") or []) or str(self.v.get("Parent") or "")
        return formatter.truncate_id(parent) if self.trunc else parent

    def CacheType(self) -> str:
        return str(self.v.get("Type") or "")

    def Description(self) -> str:
        return str(self.v.get("Description") or "")

    def Size(self) -> str:
        return human_size(int(self.v.get("Size") or 0), 3)

    def CreatedAt(self) -> str:
        return str(self.v.get("CreatedAt") or "")

    def CreatedSince(self) -> str:
        return self._since(self.v.get("CreatedAt"))

    def LastUsedAt(self) -> str:
        return str(self.v.get("LastUsedAt") or "")

    def LastUsedSince(self) -> str:
        return self._since(self.v.get("LastUsedAt"))

    def _since(self, stamp: Any) -> str:
        if not stamp:
            return ""
        try:
            return human_duration(self.now - parse_rfc3339(str(stamp))) + " ago"
        except ValueError:
            return ""

    def UsageCount(self) -> str:
        return str(int(self.v.get("UsageCount") or 0))

    def InUse(self) -> str:
        return "true" if self.v.get("InUse") else "false"

    def Shared(self) -> str:
        return "true" if self.v.get("Shared") else "false"


class DetailView(formatter.Row):
    """formatter.diskUsageContext: the rows of `df -v` for a custom --format."""

    GO_TYPE = "*formatter.diskUsageContext"

    def __init__(self, images: list[ImageRow], containers: list[ContainerRow], volumes: list[VolumeRow],
                 cache: list[BuildCacheRow]) -> None:
        self.Images, self.Containers, self.Volumes, self.BuildCache = images, containers, volumes, cache

    def __template_json__(self) -> dict[str, Any]:
        return {"Images": [r.__template_json__() for r in self.Images],
                "Containers": [r.__template_json__() for r in self.Containers],
                "Volumes": [r.__template_json__() for r in self.Volumes],
                "BuildCache": [r.__template_json__() for r in self.BuildCache]}


def detail_view(du: dict[str, Any], trunc: bool) -> DetailView:
    now = time.time()
    images: list[ImageRow] = []
    for img in du.get("Images") or []:
        repo = tag = "<none>"
        tags = img.get("RepoTags") or []
        if tags and not is_dangling(img):
            name, tagged = split_tag(tags[0])  # only the first tag, as docker shows it
            if tagged:
                repo, tag = familiar_name(name), tagged
        images.append(ImageRow(img, repo, tag, "", trunc, now))
    # The virtual size is left out of the container rows, as docker does.
    containers = [ContainerRow({**c, "SizeRootFs": 0}, trunc, now) for c in du.get("Containers") or []]
    volumes = [VolumeRow(v) for v in du.get("Volumes") or []]
    cache = sorted(du.get("BuildCache") or [], key=lambda b: (not b.get("InUse"), str(b.get("LastUsedAt") or ""),
                                                              str(b.get("ID") or "")))
    return DetailView(images, containers, volumes, [BuildCacheRow(b, trunc, now) for b in cache])


def verbose_table(du: dict[str, Any], view: DetailView) -> str:
    builder = sum(int(b.get("Size") or 0) for b in du.get("BuildCache") or [] if not b.get("Shared"))
    return "".join([
        "Images space usage:\n\n",
        formatter.render(IMAGE_TABLE, view.Images, IMAGE_HEADERS),
        "\nContainers space usage:\n\n",
        formatter.render(CONTAINER_TABLE, view.Containers, CONTAINER_HEADERS),
        "\nLocal Volumes space usage:\n\n",
        formatter.render(VOLUME_TABLE, view.Volumes, VOLUME_HEADERS),
        f"\nBuild cache usage: {human_size(builder)}\n\n",
        formatter.render(BUILD_CACHE_TABLE, view.BuildCache, BUILD_CACHE_HEADERS),
    ])


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    du = cli.client.get("/system/df") or {}
    fmt: str = opts.format or "table"
    if opts.verbose:
        view = detail_view(du, formatter.is_table(fmt))
        if fmt == "table":
            cli.out(verbose_table(du, view), end="")
        else:
            # A custom format runs once over all the rows, with nothing added (docker's verboseWrite).
            try:
                cli.out(formatter.parse(fmt).execute(view), end="")
            except gotemplate.TemplateError as exc:
                raise CLIError(f"template parsing error: {exc}") from None
        return 0
    if fmt == "table":
        fmt = DEFAULT_TABLE
    elif fmt == "raw":
        fmt = RAW_FORMAT
    cli.out(formatter.render(fmt, summary_rows(du), HEADERS), end="")
    return 0
