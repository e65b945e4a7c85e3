"""Image archives: the `docker save` format (read and written) and OCI image layouts (read).

Reading. `ArchiveReader` opens the outer tar (already on disk, uncompressed) and serves its
members by name without extracting anything, so no entry of it can touch the filesystem.
`load_plan` turns it into `LoadItem`s:
    * a `manifest.json` ([{Config, RepoTags, Layers, Parent}], what every dockerd writes) wins;
    * otherwise an OCI layout (`index.json` → manifests, nested indexes resolved to the host
      platform; names from the io.containerd.image.name or org.opencontainers.image.ref.name
      annotation when it is a full reference).

Writing. `write_save_archive` produces what dockerd 25+ writes and both old and new `docker
load` read: blobs/sha256/<hex> for configs, layer tars (uncompressed, named by diff ID) and OCI
manifests, plus index.json, manifest.json, oci-layout and (when tagged) repositories.
"""

from __future__ import annotations

import hashlib
import io
import json
import posixpath
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol, cast

from sangja.errors import InvalidParameter
from sangja.image import platform
from sangja.image.reference import Reference, parse_normalized_named

MAX_JSON_MEMBER = 64 * 1024 * 1024

MEDIA_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
MEDIA_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MEDIA_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
ANNOTATION_IMAGE_NAME = "io.containerd.image.name"
ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
_INDEX_TYPES = (MEDIA_OCI_INDEX, MEDIA_DOCKER_LIST)
_MANIFEST_TYPES = (MEDIA_OCI_MANIFEST, MEDIA_DOCKER_MANIFEST)


class ArchiveReader:
    """Random access to the members of an uncompressed tar on disk."""

    def __init__(self, path: Path) -> None:
        try:
            self._tar = tarfile.open(path, "r:", errors="surrogateescape")  # noqa: SIM115 (closed by close())
            self._members = {self._norm(m.name): m for m in self._tar.getmembers()}
        except (tarfile.TarError, EOFError) as exc:
            raise InvalidParameter(f"invalid archive: {exc}") from None

    @staticmethod
    def _norm(name: str) -> str:
        return posixpath.normpath(name.lstrip("/") or ".").lstrip("/")

    def close(self) -> None:
        self._tar.close()

    def __enter__(self) -> ArchiveReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _resolve(self, name: str) -> tarfile.TarInfo | None:
        name = self._norm(name)
        for _ in range(40):
            member = self._members.get(name)
            if member is None:
                return None
            if member.issym():
                name = self._norm(posixpath.join(posixpath.dirname(name), member.linkname))
            elif member.islnk():
                name = self._norm(member.linkname)
            else:
                return member if member.isreg() else None
        return None

    def has(self, name: str) -> bool:
        return self._resolve(name) is not None

    def size(self, name: str) -> int:
        member = self._resolve(name)
        return member.size if member is not None else 0

    def open(self, name: str) -> IO[bytes]:
        member = self._resolve(name)
        f = self._tar.extractfile(member) if member is not None else None
        if f is None:
            raise InvalidParameter(f"invalid archive: {name} not found")
        return f

    def read_json(self, name: str) -> Any:
        member = self._resolve(name)
        if member is None:
            raise InvalidParameter(f"invalid archive: {name} not found")
        if member.size > MAX_JSON_MEMBER:
            raise InvalidParameter(f"invalid archive: {name} is too large")
        try:
            return json.loads(self.read_bytes(name))
        except ValueError as exc:
            raise InvalidParameter(f"invalid archive: failed to decode {name}: {exc}") from None

    def read_bytes(self, name: str) -> bytes:
        with self.open(name) as f:
            data = f.read()
        if len(data) != self.size(name):
            raise InvalidParameter(f"invalid archive: {name} is truncated")
        return data


@dataclass
class LoadLayer:
    path: str                 # member holding the layer blob
    blob_digest: str = ""     # digest the blob must have (OCI); "" when not known (docker save)


@dataclass
class LoadItem:
    config_path: str
    layers: list[LoadLayer]
    repo_tags: list[str] = field(default_factory=list)
    parent: str = ""
    config_digest: str = ""   # digest the config must have (OCI); "" when not known


