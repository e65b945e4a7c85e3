"""The layer store: every layer unpacked once, into its own directory, shared by all images.

Layout (under <image root>/layers):

    <chain hex>/diff/          the unpacked layer, an overlayfs lower dir (never written after)
    <chain hex>/layer.json     {chain_id, diff_id, parent, size, tar_size}
    <chain hex>/tar-split.gz   what is needed to rebuild the exact layer tar (tarsplit.py)
    .tmp-<random>/             a layer being unpacked; renamed to <chain hex> when complete
    .del-<random>/             a layer being removed

A layer is identified by its chain ID (its diff ID plus everything below it), as in Docker.
Registration unpacks into .tmp-*, writes the metadata last and renames the directory into
place, so a crash never leaves a half-unpacked layer under a chain name; leftovers of either
kind are removed at start-up. Which layers are still needed is the image store's decision.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sangja.errors import NotFound, System
from sangja.host.syncfs import syncfs
from sangja.image import tarsplit
from sangja.image.fsops import FsOps, HostFsOps
from sangja.image.fsutil import fsync_dir, fsync_file, read_json, remove_tree
from sangja.image.ids import hex_of, is_sha256_digest, sha256_digest
from sangja.image.unpack import GrowingTar, unpack_layer

DIFF = "diff"
META = "layer.json"
TAR_INDEX = "tar-split.gz"


@dataclass(frozen=True)
class Layer:
    chain_id: str
    diff_id: str
    parent: str        # chain ID of the layer below, "" for a base layer
    size: int          # bytes of file content in this layer alone (Docker's DiffSize)
    tar_size: int      # bytes of the uncompressed layer tar


@dataclass(frozen=True)
class PreparedLayer:
    layer: Layer
    dir: Path          # the .tmp-* directory holding it until commit


def chain_of(parent_chain: str, diff_id: str) -> str:
    return diff_id if not parent_chain else sha256_digest(f"{parent_chain} {diff_id}".encode())


def content_size(root: Path) -> int:
    """Bytes under `root` as moby's directory.Size counts them: the size of every non-directory
    (regular files, and symlinks by the length of their target), each inode once."""
    seen: set[tuple[int, int]] = set()
    total = 0
    stack = [str(root)]
    while stack:
        with os.scandir(stack.pop()) as it:
            for entry in it:
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    stack.append(entry.path)
                elif st.st_size > 0 and (st.st_dev, st.st_ino) not in seen:
                    seen.add((st.st_dev, st.st_ino))
                    total += st.st_size
    return total


class LayerStore:
    def __init__(self, root: Path, ops: FsOps | None = None) -> None:
        self.root = root
        self.ops: FsOps = ops if ops is not None else HostFsOps()
        self.root.mkdir(parents=True, exist_ok=True)
        self._cache: dict[str, Layer] = {}

    def cleanup(self) -> None:
        """Remove half-registered and half-removed layers (start-up, nothing in flight)."""
        for entry in self.root.iterdir():
            if entry.name.startswith((".tmp-", ".del-")):
                remove_tree(entry)
            elif not entry.name.startswith("."):
                # Temp files of writes into a registered layer's own directory, e.g. the gzip
                # blob a push was compressing (.dist-blob.<random>.tmp) or an atomic metadata
                # write (.<name>.<random>.tmp): never part of a layer, only left by a crash.
                with contextlib.suppress(NotADirectoryError, FileNotFoundError):
                    for name in os.listdir(entry):
                        if name.startswith(".") and name.endswith(".tmp"):
                            remove_tree(entry / name)

    def dir(self, chain_id: str) -> Path:
        if not is_sha256_digest(chain_id):
            raise System(f"invalid layer chain ID {chain_id!r}")
        return self.root / hex_of(chain_id)

    def diff_dir(self, chain_id: str) -> Path:
        return self.dir(chain_id) / DIFF

    def exists(self, chain_id: str) -> bool:
        return chain_id in self._cache or (self.dir(chain_id) / META).is_file()

    def get(self, chain_id: str) -> Layer:
        layer = self._cache.get(chain_id)
        if layer is not None:
            return layer
        try:
            meta: dict[str, Any] = read_json(self.dir(chain_id) / META)
        except FileNotFoundError:
            raise NotFound(f"layer does not exist: {chain_id}") from None
        layer = Layer(
            chain_id=chain_id,
            diff_id=str(meta["diff_id"]),
            parent=str(meta.get("parent", "")),
            size=int(meta["size"]),
            tar_size=int(meta["tar_size"]),
        )
        self._cache[chain_id] = layer
        return layer

    def chain_ids(self) -> list[str]:
        out = []
        for entry in self.root.iterdir():
            if not entry.name.startswith(".") and (entry / META).is_file():
                out.append("sha256:" + entry.name)
        return out

    def register(self, tar_path: Path, diff_id: str, parent_chain: str = "") -> Layer:
        """Unpack the uncompressed tar at `tar_path` (whose digest the caller verified to be
        `diff_id`) as the layer above `parent_chain`. Idempotent: an existing layer is reused.

        Raises InvalidParameter for a tar that is corrupt or tries to escape the layer."""
        chain_id = chain_of(parent_chain, diff_id)
        if self.exists(chain_id):
            return self.get(chain_id)
        # No syncfs here: the callers' tars (load, import, commit, build) are still on disk, and
        # it would write them out too. Only the metadata is made durable, as it always was.
        prepared = self.prepare(tar_path, diff_id, parent_chain, sync=False)
        try:
            fsync_file(prepared.dir / META)
            fsync_dir(prepared.dir)
        except BaseException:
            self.discard(prepared)
            raise
        return self.commit(prepared)

    def prepare(self, tar_path: Path, diff_id: str, parent_chain: str = "", *, sync: bool = True,
                growing: GrowingTar | None = None, writeback: bool = True) -> PreparedLayer:
        """Unpack and describe a layer in a .tmp-* directory, not yet visible under its chain
        name: `commit` publishes it, `discard` drops it. Layers of one image can be prepared
        concurrently, in any order, and committed bottom first.

        The directory is made durable with one syncfs for all its files (content, tar index,
        metadata), so a crash, even of the machine, never leaves a layer that looks complete
        but is not. With sync=False the caller adds files of its own and calls syncfs itself
        before the commit. With `growing`, the tar is unpacked while it is being written;
        `writeback=False`: see unpack_layer."""
        chain_id = chain_of(parent_chain, diff_id)
        tmp = self.root / f".tmp-{uuid.uuid4().hex}"
        try:
            tmp.mkdir()
            diff = tmp / DIFF
            diff.mkdir()
            os.chmod(diff, 0o755)
            refs = unpack_layer(tar_path, diff, self.ops, growing, writeback=writeback)
            tar_size = tarsplit.write_index(tar_path, refs, tmp / TAR_INDEX)
            layer = Layer(chain_id, diff_id, parent_chain, content_size(diff), tar_size)
            self._write_meta(tmp, layer)
            if sync:
                syncfs(tmp)
        except BaseException:
            remove_tree(tmp)
            raise
        return PreparedLayer(layer, tmp)

    @staticmethod
    def _write_meta(tmp: Path, layer: Layer) -> None:
        (tmp / META).write_text(json.dumps({
            "chain_id": layer.chain_id,
            "diff_id": layer.diff_id,
            "parent": layer.parent,
            "size": layer.size,
            "tar_size": layer.tar_size,
        }, sort_keys=True))

    def commit(self, prepared: PreparedLayer) -> Layer:
        """Publish a prepared layer under its chain name (an existing one wins)."""
        layer, tmp = prepared.layer, prepared.dir
        try:
            target = self.dir(layer.chain_id)
            try:
                os.rename(tmp, target)
            except OSError:
                if not (target / META).is_file():
                    raise
                # Registered meanwhile by a concurrent load of the same layer: use that one.
                remove_tree(tmp)
                return self.get(layer.chain_id)
            fsync_dir(self.root)
        except BaseException:
            remove_tree(tmp)
            raise
        self._cache[layer.chain_id] = layer
        return layer

    @staticmethod
    def discard(prepared: PreparedLayer) -> None:
        remove_tree(prepared.dir)

    def detach(self, chain_id: str) -> Path | None:
        """Make a layer vanish atomically under its chain name (rename to a .del-* directory)
        and return that directory for the caller to delete, or None when it was not there."""
        self._cache.pop(chain_id, None)
        trash = self.root / f".del-{uuid.uuid4().hex}"
        try:
            os.rename(self.dir(chain_id), trash)
        except FileNotFoundError:
            return None
        with contextlib.suppress(OSError):
            fsync_dir(self.root)
        return trash

    def remove(self, chain_id: str) -> None:
        trash = self.detach(chain_id)
        if trash is not None:
            remove_tree(trash)

    def tar_reader(self, chain_id: str) -> tarsplit.VerifiedTarReader:
        """A reader of the layer's original tar (exactly `get(chain_id).tar_size` bytes)."""
        layer = self.get(chain_id)
        d = self.dir(chain_id)
        return tarsplit.VerifiedTarReader(tarsplit.iter_tar(d / TAR_INDEX, d / DIFF), layer.tar_size, layer.diff_id)
