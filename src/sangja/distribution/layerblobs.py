"""The compressed form of each layer, kept beside the unpacked layer for pushes.

    <layer dir>/dist-blob        the gzip blob exactly as pulled or as first compressed for a push
    <layer dir>/dist-blob.json   {"digest", "size", "media_type", "repos": ["domain/path", ...]}

Kept inside the layer's own directory, the blob lives and dies with the layer: removing the
layer removes it, so nothing leaks. It is written after the layer is registered, through a
temp file and a rename (blob first, then the JSON), so a crash leaves either a complete pair or
no JSON, and a blob without its JSON is ignored and replaced. "repos" lists the repositories the
blob is known to exist in, for cross-repository mounts when pushing.

Compression uses python-isal's gzip (ISA-L): ~10x faster than zlib at level 6 for a slightly
larger blob; the blob is made once per layer and reused by every later push.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sangja.distribution.manifest import DOCKER_LAYER
from sangja.image.fsutil import atomic_write_json, read_json
from sangja.image.store import ImageStore

BLOB = "dist-blob"
META = "dist-blob.json"
CHUNK = 1 << 20
_lock = threading.Lock()


@dataclass
class LayerBlob:
    digest: str
    size: int
    media_type: str
    repos: list[str] = field(default_factory=list)
    path: Path = Path()


def get(store: ImageStore, chain_id: str) -> LayerBlob | None:
    d = store.layers.dir(chain_id)
    try:
        meta = read_json(d / META)
        blob = LayerBlob(str(meta["digest"]), int(meta["size"]), str(meta["media_type"]),
                         [str(r) for r in meta.get("repos", [])], d / BLOB)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return blob if blob.path.is_file() else None


def _write_meta(d: Path, b: LayerBlob) -> None:
    atomic_write_json(d / META, {"digest": b.digest, "size": b.size, "media_type": b.media_type, "repos": b.repos})


def keep(store: ImageStore, chain_id: str, src: Path, digest: str, size: int, media_type: str, repo: str) -> None:
    """Move the verified blob file `src` beside the layer (when it has none yet) and note `repo`."""
    d = store.layers.dir(chain_id)
    with _lock:
        if not d.is_dir():
            return
        current = get(store, chain_id)
        if current is None:
            os.rename(src, d / BLOB)
            _write_meta(d, LayerBlob(digest, size, media_type, [repo]))
        elif current.digest == digest and repo not in current.repos:
            current.repos.append(repo)
            _write_meta(d, current)


def place(layer_dir: Path, src: Path, digest: str, size: int, media_type: str, repo: str) -> None:
    """Move the verified blob `src` into a layer directory that is prepared but not yet committed
    (image/layers.py). Nothing else can see that directory, so no lock and no fsync: the caller
    makes the whole directory durable (syncfs) before committing it."""
    os.rename(src, layer_dir / BLOB)
    (layer_dir / META).write_text(json.dumps({"digest": digest, "size": size, "media_type": media_type,
                                              "repos": [repo]}, sort_keys=True))


def note_repo(store: ImageStore, chain_id: str, repo: str) -> None:
    with _lock:
        current = get(store, chain_id)
        if current is not None and repo not in current.repos:
            current.repos.append(repo)
            _write_meta(store.layers.dir(chain_id), current)


def ensure(store: ImageStore, chain_id: str) -> LayerBlob:
    """The layer's compressed blob, compressing the layer tar once if there is none yet."""
    found = get(store, chain_id)
    if found is not None:
        return found
    d = store.layers.dir(chain_id)
    tmp = d / f".{BLOB}.{uuid.uuid4().hex}.tmp"
    h = hashlib.sha256()
    size = 0
    try:
        from isal import isal_zlib  # here: a daemon that never pushes does not carry ISA-L (~0.6 MiB)

        # wbits 31: a gzip stream (header with mtime 0, like Docker's compressed layers).
        z = isal_zlib.compressobj(1, isal_zlib.DEFLATED, 31)
        reader = store.layers.tar_reader(chain_id)
        with tmp.open("wb") as out:
            while True:
                chunk = reader.read(CHUNK)
                data = z.compress(chunk) if chunk else z.flush()
                h.update(data)
                size += len(data)
                out.write(data)
                if not chunk:
                    break
            out.flush()
            os.fsync(out.fileno())
        blob = LayerBlob("sha256:" + h.hexdigest(), size, DOCKER_LAYER, [], d / BLOB)
        with _lock:
            current = get(store, chain_id)
            if current is not None:
                return current
            os.rename(tmp, d / BLOB)
            _write_meta(d, blob)
        return blob
    finally:
        tmp.unlink(missing_ok=True)
