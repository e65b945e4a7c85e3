"""`docker load`: register the images of a `docker save` archive or an OCI image layout.

    load_images(store, sink, tar_path, out, quiet)

`out` receives the JSON messages dockerd streams: "Loading layer" progress (unless quiet),
{"stream": "Loaded image: busybox:latest\\n"} per tag, or "Loaded image ID: sha256:…" lines when
the images carry no tags. Each layer is checked against the config's diff IDs (and, for OCI
blobs, against its descriptor digest) before it is unpacked; a layer already in the store is
not read at all. Any error raises (InvalidParameter for a bad archive) and leaves no
half-registered image: images completed before the error stay, as with dockerd.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from sangja.daemon.image_events import ImageEventSink, emit_image_event
from sangja.errors import InvalidParameter
from sangja.image.archive import ArchiveReader, LoadItem, load_plan, parse_repo_tag
from sangja.image.compression import detect, inflate_to
from sangja.image.ids import chain_ids, sha256_digest, short_id
from sangja.image.store import ImageStore, diff_ids_of, validate_config

Emit = Callable[[dict[str, Any]], None]
PROGRESS_EVERY = 512 * 1024


def human_size(size: float) -> str:
    """go-units HumanSize: decimal units, 4 significant digits ("1.235MB")."""
    units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    i = 0
    while size >= 1000 and i < len(units) - 1:
        size /= 1000
        i += 1
    return f"{size:.4g}{units[i]}"


def progress_message(action: str, ident: str, current: int, total: int) -> dict[str, Any]:
    percent = min(int(current / total * 100) // 2, 50) if total > 0 else 0
    bar = f"[{'=' * percent}>{' ' * (50 - percent)}] " if total > 0 else ""
    numbers = f"{human_size(current):>8}/{human_size(total)}" if total > 0 else f"{human_size(current):>8}"
    return {
        "status": action,
        "progressDetail": {"current": current, "total": total},
        "progress": bar + numbers,
        "id": ident,
    }


class ProgressReader:
    """Counts the bytes read from `src`, reporting `action` every PROGRESS_EVERY bytes and at the
    end; not while `quiet()` says so (a pull's "Extracting" waits for its download to end)."""

    def __init__(self, src: IO[bytes], total: int, ident: str, emit: Emit, action: str = "Loading layer",
                 quiet: Callable[[], bool] | None = None) -> None:
        self._src = src
        self._total = total
        self._ident = ident
        self._emit = emit
        self._action = action
        self._quiet = quiet
        self._current = 0
        self._reported = 0

    def read(self, n: int = -1) -> bytes:
        data = self._src.read(n)
        self._current += len(data)
        if self._quiet is not None and self._quiet():
            return data
        due = not data or self._current - self._reported >= PROGRESS_EVERY or self._current >= self._total
        if due and self._current != self._reported:
            self._emit(progress_message(self._action, self._ident, self._current, self._total))
            self._reported = self._current
        return data


def load_images(store: ImageStore, sink: ImageEventSink, tar_path: Path, out: Emit, quiet: bool) -> list[str]:
    """Load every image of the archive at `tar_path`; returns their IDs in archive order."""
    with tar_path.open("rb") as f:
        compressed = detect(f.read(8)) != "none"
    with store.blobs.temp_path(".tar") as plain:
        if compressed:
            with tar_path.open("rb") as src:
                inflate_to(src, plain)
        with ArchiveReader(plain if compressed else tar_path) as archive:
            return _load(store, sink, archive, out, quiet)


def _load(store: ImageStore, sink: ImageEventSink, archive: ArchiveReader, out: Emit, quiet: bool) -> list[str]:
    loaded: list[tuple[str, str]] = []          # (image ID, parent named by the archive)
    id_lines: list[str] = []
    ref_count = 0
    for item in load_plan(archive):
        image_id = _load_one(store, archive, item, out, quiet)
        id_lines.append(f"Loaded image ID: {image_id}\n")
        ref_count = 0
        for repo_tag in item.repo_tags:
            ref = parse_repo_tag(repo_tag)
            previous = store.lookup_reference(ref)
            if previous is not None and previous != image_id:
                out(
                    {
                        "stream": f"The image {ref.familiar()} already exists, renaming the old one with ID "
                        f"{previous} to empty string\n"
                    }
                )
            store.add_reference(ref, image_id, force=True)
            out({"stream": f"Loaded image: {ref.familiar()}\n"})
            ref_count += 1
        loaded.append((image_id, item.parent))
        emit_image_event(sink, store, "load", image_id, image_id)
    ids = {image_id for image_id, _ in loaded}
    for image_id, parent in loaded:
        if parent and parent != image_id and parent in ids:
            store.set_parent(image_id, parent)
    if ref_count == 0:
        # dockerd's rule: the ID lines are printed when the *last* image had no tags.
        for line in id_lines:
            out({"stream": line})
    return [image_id for image_id, _ in loaded]


def _load_one(store: ImageStore, archive: ArchiveReader, item: LoadItem, out: Emit, quiet: bool) -> str:
    config = archive.read_bytes(item.config_path)
    if item.config_digest and sha256_digest(config) != item.config_digest:
        raise InvalidParameter(f"invalid archive: config {item.config_path} does not match its digest")
    try:
        os_name = json.loads(config).get("os") or "linux"
    except (ValueError, AttributeError):
        os_name = "linux"
    if os_name != "linux":
        raise InvalidParameter(f"cannot load {os_name} image on linux")
    diff_ids = diff_ids_of(validate_config(config))
    if len(item.layers) != len(diff_ids):
        raise InvalidParameter(
            f"invalid manifest, layers length mismatch: expected {len(item.layers)}, got {len(diff_ids)}"
        )
    chains = chain_ids(diff_ids)
    with store.pinned(chains):
        parent = ""
        for i, (layer, diff_id, chain) in enumerate(zip(item.layers, diff_ids, chains, strict=True)):
            if not store.layers.exists(chain):
                with store.blobs.temp_path(".tar") as layer_tar:
                    with archive.open(layer.path) as member:
                        src: Any = member
                        if not quiet:
                            src = ProgressReader(member, archive.size(layer.path), short_id(diff_id), out)
                        inflated = inflate_to(src, layer_tar)
                    if layer.blob_digest and inflated.blob_digest != layer.blob_digest:
                        raise InvalidParameter(
                            f"invalid archive: layer {layer.path} has digest {inflated.blob_digest}, "
                            f"expected {layer.blob_digest}"
                        )
                    if inflated.diff_id != diff_id:
                        raise InvalidParameter(
                            f'invalid diffID for layer {i}: expected "{diff_id}", got "{inflated.diff_id}"'
                        )
                    store.layers.register(layer_tar, diff_id, parent)
            parent = chain
        return store.create(config)
