"""The image store: image records over the blob store, the layer store and the tag index.

On disk, under <data-root>/image:

    blobs/sha256/<hex>       image configs (the image ID is the sha256 of these bytes)
    layers/<chain hex>/      unpacked layers (layers.py)
    images/<id hex>.json     per-image metadata: {"parent": "sha256:…"|"", "last_tag_time": "…"}
    retained/<id hex>.json   a deleted image whose layers containers still use: {"layers": [...]}
    repositories.json        the tag index (tags.py)
    ingest/                  temporary files

Registration order is layers → config blob → images/<id>.json → tags, each step atomic, so
after a kill -9 at any moment an image is either fully listed or absent (at worst present
but untagged). Start-up drops leftovers: temp files, half-made layers, layers no image or
retained record needs, and references to images that are gone.

Lifecycle of layers: a layer lives while an image, a retained record or an in-flight
operation ("pin") needs it. Pins are taken *before* a layer is looked up or registered, so
a concurrent delete never removes a layer a load is about to use.

Thread safety: every method may be called from any thread; `lock` (reentrant) serialises
metadata changes, and verbs that need several steps to be atomic hold it themselves.
Blocking I/O throughout: call it from a worker thread, not the event loop.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sangja.errors import InvalidParameter, NotFound
from sangja.image.blobs import BlobStore
from sangja.image.fsops import FsOps
from sangja.image.fsutil import atomic_write_json, read_json, remove_tree
from sangja.image.ids import chain_ids, hex_of, image_id, is_sha256_digest, search_ids
from sangja.image.layers import Layer, LayerStore
from sangja.image.reference import Reference, parse_any_reference
from sangja.image.tags import TagIndex
from sangja.image.timeutil import Timestamp, parse_rfc3339
from sangja.image.types import Image

log = logging.getLogger(__name__)


def validate_config(raw: bytes) -> dict[str, Any]:
    """Parse an image config and check what the store relies on (moby's NewFromJSON + Create)."""
    try:
        config = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidParameter(f"invalid image config: {exc}") from None
    if not isinstance(config, dict):
        raise InvalidParameter("invalid image config: not a JSON object")
    rootfs = config.get("rootfs")
    if not isinstance(rootfs, dict):
        raise InvalidParameter("invalid image JSON, no RootFS key")
    diff_ids = rootfs.get("diff_ids") or []
    if not isinstance(diff_ids, list) or not all(isinstance(d, str) and is_sha256_digest(d) for d in diff_ids):
        raise InvalidParameter("invalid image config: rootfs.diff_ids must be a list of sha256 digests")
    os_name = config.get("os") or "linux"
    if os_name != "linux":
        raise InvalidParameter(f'image operating system "{os_name}" cannot be used on this platform')
    history = config.get("history") or []
    if isinstance(history, list):
        non_empty = sum(1 for h in history if isinstance(h, dict) and not h.get("empty_layer"))
        if non_empty > len(diff_ids):
            raise InvalidParameter("too many non-empty layers in History section")
    return config


def diff_ids_of(config: dict[str, Any]) -> list[str]:
    return list((config.get("rootfs") or {}).get("diff_ids") or [])


@dataclass
class _Record:
    id: str
    config: dict[str, Any]
    chains: list[str]          # chain IDs, bottom layer first
    parent: str = ""
    last_tag_time: str = ""

    @property
    def created(self) -> Timestamp | None:
        value = self.config.get("created")
        return parse_rfc3339(value) if isinstance(value, str) else None


class ImageStore:
    def __init__(self, root: Path, fs_ops: FsOps | None = None) -> None:
        self.root = root
        self.blobs = BlobStore(root)
        self.layers = LayerStore(root / "layers", fs_ops)
        self._images_dir = root / "images"
        self._retained_dir = root / "retained"
        self._images_dir.mkdir(parents=True, exist_ok=True)
        self._retained_dir.mkdir(parents=True, exist_ok=True)
        self.tags = TagIndex(root / "repositories.json")
        self.lock = threading.RLock()
        self._images: dict[str, _Record] = {}
        self._retained: dict[str, list[str]] = {}
        self._pins: Counter[str] = Counter()
        self._trash: list[Path] = []
        self._recover()

    # -- start-up ---------------------------------------------------------------------------

    def _recover(self) -> None:
        self.blobs.clear_ingest()
        self.layers.cleanup()
        for directory in (self.root, self._images_dir, self._retained_dir):
            # Temporary files of atomic writes cut short: ".<name>.<random>.tmp".
            for tmp in directory.glob(".*.tmp"):
                remove_tree(tmp)
        for meta_path in self._images_dir.glob("*.json"):
            record = self._load_record("sha256:" + meta_path.stem, meta_path)
            if record is not None:
                self._images[record.id] = record
        for path in self._retained_dir.glob("*.json"):
            try:
                self._retained["sha256:" + path.stem] = list(read_json(path)["layers"])
            except (OSError, ValueError, KeyError, TypeError):
                remove_tree(path)
        self.tags.forget_images(set(self._images))
        self._collect_layers()
        self.empty_trash()

    def _load_record(self, iid: str, meta_path: Path) -> _Record | None:
        try:
            meta: dict[str, Any] = read_json(meta_path)
            config = validate_config(self.blobs.read_bytes(iid))
        except (OSError, ValueError, NotFound, InvalidParameter) as exc:
            log.warning("skipping image %s: %s", iid, exc)
            return None
        chains = chain_ids(diff_ids_of(config))
        missing = [c for c in chains if not self.layers.exists(c)]
        if missing:
            log.warning("skipping image %s: layer %s is missing", iid, missing[0])
            return None
        return _Record(iid, config, chains, str(meta.get("parent", "")), str(meta.get("last_tag_time", "")))

    # -- lookup -----------------------------------------------------------------------------

    def resolve(self, ref_or_id: str) -> str:
        """The ID of the image `ref_or_id` names, like moby's GetImage: a full digest/ID, then a
        reference (tag or digest), then an ID prefix. NotFound/InvalidParameter as Docker says."""
        parsed = parse_any_reference(ref_or_id)
        with self.lock:
            if isinstance(parsed, str):
                if parsed in self._images:
                    return parsed
                raise NotFound(f"No such image: {parsed}")
            found = self.tags.get(parsed)
            if found is not None and found in self._images:
                return found
            found = search_ids(list(self._images), ref_or_id)
            if found is not None:
                return found
        raise NotFound(f"No such image: {parsed.tag_name_only().familiar()}")

    def get(self, ref_or_id: str) -> Image:
        """The image a name[:tag], name@digest, full or short ID or "sha256:…" names."""
        with self.lock:
            return self._image(self._images[self.resolve(ref_or_id)])

    def exists(self, image_id: str) -> bool:
        with self.lock:
            return image_id in self._images

    def ids(self) -> list[str]:
        with self.lock:
            return list(self._images)

    def _image(self, r: _Record) -> Image:
        refs = self.tags.references(r.id)
        created = r.config.get("created")
        return Image(
            id=r.id,
            config=copy.deepcopy(r.config),
            repo_tags=[x.familiar() for x in refs if x.tag],
            repo_digests=[x.familiar() for x in refs if x.digest],
            created=created if isinstance(created, str) else "",
            size=self._size(r.chains),
            parent=r.parent,
        )

    def _size(self, chains: list[str]) -> int:
        # A layer can be missing only after daemon/layer_flush.py removed one it could not
        # rebuild; it counts for nothing until a pull fetches it again.
        return sum(self.layers.get(c).size for c in chains if self.layers.exists(c))

    def layer_dirs(self, image: Image) -> list[str]:
        """The image's layers as overlay lower dirs: absolute paths, top-most first; [] if none.
        NotFound if one is missing (see _size)."""
        chains = list(reversed(chain_ids(diff_ids_of(image.config))))
        for c in chains:
            if not self.layers.exists(c):
                raise NotFound(f"layer does not exist: {c} (pull the image again)")
        return [str(self.layers.diff_dir(c)) for c in chains]

    def container_image(self, image_id: str) -> Image:
        """The image a container was created from, by full ID, even when it was force-deleted
        while the container existed (its layers and config are retained for the container)."""
        with self.lock:
            if image_id in self._images:
                return self._image(self._images[image_id])
            if image_id in self._retained:
                config = validate_config(self.blobs.read_bytes(image_id))
                return Image(id=image_id, config=config, size=self._size(self._retained[image_id]))
        raise NotFound(f"No such image: {image_id}")

    def chains(self, image_id: str) -> list[str]:
        with self.lock:
            return list(self._images[image_id].chains)

    def layer(self, chain_id: str) -> Layer:
        return self.layers.get(chain_id)

    def config_bytes(self, image_id: str) -> bytes:
        return self.blobs.read_bytes(image_id)

    def created(self, image_id: str) -> Timestamp | None:
        with self.lock:
            return self._images[image_id].created

    def parent(self, image_id: str) -> str:
        with self.lock:
            return self._images[image_id].parent

    def children(self, image_id: str) -> list[str]:
        with self.lock:
            return [r.id for r in self._images.values() if r.parent == image_id]

    def last_tag_time(self, image_id: str) -> str:
        with self.lock:
            return self._images[image_id].last_tag_time

    def references(self, image_id: str) -> list[Reference]:
        with self.lock:
            return self.tags.references(image_id)

    def lookup_reference(self, ref: Reference) -> str | None:
        with self.lock:
            found = self.tags.get(ref)
            return found if found in self._images else None

    def references_by_name(self, ref: Reference) -> list[tuple[Reference, str]]:
        with self.lock:
            return [(r, i) for r, i in self.tags.by_name(ref) if i in self._images]

    # -- registration -----------------------------------------------------------------------

    @contextlib.contextmanager
    def pinned(self, chains: Iterable[str]) -> Iterator[None]:
        """Keep these layers from being collected while the block runs (take before registering)."""
        held = list(chains)
        with self.lock:
            self._pins.update(held)
        try:
            yield
        finally:
            with self.lock:
                self._pins.subtract(held)
                self._pins = +self._pins

    def create(self, config: bytes, parent: str = "") -> str:
        """Register the image whose config is `config`; its layers must be registered (and
        pinned by the caller). Returns the image ID; an existing image is left as it is."""
        cfg = validate_config(config)
        iid = image_id(config)
        chains = chain_ids(diff_ids_of(cfg))
        with self.lock:
            if iid in self._images:
                return iid
            for c in chains:
                if not self.layers.exists(c):
                    raise InvalidParameter(f"failed to get layer {c}: layer does not exist")
            self.blobs.put_bytes(config, expected=iid)
            record = _Record(iid, cfg, chains, parent if parent in self._images else "")
            self._write_meta(record)
            self._images[iid] = record
            if self._retained.pop(iid, None) is not None:
                remove_tree(self._retained_dir / f"{hex_of(iid)}.json")
        return iid

    def _write_meta(self, r: _Record) -> None:
        atomic_write_json(
            self._images_dir / f"{hex_of(r.id)}.json", {"parent": r.parent, "last_tag_time": r.last_tag_time}
        )

    def set_parent(self, image_id: str, parent: str) -> None:
        with self.lock:
            record = self._images[image_id]
            record.parent = parent
            self._write_meta(record)

    def add_reference(self, ref: Reference, image_id: str, *, force: bool = True, touch: str = "") -> str | None:
        """Point a tag (or digest reference) at an image; return the image it named before, if
        another. `touch`: an RFC 3339 time to record as the image's LastTagTime."""
        with self.lock:
            if image_id not in self._images:
                raise NotFound(f"No such image: {image_id}")
            old = self.tags.add(ref, image_id, force)
            if touch:
                record = self._images[image_id]
                record.last_tag_time = touch
                self._write_meta(record)
            return old

    def remove_reference(self, ref: Reference) -> str | None:
        """Remove a tag or digest reference; return the image it named, if any."""
        with self.lock:
            return self.tags.delete(ref)

    # -- removal ----------------------------------------------------------------------------

    def delete(self, image_id: str, *, retain_layers: bool = False) -> list[str]:
        """Remove an image record (its references must be removed first). With `retain_layers`
        its layers and config stay for containers created from it (see container_image).
        Returns the chain IDs of the layers no longer needed; they are gone from the store at
        once and their files are deleted by empty_trash()."""
        with self.lock:
            record = self._images.pop(image_id)
            for child in self._images.values():
                if child.parent == image_id:
                    child.parent = ""
                    self._write_meta(child)
            if retain_layers:
                self._retained[image_id] = record.chains
                atomic_write_json(self._retained_dir / f"{hex_of(image_id)}.json", {"layers": record.chains})
            remove_tree(self._images_dir / f"{hex_of(image_id)}.json")
            if not retain_layers:
                self.blobs.delete(image_id)
            return self._collect_layers()

    def release_retained(self, still_used: Callable[[str], bool]) -> list[str]:
        """Drop retained records of force-deleted images no container uses any more, and their
        layers. Returns the chain IDs removed."""
        with self.lock:
            for iid in [i for i in self._retained if not still_used(i)]:
                del self._retained[iid]
                remove_tree(self._retained_dir / f"{hex_of(iid)}.json")
                if iid not in self._images:
                    self.blobs.delete(iid)
            return self._collect_layers()

    def empty_trash(self) -> None:
        """Delete the directories of detached layers. Call without holding `lock`: removing a
        big tree takes time, and detached layers are invisible to everything else already."""
        with self.lock:
            trash, self._trash = self._trash, []
        for path in trash:
            remove_tree(path)

    def _collect_layers(self) -> list[str]:
        """Detach every layer nothing needs (caller holds the lock); they are queued for
        empty_trash(). Returns their chain IDs, upper layers first."""
        needed: set[str] = set(self._pins)
        for r in self._images.values():
            needed.update(r.chains)
        for chains in self._retained.values():
            needed.update(chains)
        unneeded = [c for c in self.layers.chain_ids() if c not in needed]
        # Report upper layers before the layers below them, as Docker's layer release does.
        unneeded.sort(key=self._depth, reverse=True)
        out = []
        for chain in unneeded:
            trash = self.layers.detach(chain)
            if trash is not None:
                self._trash.append(trash)
                out.append(chain)
        return out

    def _depth(self, chain: str) -> int:
        depth = 0
        try:
            parent = self.layers.get(chain).parent
            while parent and depth < 1000:
                depth += 1
                parent = self.layers.get(parent).parent
        except NotFound:
            pass
        return depth


    # Last in the class body: defined earlier, `list` would shadow the builtin in annotations.
    def list(self) -> list[Image]:
        """Every image in the store, in no particular order."""
        with self.lock:
            return [self._image(r) for r in self._images.values()]
