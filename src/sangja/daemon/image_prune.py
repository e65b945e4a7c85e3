"""`docker image prune` (POST /images/prune), following moby's ImagePrune.

dangling=true (the default): untagged images without children; dangling=false (`-a`): every
image no container uses. `until` and `label`/`label!` narrow the set. Images that cannot be
deleted (in use, conflicts) are skipped silently. Returns the ImagePruneResponse body.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sangja.daemon.image_delete import Records, delete_image
from sangja.daemon.image_events import ImageEventSink
from sangja.daemon.image_usage import ImageUsage
from sangja.errors import Conflict, InvalidParameter, NotFound
from sangja.image import filters as flt
from sangja.image.ids import hex_of
from sangja.image.store import ImageStore
from sangja.image.timeutil import parse_filter_time

log = logging.getLogger(__name__)

ACCEPTED_FILTERS = ("dangling", "label", "label!", "until")
_running = threading.Lock()


def _until(filters: flt.Filters) -> int | None:
    values = filters.get("until") or []
    if not values:
        return None
    if len(values) > 1:
        raise InvalidParameter("more than one until filter specified")
    try:
        return parse_filter_time(values[0]).unix_nanos
    except InvalidParameter as exc:
        raise InvalidParameter(f"invalid value for 'until' filter: {exc.message}") from None


def _labels_match(filters: flt.Filters, labels: dict[str, str]) -> bool:
    if not flt.match_kv_list(filters, "label", labels):
        return False
    return not ("label!" in filters and flt.match_kv_list(filters, "label!", labels))


def prune_images(store: ImageStore, sink: ImageEventSink, usage: ImageUsage, filters: flt.Filters) -> dict[str, Any]:
    if not _running.acquire(blocking=False):
        raise Conflict("a prune operation is already running")
    try:
        flt.validate(filters, ACCEPTED_FILTERS)
        dangling_only = flt.get_bool(filters, "dangling", True)
        until = _until(filters)
        deleted: Records = []
        with store.lock:
            sizes = {c: store.layer(c).size for c in store.layers.chain_ids()}
            ids = store.ids()
            parents = {store.parent(i) for i in ids}
            candidates = [i for i in ids if i not in parents] if dangling_only else ids
            chosen = []
            for image_id in candidates:
                if not store.references(image_id) and store.children(image_id):
                    continue
                created = store.created(image_id)
                if until is not None and (created is None or created.unix_nanos > until):
                    continue
                labels = store.get(image_id).container_config.get("Labels") or {}
                if not _labels_match(filters, labels):
                    continue
                chosen.append(image_id)
            for image_id in chosen:
                if not store.exists(image_id):
                    continue  # already deleted as the parent of an earlier one
                refs = store.references(image_id)
                if refs:
                    if dangling_only and any(r.tag for r in refs):
                        continue
                    targets = [str(r) for r in refs]
                else:
                    targets = [hex_of(image_id)]
                for target in targets:
                    try:
                        deleted += delete_image(store, sink, usage, target, force=False, prune=True)
                    except (Conflict, NotFound):
                        continue
                    except InvalidParameter as exc:
                        log.warning("failed to prune image %s: %s", target, exc)
        store.empty_trash()
        reclaimed = sum(sizes.get(r.get("Deleted", ""), 0) for r in deleted)
        sink.emit("prune", "", {"reclaimed": str(reclaimed)})
        return {"ImagesDeleted": deleted, "SpaceReclaimed": reclaimed}
    finally:
        _running.release()