def load_plan(archive: ArchiveReader) -> list[LoadItem]:
    """The images an archive holds, in the order it lists them."""
    if archive.has("manifest.json"):
        return _docker_plan(archive)
    if archive.has("index.json"):
        return _oci_plan(archive)
    raise InvalidParameter("invalid archive: does not contain a manifest.json")


def _docker_plan(archive: ArchiveReader) -> list[LoadItem]:
    manifest = archive.read_json("manifest.json")
    if manifest is None:
        raise InvalidParameter("invalid manifest, manifest cannot be null (but can be [])")
    if not isinstance(manifest, list):
        raise InvalidParameter("invalid archive: failed to decode manifest.json: not a list")
    items = []
    for entry in manifest:
        if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str):
            raise InvalidParameter("invalid archive: manifest.json entry without Config")
        layers = entry.get("Layers") or []
        tags = entry.get("RepoTags") or []
        if not isinstance(layers, list) or not isinstance(tags, list):
            raise InvalidParameter("invalid archive: malformed manifest.json entry")
        items.append(
            LoadItem(
                config_path=entry["Config"],
                layers=[LoadLayer(str(p)) for p in layers],
                repo_tags=[str(t) for t in tags],
                parent=str(entry.get("Parent") or ""),
            )
        )
    return items


def _blob_path(digest: str) -> str:
    algorithm, _, hexpart = digest.partition(":")
    if not algorithm or not hexpart or "/" in digest or ".." in digest:
        raise InvalidParameter(f"invalid archive: invalid digest {digest!r}")
    return f"blobs/{algorithm}/{hexpart}"


def _name_of(annotations: dict[str, Any]) -> str:
    name = annotations.get(ANNOTATION_IMAGE_NAME)
    if isinstance(name, str) and name:
        return name
    ref_name = annotations.get(ANNOTATION_REF_NAME)
    # A bare tag ("latest") names no repository: such images load untagged.
    if isinstance(ref_name, str) and ("/" in ref_name or ":" in ref_name):
        return ref_name
    return ""


def _oci_plan(archive: ArchiveReader) -> list[LoadItem]:
    index = archive.read_json("index.json")
    if not isinstance(index, dict) or not isinstance(index.get("manifests"), list):
        raise InvalidParameter("invalid archive: index.json has no manifests")
    here = platform.host()
    items: dict[str, LoadItem] = {}
    for desc in index["manifests"]:
        manifest_desc = _select_manifest(archive, desc, here, depth=0)
        if manifest_desc is None:
            continue
        digest = str(manifest_desc["digest"])
        item = items.get(digest)
        if item is None:
            manifest = archive.read_json(_blob_path(digest))
            config = manifest.get("config") if isinstance(manifest, dict) else None
            if not isinstance(config, dict) or not isinstance(config.get("digest"), str):
                raise InvalidParameter(f"invalid archive: manifest {digest} has no config")
            layers = [
                LoadLayer(_blob_path(str(layer["digest"])), str(layer["digest"]))
                for layer in manifest.get("layers") or []
            ]
            item = LoadItem(_blob_path(config["digest"]), layers, config_digest=config["digest"])
            items[digest] = item
        name = _name_of(desc.get("annotations") or {})
        if name and name not in item.repo_tags:
            item.repo_tags.append(name)
    return list(items.values())


def _select_manifest(
    archive: ArchiveReader, desc: Any, here: platform.Platform, depth: int
) -> dict[str, Any] | None:
    """Follow nested indexes down to the manifest for this host (None: nothing runs here)."""
    if not isinstance(desc, dict) or not isinstance(desc.get("digest"), str) or depth > 8:
        return None
    media = desc.get("mediaType", "")
    if media in _INDEX_TYPES:
        nested = archive.read_json(_blob_path(desc["digest"]))
        for child in (nested or {}).get("manifests") or []:
            if not isinstance(child, dict):
                continue
            annotations = child.get("annotations") or {}
            if annotations.get("vnd.docker.reference.type") == "attestation-manifest":
                continue
            plat = child.get("platform") or {}
            if plat and not here.matches(plat.get("os", ""), plat.get("architecture", ""), plat.get("variant", "")):
                continue
            found = _select_manifest(archive, child, here, depth + 1)
            if found is not None:
                return found
        return None
    if media in _MANIFEST_TYPES or (media == "" and archive.has(_blob_path(desc["digest"]))):
        return desc
    return None


# -- writing `docker save` archives ----------------------------------------------------------


