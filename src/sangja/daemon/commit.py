"""`docker commit`: a container's writable layer becomes a new image (moby's CreateImageFromContainer).

    image_id = await commit_container(d, CommitOptions(container="web", repo="app", tag="v2"))

The layer is the overlay upper dir as a tar (image/rwlayer.py: whiteouts, opaque
directories, hard links, xattrs, ownership, modes, mtimes). A running container is paused
(freezer) while its layer is read, unless `pause` is false; it keeps running afterwards. A
container without changes commits an empty layer: the new image has the parent's layers and a
history entry marked `empty_layer`, as dockerd does. The config is the request's Config (or,
without one, the container's), with `changes` applied and the container's config merged under
it (moby's merge()).
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sangja.daemon.container import Container
from sangja.daemon.daemon import Daemon
from sangja.errors import Conflict, InvalidParameter
from sangja.image import platform as platforms
from sangja.image.changes import apply_changes
from sangja.image.ids import chain_ids
from sangja.image.reference import Reference, repo_tag_reference
from sangja.image.rwlayer import EMPTY_LAYER_DIFF_ID, file_digest, write_layer_tar
from sangja.image.store import ImageStore, diff_ids_of
from sangja.image.timeutil import now

DOCKER_VERSION = "sangja"


@dataclass
class CommitOptions:
    container: str
    repo: str = ""
    tag: str = ""
    comment: str = ""
    author: str = ""
    pause: bool = True
    changes: list[str] = field(default_factory=list)
    config: dict[str, Any] | None = None      # the request's Config, None when not sent


def merge_config(user: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """moby's daemon/commit.go merge(): fields the user left unset come from `base`."""
    out = copy.deepcopy(user)
    if not out.get("User"):
        out["User"] = base.get("User") or ""
    ports = dict(out.get("ExposedPorts") or {})
    for port, v in (base.get("ExposedPorts") or {}).items():
        ports.setdefault(port, v)
    if ports:
        out["ExposedPorts"] = ports
    if not out.get("Env"):
        out["Env"] = base.get("Env")
    else:
        keys = {e.partition("=")[0] for e in out["Env"]}
        out["Env"] = [*out["Env"], *[e for e in base.get("Env") or [] if e.partition("=")[0] not in keys]]
    labels = dict(out.get("Labels") or {})
    for k, v in (base.get("Labels") or {}).items():
        labels.setdefault(k, v)
    out["Labels"] = labels
    if not out.get("Entrypoint") and not out.get("Cmd"):
        out["Cmd"] = base.get("Cmd")
        out["Entrypoint"] = base.get("Entrypoint")
    if base.get("Healthcheck") and not out.get("Healthcheck"):
        out["Healthcheck"] = base["Healthcheck"]
    if not out.get("WorkingDir"):
        out["WorkingDir"] = base.get("WorkingDir") or ""
    volumes = dict(out.get("Volumes") or {})
    volumes.update(base.get("Volumes") or {})
    if volumes or "Volumes" not in out:
        out["Volumes"] = volumes or None
    if not out.get("StopSignal") and base.get("StopSignal"):
        out["StopSignal"] = base["StopSignal"]
    return out


def _reference(opts: CommitOptions) -> Reference | None:
    if not opts.repo:
        if opts.tag:
            raise InvalidParameter("invalid reference format: repository name must be given with a tag")
        return None
    return repo_tag_reference(opts.repo, opts.tag)


