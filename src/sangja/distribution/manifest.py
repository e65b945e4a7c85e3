"""Manifests and indexes: media types, parsing, and choosing the platform's manifest."""

from __future__ import annotations

import json
import platform as _platform
from dataclasses import dataclass
from typing import Any

from sangja.errors import InvalidParameter, NotFound

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
SCHEMA1 = ("application/vnd.docker.distribution.manifest.v1+json",
           "application/vnd.docker.distribution.manifest.v1+prettyjws")

ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: dict[str, Any] | None = None

    @classmethod
    def parse(cls, obj: Any) -> Descriptor:
        if not isinstance(obj, dict) or not isinstance(obj.get("digest"), str) or not isinstance(obj.get("size"), int):
            raise InvalidParameter("invalid manifest: a descriptor lacks digest or size")
        platform = obj.get("platform")
        return cls(str(obj.get("mediaType", "")), obj["digest"], obj["size"],
                   platform if isinstance(platform, dict) else None)


@dataclass(frozen=True)
class Manifest:
    media_type: str
    config: Descriptor
    layers: list[Descriptor]


@dataclass(frozen=True)
class Index:
    media_type: str
    manifests: list[Descriptor]


def parse(raw: bytes, content_type: str) -> Manifest | Index:
    """Parse a manifest or an index. Schema 1 is refused; so is anything that is not JSON."""
    content_type = content_type.split(";", 1)[0].strip()
    if content_type in SCHEMA1:
        raise InvalidParameter(
            "Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. "
            "Suggest the author of the image to upgrade it to Docker Image manifest version 2, schema 2."
        )
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidParameter("invalid manifest: not JSON") from None
    if not isinstance(obj, dict):
        raise InvalidParameter("invalid manifest: not a JSON object")
    media_type = obj.get("mediaType") or content_type
    if obj.get("schemaVersion") == 1:
        return parse(raw, SCHEMA1[0])
    if media_type in INDEX_TYPES or (media_type not in MANIFEST_TYPES and "manifests" in obj):
        manifests = obj.get("manifests")
        if not isinstance(manifests, list):
            raise InvalidParameter("invalid index: no manifests")
        return Index(str(media_type), [Descriptor.parse(m) for m in manifests])
    if media_type in MANIFEST_TYPES or "layers" in obj:
        layers = obj.get("layers")
        if not isinstance(layers, list):
            raise InvalidParameter("invalid manifest: no layers")
        return Manifest(str(media_type), Descriptor.parse(obj.get("config")), [Descriptor.parse(x) for x in layers])
    raise InvalidParameter(f"unsupported manifest media type {media_type!r}")


_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "armv6l": "arm", "i686": "386", "i386": "386",
         "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def host_platform() -> dict[str, str]:
    machine = _platform.machine()
    out = {"os": "linux", "architecture": _ARCH.get(machine, machine)}
    if machine == "aarch64":
        out["variant"] = "v8"
    elif machine.startswith("armv"):
        out["variant"] = machine[3:5]
    return out


def parse_platform(text: str) -> dict[str, str]:
    """"os[/arch[/variant]]" (docker's --platform) → {"os", "architecture", "variant"?}."""
    parts = text.lower().split("/")
    if not text or len(parts) > 3 or not all(parts):
        raise InvalidParameter(f'"{text}": unknown operating system or architecture: invalid argument')
    out = {"os": parts[0], "architecture": parts[1] if len(parts) > 1 else host_platform()["architecture"]}
    if len(parts) == 3:
        out["variant"] = parts[2]
    elif out["architecture"] in ("arm64", "aarch64"):
        out["architecture"] = "arm64"
    return out


def format_platform(p: dict[str, str]) -> str:
    return "/".join(x for x in (p.get("os", ""), p.get("architecture", ""), p.get("variant", "")) if x)


def select(index: Index, want: dict[str, str]) -> Descriptor:
    """The index entry for platform `want` (os, architecture and, when asked, variant; arm64's
    "v8" matches an entry without variant), skipping attestation manifests."""
    def matches(p: dict[str, Any]) -> bool:
        if p.get("os") != want["os"] or p.get("architecture") != want["architecture"]:
            return False
        wv, pv = want.get("variant", ""), p.get("variant", "")
        return not wv or wv == pv or (want["architecture"] == "arm64" and wv == "v8" and not pv)

    for d in index.manifests:
        if d.platform is not None and d.platform.get("os") != "unknown" and matches(d.platform):
            return d
    raise NotFound(f"no matching manifest for {format_platform(want)} in the manifest list entries")
