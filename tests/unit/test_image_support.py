"""Builders shared by the image tests (unit and integration): layer tars made in memory with
tarfile, image configs, `docker save` and OCI-layout archives, and a store that needs no root
(RecordingFsOps stands in for chown, mknod and trusted.* xattrs).

Not a test module by itself; the one test below checks the builders' own contract.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sangja.image.fsops import FsOps, RecordingFsOps
from sangja.image.ids import chain_ids
from sangja.image.reference import parse_normalized_named
from sangja.image.store import ImageStore


@dataclass
class Entry:
    name: str
    type: bytes = tarfile.REGTYPE
    data: bytes = b""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    mtime: int = 1_600_000_000
    linkname: str = ""
    devmajor: int = 0
    devminor: int = 0
    pax: dict[str, str] = field(default_factory=dict)


def file(name: str, data: bytes = b"", mode: int = 0o644, **kw: Any) -> Entry:
    return Entry(name, tarfile.REGTYPE, data, mode, **kw)


def directory(name: str, mode: int = 0o755, **kw: Any) -> Entry:
    return Entry(name, tarfile.DIRTYPE, mode=mode, **kw)


def symlink(name: str, target: str) -> Entry:
    return Entry(name, tarfile.SYMTYPE, mode=0o777, linkname=target)


def hardlink(name: str, target: str, mode: int = 0o644) -> Entry:
    return Entry(name, tarfile.LNKTYPE, mode=mode, linkname=target)


def chardev(name: str, major: int, minor: int, mode: int = 0o666) -> Entry:
    return Entry(name, tarfile.CHRTYPE, mode=mode, devmajor=major, devminor=minor)


def fifo(name: str) -> Entry:
    return Entry(name, tarfile.FIFOTYPE, mode=0o644)


def tar_bytes(entries: list[Entry], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for e in entries:
            info = tarfile.TarInfo(e.name)
            info.type = e.type
            info.mode = e.mode
            info.uid, info.gid = e.uid, e.gid
            info.mtime = e.mtime
            info.linkname = e.linkname
            info.devmajor, info.devminor = e.devmajor, e.devminor
            info.pax_headers = dict(e.pax)
            info.size = len(e.data) if e.type == tarfile.REGTYPE else 0
            t.addfile(info, io.BytesIO(e.data) if info.size else None)
    return buf.getvalue()


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def make_config(
    layers: list[bytes],
    created: str = "2024-01-02T03:04:05.123456789Z",
    cmd: list[str] | None = None,
    labels: dict[str, str] | None = None,
    os_name: str = "linux",
    history: list[dict[str, Any]] | None = None,
) -> bytes:
    cfg: dict[str, Any] = {
        "architecture": "amd64",
        "config": {"Cmd": cmd or ["sh"], "Labels": labels, "Env": ["PATH=/bin"]},
        "created": created,
        "history": history if history is not None else [{"created": created, "created_by": f"layer {i}"}
                                                         for i in range(len(layers))],
        "os": os_name,
        "rootfs": {"type": "layers", "diff_ids": [digest(layer) for layer in layers]},
    }
    return json.dumps(cfg, separators=(",", ":")).encode()


def docker_save_archive(
    images: list[tuple[bytes, list[bytes], list[str]]], old_layout: bool = False, gzip_layers: bool = False
) -> bytes:
    """A `docker save` tar. old_layout: dockerd < 25 (<id>/layer.tar, <id>.json), else blobs/sha256."""
    members: dict[str, bytes] = {}
    manifest = []
    for config, layers, tags in images:
        cfg_hex = digest(config)[7:]
        cfg_path = f"{cfg_hex}.json" if old_layout else f"blobs/sha256/{cfg_hex}"
        members[cfg_path] = config
        paths = []
        for layer in layers:
            blob = gzip.compress(layer) if gzip_layers else layer
            hexd = digest(layer)[7:]
            path = f"{hexd}/layer.tar" if old_layout else f"blobs/sha256/{hexd}"
            members[path] = blob
            paths.append(path)
        manifest.append({"Config": cfg_path, "RepoTags": tags, "Layers": paths})
    members["manifest.json"] = json.dumps(manifest).encode()
    return tar_bytes([file(name, data) for name, data in members.items()])


def oci_archive(
    config: bytes, layers: list[bytes], names: list[str], gzip_layers: bool = True, nested: bool = False
) -> bytes:
    """An OCI image layout tar (no manifest.json), as buildx/skopeo write them."""
    members: dict[str, bytes] = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}'}
    members[f"blobs/sha256/{digest(config)[7:]}"] = config
    layer_descs = []
    for layer in layers:
        blob = gzip.compress(layer) if gzip_layers else layer
        members[f"blobs/sha256/{digest(blob)[7:]}"] = blob
        media = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if gzip_layers else "")
        layer_descs.append({"mediaType": media, "digest": digest(blob), "size": len(blob)})
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config),
                       "size": len(config)},
            "layers": layer_descs,
        }
    ).encode()
    members[f"blobs/sha256/{digest(manifest)[7:]}"] = manifest
    mdesc: dict[str, Any] = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest(manifest),
                             "size": len(manifest)}
    if nested:
        arm = {**mdesc, "digest": "sha256:" + "0" * 64, "platform": {"os": "linux", "architecture": "s390x"}}
        inner = json.dumps(
            {"schemaVersion": 2, "manifests": [arm, {**mdesc, "platform": {"os": "linux", "architecture": "amd64"}}]}
        ).encode()
        members[f"blobs/sha256/{digest(inner)[7:]}"] = inner
        mdesc = {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest(inner), "size": len(inner)}
    index = {
        "schemaVersion": 2,
        "manifests": [{**mdesc, "annotations": {"io.containerd.image.name": n}} for n in names] or [mdesc],
    }
    members["index.json"] = json.dumps(index).encode()
    return tar_bytes([file(name, data) for name, data in members.items()])


def new_store(root: Path, ops: FsOps | None = None) -> ImageStore:
    return ImageStore(root, ops if ops is not None else RecordingFsOps())


def add_image(
    store: ImageStore,
    layers: list[bytes],
    tags: list[str] | None = None,
    parent: str = "",
    created: str = "2024-01-02T03:04:05Z",
    labels: dict[str, str] | None = None,
) -> str:
    """Register an image directly in the store (layers, config, tags); returns its ID."""
    config = make_config(layers, created=created, labels=labels)
    chains = chain_ids([digest(layer) for layer in layers])
    with store.pinned(chains):
        below = ""
        for layer, chain in zip(layers, chains, strict=True):
            with store.blobs.temp_path(".tar") as path:
                path.write_bytes(layer)
                store.layers.register(path, digest(layer), below)
            below = chain
        image_id = store.create(config, parent=parent)
    for tag in tags or []:
        store.add_reference(parse_normalized_named(tag), image_id, touch="2024-05-06T07:08:09Z")
    return image_id


def busybox_like_layer(extra: bytes = b"") -> bytes:
    """A small fake root filesystem: bin/busybox plus applet symlinks, etc/passwd."""
    return tar_bytes(
        [
            directory("bin"),
            file("bin/busybox", b"\x7fELF fake busybox" + extra, mode=0o755),
            symlink("bin/sh", "busybox"),
            symlink("bin/ls", "busybox"),
            directory("etc"),
            file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"),
            directory("tmp", mode=0o1777),
        ]
    )


def test_builders_make_a_loadable_store(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    image_id = add_image(store, [busybox_like_layer()], tags=["busybox"])
    assert store.get("busybox").id == image_id
    assert image_id == digest(make_config([busybox_like_layer()], created="2024-01-02T03:04:05Z"))