def child_image_config(
    parent: dict[str, Any], diff_id: str, config: dict[str, Any], *, container_id: str = "",
    container_config: dict[str, Any] | None = None, author: str = "", comment: str = "", created_by: str = "",
) -> bytes:
    """The config of an image one layer (or an empty layer) above the image whose config is
    `parent` ({} for none) (moby's NewChildImage)."""
    created = now().rfc3339_nano()
    empty = diff_id == EMPTY_LAYER_DIFF_ID
    diff_ids = diff_ids_of(parent) + ([] if empty else [diff_id])
    entry: dict[str, Any] = {"created": created}
    if author:
        entry["author"] = author
    if created_by:
        entry["created_by"] = created_by
    if comment:
        entry["comment"] = comment
    if empty:
        entry["empty_layer"] = True
    plat = platforms.host()
    fields: dict[str, Any] = {
        "architecture": parent.get("architecture") or plat.architecture,
        "config": config,
        "created": created,
        "docker_version": DOCKER_VERSION,
        "history": [*(parent.get("history") or []), entry],
        "os": parent.get("os") or "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    if parent.get("variant"):
        fields["variant"] = parent["variant"]
    if author:
        fields["author"] = author
    if comment:
        fields["comment"] = comment
    if container_id:
        fields["container"] = container_id
    if container_config is not None:
        fields["container_config"] = container_config
    ordered = {k: fields[k] for k in sorted(fields)}
    return json.dumps(ordered, separators=(",", ":")).encode()


def register_layer_image(
    store: ImageStore, parent_id: str, parent_config: dict[str, Any], layer_tar: Path,
    make_config: Callable[[str], bytes],
) -> str:
    """Register the layer tar at `layer_tar` above the image `parent_config` describes ({} for
    none) and the image `make_config(diff_id)` describes. Blocking. Returns the image ID.
    `parent_id` is recorded as the image's parent when that image still exists."""
    diff_id = file_digest(str(layer_tar))
    parent_chains = chain_ids(diff_ids_of(parent_config))
    config = make_config(diff_id)
    chains = chain_ids(diff_ids_of(json.loads(config)))
    with store.pinned([*parent_chains, *chains]):
        if diff_id != EMPTY_LAYER_DIFF_ID:
            store.layers.register(layer_tar, diff_id, parent_chains[-1] if parent_chains else "")
        return store.create(config, parent=parent_id)


def _commit_blocking(d: Daemon, c: Container, opts: CommitOptions, config: dict[str, Any]) -> str:
    store = d.images
    upper = str(d.containers.directory(c.id) / "upper")
    with store.blobs.temp_path(".tar") as tmp:
        with open(tmp, "wb") as out:
            write_layer_tar(upper, out)
        parent = store.container_image(c.image_id).config
        return register_layer_image(
            store, c.image_id, parent, tmp,
            lambda diff_id: child_image_config(
                parent, diff_id, config, container_id=c.id, container_config=copy.deepcopy(c.config),
                author=opts.author, comment=opts.comment, created_by=" ".join([c.path, *c.args]),
            ),
        )


async def commit_container(d: Daemon, opts: CommitOptions) -> str:
    c = d.containers.get(opts.container)
    if c.state.status == "removing":
        raise Conflict(f"You cannot commit container {c.name.lstrip('/')} which is being removed")
    if c.state.status == "dead":
        raise Conflict(f"You cannot commit container {c.name.lstrip('/')} which is dead")
    ref = _reference(opts)
    base = opts.config if opts.config is not None else c.config
    config = merge_config(apply_changes(base, opts.changes), c.config)
    config.pop("Image", None)
    config["Image"] = c.image if opts.config is None else (base.get("Image") or "")
    async with d.lock(c.id):
        paused_here = False
        if opts.pause and c.state.status == "running":
            await d.runtime.pause(c.id)
            paused_here = True
        try:
            image_id = await asyncio.to_thread(_commit_blocking, d, c, opts, config)
        finally:
            if paused_here:
                await d.runtime.resume(c.id)
    if ref is not None:
        await asyncio.to_thread(d.images.add_reference, ref, image_id, force=True, touch=now().rfc3339_nano())
        d.events.publish("image", "tag", image_id, {"name": ref.familiar()})
    d.emit(c, "commit", {"comment": opts.comment, "imageID": image_id,
                         "imageRef": ref.familiar() if ref else ""})
    return image_id
