"""`sangja system prune`: remove stopped containers, unused networks, dangling (or with -a all
unused) images, the build cache and with --volumes unused anonymous volumes, through the
prune endpoints in docker/cli's order (cli/command/system/prune.go)."""

from __future__ import annotations

import re

from sangja.cli.client import encode_filters
from sangja.cli.command import Cli, Spec, no_args
from sangja.cli.errors import CLIError
from sangja.cli.filters import collect, filter_flag
from sangja.cli.flags import Bool, Options
from sangja.cli.units import human_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SPEC = Spec(
    use="[OPTIONS]",
    short="Remove unused data",
    flags=[
        Bool("all", "a", "Remove all unused images not just dangling ones"),
        filter_flag("", 'Provide filter values (e.g. "label=<key>=<value>")'),
        Bool("force", "f", "Do not prompt for confirmation"),
        Bool("volumes", "", "Prune anonymous volumes"),
    ],
    args=no_args(),
)


def _natural_key(text: str) -> list[Any]:
    """sortorder.NaturalLess: runs of digits compare as numbers."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text) if part]


def confirmation(all_images: bool, volumes: bool, filters: dict[str, list[str]]) -> str:
    warnings = ["all stopped containers", "all networks not used by at least one container"]
    if volumes:
        warnings.append("all anonymous volumes not used by at least one container")
    warnings.append("all images without at least one container associated to them" if all_images
                    else "all dangling images")
    warnings.append("all build cache" if all_images else "unused build cache")
    text = "WARNING! This will remove:" + "".join(f"\n  - {w}" for w in warnings) + "\n"
    shown = sorted((f"{name}={v}" for name in ("label", "label!", "until") for v in filters.get(name, [])),
                   key=_natural_key)
    if shown:
        text += "\n  Items to be pruned will be filtered with:" + "".join(f"\n  - {f}" for f in shown) + "\n"
    return text + "\nAre you sure you want to continue?"


def _listing(title: str, ids: list[str]) -> str:
    return title + "\n" + "".join(f"{i}\n" for i in ids)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    filters = collect(opts.filter)
    if opts.volumes and "until" in filters:
        raise CLIError('ERROR: The "until" filter is not supported with "--volumes"')
    if not opts.force and not cli.confirm(confirmation(opts.all, opts.volumes, filters)):
        return 0  # cancelled: docker prints nothing more and exits 0
    encoded = encode_filters(filters)
    reclaimed = 0

    report: dict[str, Any] = cli.client.post("/containers/prune", {"filters": encoded}) or {}
    if report.get("ContainersDeleted"):
        cli.out(_listing("Deleted Containers:", report["ContainersDeleted"]))
        reclaimed += int(report.get("SpaceReclaimed") or 0)

    report = cli.client.post("/networks/prune", {"filters": encoded}) or {}
    if report.get("NetworksDeleted"):
        cli.out(_listing("Deleted Networks:", report["NetworksDeleted"]))

    if opts.volumes:
        report = cli.client.post("/volumes/prune", {"filters": encoded}) or {}
        if report.get("VolumesDeleted"):
            cli.out(_listing("Deleted Volumes:", report["VolumesDeleted"]))
            reclaimed += int(report.get("SpaceReclaimed") or 0)

    image_filters = {**filters, "dangling": ["false" if opts.all else "true"]}
    report = cli.client.post("/images/prune", {"filters": encode_filters(image_filters)}) or {}
    if report.get("ImagesDeleted"):
        lines = [f"untagged: {item['Untagged']}" if item.get("Untagged") else f"deleted: {item.get('Deleted', '')}"
                 for item in report["ImagesDeleted"]]
        cli.out(_listing("Deleted Images:", lines))
        reclaimed += int(report.get("SpaceReclaimed") or 0)

    report = cli.client.post("/build/prune", {"all": "1" if opts.all else None, "filters": encoded}) or {}
    if report.get("CachesDeleted"):
        cli.out(_listing("Deleted build cache objects:", report["CachesDeleted"]))
    reclaimed += int(report.get("SpaceReclaimed") or 0)

    cli.out(f"Total reclaimed space: {human_size(reclaimed)}")
    return 0