@dataclass
class SaveImage:
    image_id: str
    config: bytes
    created: int                     # Unix seconds, the mtime of its blobs
    layers: list[tuple[str, int]]    # (diff ID, tar size), bottom first
    repo_tags: list[Reference] = field(default_factory=list)
    parent: str = ""


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class Writable(Protocol):
    def write(self, data: bytes, /) -> int: ...


def _add(tar: tarfile.TarFile, name: str, data: Readable, size: int, mtime: int = 0) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = mtime
    info.mode = 0o644
    # tarfile reads exactly `size` bytes with read(); any object with read() does.
    tar.addfile(info, cast(IO[bytes], data))


def _add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    tar.addfile(info)


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def write_save_archive(out: Writable, images: list[SaveImage], open_layer: Callable[[str], Readable]) -> None:
    """Stream a save archive of `images` to `out`. `open_layer(diff_id)` returns a reader of
    exactly that layer's tar (it raises if the layer does not verify)."""
    written: set[str] = set()
    manifest: list[dict[str, Any]] = []
    index_entries: list[dict[str, Any]] = []
    repositories: dict[str, dict[str, str]] = {}
    # Stream mode ("w|") only ever calls out.write().
    with tarfile.open(fileobj=cast(IO[bytes], out), mode="w|", format=tarfile.PAX_FORMAT) as tar:
        _add_dir(tar, "blobs/")
        _add_dir(tar, "blobs/sha256/")
        for img in images:
            if not img.layers:
                raise InvalidParameter("empty export - not implemented")
            config_path = _blob_path(img.image_id)
            if config_path not in written:
                _add(tar, config_path, io.BytesIO(img.config), len(img.config), img.created)
                written.add(config_path)
            layer_descs = []
            for diff_id, size in img.layers:
                path = _blob_path(diff_id)
                if path not in written:
                    _add(tar, path, open_layer(diff_id), size, img.created)
                    written.add(path)
                layer_descs.append({"mediaType": MEDIA_OCI_LAYER, "digest": diff_id, "size": size})
            oci_manifest = _json(
                {
                    "schemaVersion": 2,
                    "mediaType": MEDIA_OCI_MANIFEST,
                    "config": {"mediaType": MEDIA_OCI_CONFIG, "digest": img.image_id, "size": len(img.config)},
                    "layers": layer_descs,
                }
            )
            manifest_digest = "sha256:" + hashlib.sha256(oci_manifest).hexdigest()
            path = _blob_path(manifest_digest)
            if path not in written:
                _add(tar, path, io.BytesIO(oci_manifest), len(oci_manifest))
                written.add(path)
            desc = {"mediaType": MEDIA_OCI_MANIFEST, "digest": manifest_digest, "size": len(oci_manifest)}
            for ref in img.repo_tags:
                index_entries.append(
                    {**desc, "annotations": {ANNOTATION_IMAGE_NAME: str(ref), ANNOTATION_REF_NAME: ref.tag}}
                )
                repositories.setdefault(ref.familiar_name, {})[ref.tag] = img.layers[-1][0].split(":", 1)[1]
            if not img.repo_tags:
                index_entries.append(desc)
            entry: dict[str, Any] = {
                "Config": config_path,
                "RepoTags": [r.familiar() for r in img.repo_tags],
                "Layers": [_blob_path(d) for d, _ in img.layers],
            }
            if img.parent:
                entry["Parent"] = img.parent
            manifest.append(entry)
        index = _json({"schemaVersion": 2, "mediaType": MEDIA_OCI_INDEX, "manifests": index_entries})
        _add(tar, "index.json", io.BytesIO(index), len(index))
        data = _json(manifest)
        _add(tar, "manifest.json", io.BytesIO(data), len(data))
        layout = b'{"imageLayoutVersion": "1.0.0"}'
        _add(tar, "oci-layout", io.BytesIO(layout), len(layout))
        if repositories:
            data = _json(repositories)
            _add(tar, "repositories", io.BytesIO(data), len(data))


def parse_repo_tag(value: str) -> Reference:
    """A RepoTags entry of manifest.json: a normalised reference that must carry a tag."""
    ref = parse_normalized_named(value)
    if not ref.tag or ref.digest:
        raise InvalidParameter(f'invalid tag "{value}"')
    return ref
