"""Pulled layers published before their unpacked files are on disk, and made whole after a crash.

A pulled gzip layer keeps its blob (distribution/layerblobs.py): the blob, the layer's tar
index and metadata are fsynced before the layer is published, so the layer can always be
unpacked again from what is durable. Its unpacked files (diff/) are then a cache of the blob,
and the pull does not wait for the disk to write them: that flush was 30-35% of a cold pull
(docs/benchmarks.md). Instead:

    seal(tmp_dir)            before commit: fsync everything but diff/, plus an `unflushed`
                             marker holding this boot's id
    settle_soon(store, ids)  after the pull: one syncfs in a background thread, then the
                             markers go
    recover(store)           at daemon start: a marker from this boot (sangjad restarted, the
                             page cache still holds the files) only needs the syncfs; one from an
                             earlier boot (the machine went down before the flush) means diff/
                             may be incomplete, so it is unpacked again from the blob and
                             checked against the layer's diff ID (a layer that can't be is
                             removed: the next pull of its image fetches it again).

Layers without a kept blob (zstd, uncompressed) are flushed before commit as before.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import uuid
from collections.abc import Iterable
from pathlib import Path

from sangja.distribution import layerblobs
from sangja.errors import SangjaError, System
from sangja.host.proc import boot_id
from sangja.host.syncfs import syncfs
from sangja.image.compression import inflate_to
from sangja.image.fsutil import fsync_dir, fsync_file, remove_tree
from sangja.image.layers import DIFF, META, TAR_INDEX, LayerStore
from sangja.image.store import ImageStore

log = logging.getLogger(__name__)

MARKER = "unflushed"


def seal(layer_dir: Path) -> None:
    """Make a prepared layer's blob, index and metadata durable, and mark its files unflushed."""
    marker = layer_dir / MARKER
    marker.write_text(boot_id() + "\n")
    for name in (layerblobs.BLOB, layerblobs.META, TAR_INDEX, META, MARKER):
        fsync_file(layer_dir / name)
    fsync_dir(layer_dir)


def settle(layers: LayerStore, chain_ids: Iterable[str]) -> None:
    """Flush the layers' files to disk, then drop their markers."""
    syncfs(layers.root)
    for chain_id in chain_ids:
        with contextlib.suppress(FileNotFoundError):  # removed meanwhile (rmi)
            (layers.dir(chain_id) / MARKER).unlink()


def settle_soon(layers: LayerStore, chain_ids: list[str]) -> None:
    """settle() in a thread of its own: a daemon stopped before it ends leaves the markers to
    recover() (the same boot: a syncfs again)."""
    def run() -> None:
        try:
            settle(layers, chain_ids)
        except OSError as exc:
            log.warning("flushing pulled layers failed (retried at the next start): %s", exc)

    threading.Thread(target=run, name="sangja-layer-flush", daemon=True).start()


def unflushed(layers: LayerStore) -> dict[str, str]:
    """{chain ID: boot id in its marker} of every published layer with a marker."""
    found = {}
    for chain_id in layers.chain_ids():
        with contextlib.suppress(FileNotFoundError):
            found[chain_id] = (layers.dir(chain_id) / MARKER).read_text().strip()
    return found


def recover(store: ImageStore) -> None:
    """At start-up, before any container runs: see the module docstring."""
    marked = unflushed(store.layers)
    if not marked:
        return
    now = boot_id()
    for chain_id, booted in marked.items():
        if booted != now:
            log.warning("layer %s was not on disk when the machine went down: unpacking it again", chain_id)
            try:
                rebuild(store, chain_id)
            except (OSError, SangjaError) as exc:
                # Not to be used as it is: without it, the next pull of an image that has it
                # downloads and unpacks it again (a pull skips only the layers it finds).
                log.error("layer %s could not be rebuilt, removed (pull its image again): %s", chain_id, exc)
                store.layers.remove(chain_id)
    settle(store.layers, [c for c, booted in marked.items() if booted == now])


def rebuild(store: ImageStore, chain_id: str) -> None:
    """Unpack a layer's kept blob again into its diff/, checked against its diff ID."""
    layers = store.layers
    layer = layers.get(chain_id)
    d = layers.dir(chain_id)
    kept = layerblobs.get(store, chain_id)
    if kept is None:
        raise System(f"layer {chain_id} has no kept blob to rebuild it from")
    with store.blobs.temp_path(".tar") as tar:
        with kept.path.open("rb") as f:
            inflated = inflate_to(f, tar)
        if inflated.blob_digest != kept.digest or inflated.diff_id != layer.diff_id:
            raise System(f"the kept blob of layer {chain_id} does not match it")
        prepared = layers.prepare(tar, layer.diff_id, layer.parent)  # durable: one syncfs
    trash = layers.root / f".del-{uuid.uuid4().hex}"
    try:
        if (d / DIFF).exists():
            os.rename(d / DIFF, trash)
        os.rename(prepared.dir / DIFF, d / DIFF)
        fsync_dir(d)
        (d / MARKER).unlink()
        fsync_dir(d)
    finally:
        layers.discard(prepared)
        remove_tree(trash)
