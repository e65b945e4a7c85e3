"""`docker import`: a root filesystem tar becomes a one-layer image (moby's ImportImage).

    opts = prepare_import(src="-", repo="busybox", tag="", message="", changes=[...], platform="")
    image_id = import_image(store, sink, body_path, opts)

`prepare_import` validates everything that does not need the body, so a bad request is
refused before the upload is read. The body (already spooled to a file by the API layer) may be
gzip/bzip2/xz compressed. The image config has the host's architecture (or `platform`), the
changes applied to an empty container config, and one history entry "Imported from -".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sangja.daemon.image_events import ImageEventSink, emit_image_event
from sangja.errors import InvalidParameter, NotImplementedYet
from sangja.image import platform as platforms
from sangja.image.changes import apply_changes, empty_container_config
from sangja.image.compression import inflate_to
from sangja.image.reference import Reference, repo_tag_reference
from sangja.image.store import ImageStore
from sangja.image.timeutil import now


@dataclass(frozen=True)
class ImportOptions:
    ref: Reference | None
    comment: str
    config: dict[str, Any]            # the container config, changes applied
    platform: platforms.Platform
    changes: list[str] = field(default_factory=list)


def prepare_import(
    src: str, repo: str, tag: str, message: str, changes: list[str], platform: str = ""
) -> ImportOptions:
    """Validate an import request. Raises InvalidParameter (or NotImplementedYet for a URL)."""
    ref = repo_tag_reference(repo, tag)
    if src != "-":
        if not src:
            raise InvalidParameter("fromSrc is required to import an image: use fromSrc=- and send the tar as the body")
        raise NotImplementedYet(
            f"importing from a URL ({src}) is not supported by sangja: download the file and import it from stdin"
        )
    plat = platforms.parse(platform) if platform else platforms.host()
    if plat.os != "linux":
        raise InvalidParameter(f'image operating system "{plat.os}" cannot be used on this platform')
    config = apply_changes(empty_container_config(), changes)
    return ImportOptions(ref, message or f"Imported from {src}", config, plat, list(changes))


def build_config(opts: ImportOptions, diff_id: str) -> bytes:
    """The image config JSON, with top-level keys sorted as dockerd writes them."""
    created = now().rfc3339_nano()
    fields: dict[str, Any] = {
        "architecture": opts.platform.architecture,
        "comment": opts.comment,
        "config": opts.config,
        "container_config": empty_container_config(),
        "created": created,
        "history": [{"created": created, "comment": opts.comment}],
        "os": opts.platform.os,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }
    if opts.platform.variant:
        fields["variant"] = opts.platform.variant
    ordered = {k: fields[k] for k in sorted(fields)}
    return json.dumps(ordered, separators=(",", ":")).encode()


def import_image(store: ImageStore, sink: ImageEventSink, body: Path, opts: ImportOptions) -> str:
    """Register the tar at `body` as a new image; tag it when a repo was given. Returns the ID.

    InvalidParameter for a corrupt or escaping tar; nothing is stored then."""
    with store.blobs.temp_path(".tar") as layer_tar:
        with body.open("rb") as src:
            inflated = inflate_to(src, layer_tar)
        with store.pinned([inflated.diff_id]):
            store.layers.register(layer_tar, inflated.diff_id)
            image_id = store.create(build_config(opts, inflated.diff_id))
    if opts.ref is not None:
        store.add_reference(opts.ref, image_id, force=True, touch=now().rfc3339_nano())
        emit_image_event(sink, store, "tag", image_id, opts.ref.familiar())
    emit_image_event(sink, store, "import", image_id, image_id)
    return image_id
