"""`sangja images` / `sangja image ls`: list images with docker's columns and --format."""

from __future__ import annotations

import time

from sangja.cli import formatter
from sangja.cli.client import encode_filters
from sangja.cli.command import Cli, Spec, max_args
from sangja.cli.commands.ps import FORMAT_HELP, familiar_name
from sangja.cli.filters import collect, filter_flag
from sangja.cli.flags import Bool, Options, Str
from sangja.cli.units import go_time_string, human_duration, human_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SPEC = Spec(
    use="[OPTIONS] [REPOSITORY[:TAG]]",
    short="List images",
    flags=[
        Bool("all", "a", "Show all images (default hides intermediate images)"),
        Bool("digests", "", "Show digests"),
        filter_flag(),
        Str("format", "", FORMAT_HELP),
        Bool("no-trunc", "", "Don't truncate output"),
        Bool("quiet", "q", "Only show image IDs"),
    ],
    args=max_args(1),
    aliases="docker image ls, docker image list, docker images",
)

DEFAULT_TABLE = ("table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}"
                 "\t{{.Size}}")
DIGEST_TABLE = ("table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}"
                "{{else}}N/A{{end}}\t{{.Size}}")

HEADERS = {
    "ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
    "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE", "Containers": "CONTAINERS",
    "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE", "VirtualSize": "VIRTUAL SIZE",
}

AMBIGUOUS = {"build", "history", "import", "inspect", "list", "load", "ls", "prune", "pull", "push", "rm",
             "save", "tag"}


class ImageRow(formatter.Row):
    """formatter.imageContext: one (repository, tag, digest) of an /images/json entry."""

    GO_TYPE = "*formatter.imageContext"
    FIELDS = ("Containers", "CreatedAt", "CreatedSince", "Digest", "ID", "Repository", "SharedSize", "Size",
              "Tag", "UniqueSize", "VirtualSize")

    def __init__(self, img: dict[str, Any], repo: str, tag: str, digest: str, trunc: bool, now: float) -> None:
        self.i = img
        self.repo = repo
        self.tag = tag
        self.digest = digest
        self.trunc = trunc
        self.now = now

    def ID(self) -> str:
        ident = str(self.i.get("Id", ""))
        return formatter.truncate_id(ident) if self.trunc else ident

    def Repository(self) -> str:
        return self.repo

    def Tag(self) -> str:
        return self.tag

    def Digest(self) -> str:
        return self.digest

    def CreatedSince(self) -> str:
        return human_duration(self.now - int(self.i.get("Created") or 0)) + " ago"

    def CreatedAt(self) -> str:
        return go_time_string(int(self.i.get("Created") or 0))

    def Size(self) -> str:
        return human_size(int(self.i.get("Size") or 0), 3)

    def Containers(self) -> str:
        n = self.i.get("Containers", -1)
        return "N/A" if n is None or n == -1 else str(n)

    def SharedSize(self) -> str:
        n = self.i.get("SharedSize", -1)
        return "N/A" if n is None or n == -1 else human_size(n)

    def UniqueSize(self) -> str:
        size, shared = self.i.get("Size", -1), self.i.get("SharedSize", -1)
        if size in (None, -1) or shared in (None, -1):
            return "N/A"
        return human_size(size - shared)

    def VirtualSize(self) -> str:
        return human_size(int(self.i.get("VirtualSize") or self.i.get("Size") or 0))


def is_dangling(img: dict[str, Any]) -> bool:
    tags = img.get("RepoTags") or []
    digests = img.get("RepoDigests") or []
    if not tags and not digests:
        return True
    return tags == ["<none>:<none>"] and digests == ["<none>@<none>"]


def split_tag(ref: str) -> tuple[str, str]:
    name, _, tag = ref.rpartition(":")
    if not name or "/" in tag:
        return ref, ""
    return name, tag


def image_rows(images: list[dict[str, Any]], trunc: bool, want_digest: bool, show_digests: bool) -> list[ImageRow]:
    now = time.time()
    rows: list[ImageRow] = []
    for img in images:
        if is_dangling(img):
            rows.append(ImageRow(img, "<none>", "<none>", "<none>", trunc, now))
            continue
        repo_tags: dict[str, list[str]] = {}
        repo_digests: dict[str, list[str]] = {}
        for ref in img.get("RepoTags") or []:
            if ref == "<none>:<none>":
                continue
            name, tag = split_tag(ref)
            if tag:
                repo_tags.setdefault(familiar_name(name), []).append(tag)
        for ref in img.get("RepoDigests") or []:
            name, at, digest = ref.partition("@")
            if at and ref != "<none>@<none>":
                repo_digests.setdefault(familiar_name(name), []).append(digest)
        for repo, tags in repo_tags.items():
            digests = repo_digests.pop(repo, [])
            if not want_digest:
                digests = []
            for tag in tags:
                if not digests:
                    rows.append(ImageRow(img, repo, tag, "<none>", trunc, now))
                for digest in digests:
                    rows.append(ImageRow(img, repo, tag, digest, trunc, now))
        for repo, digests in repo_digests.items():
            if show_digests:
                rows.extend(ImageRow(img, repo, "<none>", d, trunc, now) for d in digests)
            else:
                rows.append(ImageRow(img, repo, "<none>", "", trunc, now))
    return rows


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    filters = collect(opts.filter)
    match = args[0] if args else ""
    if match:
        filters.setdefault("reference", []).append(match)
    images = cli.client.get("/images/json", {"all": True if opts.all else None,
                                             "filters": encode_filters(filters)}) or []
    fmt: str = opts.format or "table"
    if opts.quiet and fmt == "table":
        fmt = "{{.ID}}"
    elif fmt == "table":
        fmt = DIGEST_TABLE if opts.digests else DEFAULT_TABLE
    elif formatter.is_table(fmt) and opts.digests and "{{.Digest}}" not in fmt:
        fmt += "\t{{.Digest}}"
    want_digest = opts.digests or "{{.Digest}}" in fmt
    rows = image_rows(images, not opts.no_trunc, want_digest, opts.digests)
    cli.out(formatter.render(fmt, rows, HEADERS), end="")
    if not images and match and cli.path == "images" and match in AMBIGUOUS:
        cli.err(f'No images found matching "{match}": did you mean "sangja image {match}"?')
    return 0
