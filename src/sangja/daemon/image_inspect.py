"""`docker image inspect` and `docker history` (moby's ImageInspect and ImageHistory).

`inspect_image` returns the ImageInspect body in its API 1.51 shape plus the deprecated fields
older API versions add (the API layer decides which to show).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sangja.errors import System
from sangja.image.changes import empty_container_config
from sangja.image.store import ImageStore
from sangja.image.timeutil import ZERO_TIME, parse_rfc3339

GRAPH_DRIVER = "overlay2"

# The image-config fields API 1.51 shows (the OCI ImageConfig plus Docker's extension), and
# moby's rule for each: shown only when set ("omitempty").
_OCI_CONFIG_FIELDS = (
    "User",
    "ExposedPorts",
    "Env",
    "Entrypoint",
    "Cmd",
    "Volumes",
    "WorkingDir",
    "Labels",
    "StopSignal",
    "ArgsEscaped",
    "Healthcheck",
    "OnBuild",
    "Shell",
)


@dataclass
class InspectData:
    response: dict[str, Any]        # ImageInspect, API 1.51
    container: str                  # deprecated "Container" (API < 1.45)
    container_config: dict[str, Any]   # deprecated "ContainerConfig" (API < 1.45)


def oci_image_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """moby's containerConfigToDockerOCIImageConfig: only the OCI fields, only when non-empty."""
    return {k: cfg[k] for k in _OCI_CONFIG_FIELDS if cfg.get(k)}


def format_created(value: Any) -> str:
    """A config's "created" as Go's RFC3339Nano prints it ("" when absent)."""
    if not isinstance(value, str) or not value:
        return ""
    ts = parse_rfc3339(value)
    return ts.rfc3339_nano() if ts is not None else value


def inspect_image(store: ImageStore, name: str) -> InspectData:
    with store.lock:
        image_id = store.resolve(name)
        image = store.get(image_id)
        config = image.config
        chains = store.chains(image_id)
        dirs = store.layer_dirs(image)
        last_tag = store.last_tag_time(image_id)
    comment = config.get("comment") or ""
    history = config.get("history") or []
    if not comment and history and isinstance(history[-1], dict):
        comment = history[-1].get("comment") or ""
    graph_data: dict[str, str] = {}
    if dirs:
        graph_data["UpperDir"] = dirs[0]
        if len(dirs) > 1:
            graph_data["LowerDir"] = ":".join(dirs[1:])
    response: dict[str, Any] = {
        "Id": image_id,
        "RepoTags": image.repo_tags,
        "RepoDigests": image.repo_digests,
        "Parent": image.parent,
        "Comment": comment,
        "Created": format_created(config.get("created")),
        "DockerVersion": config.get("docker_version") or "",
        "Author": config.get("author") or "",
        "Config": oci_image_config(image.container_config),
        "Architecture": config.get("architecture") or "",
        "Variant": config.get("variant") or "",
        "Os": config.get("os") or "linux",
        "OsVersion": config.get("os.version") or "",
        "Size": image.size,
        "GraphDriver": {"Name": GRAPH_DRIVER, "Data": graph_data},
        "RootFS": {"Type": (config.get("rootfs") or {}).get("type") or "layers"},
        "Metadata": {"LastTagTime": last_tag or ZERO_TIME},
    }
    for key in ("Created", "Variant", "OsVersion"):
        if not response[key]:
            del response[key]
    diff_ids = [store.layer(c).diff_id for c in chains]
    if diff_ids:
        response["RootFS"]["Layers"] = diff_ids
    container_config = config.get("container_config")
    return InspectData(
        response=response,
        container=str(config.get("container") or ""),
        container_config=container_config if isinstance(container_config, dict) else empty_container_config(),
    )


def image_history(store: ImageStore, name: str) -> list[dict[str, Any]]:
    """HistoryResponseItems, newest first; only the top entry and local parents carry IDs."""
    with store.lock:
        image_id = store.resolve(name)
        config = store.get(image_id).config
        chains = store.chains(image_id)
        items: list[dict[str, Any]] = []
        layer_index = 0
        for h in config.get("history") or []:
            if not isinstance(h, dict):
                continue
            size = 0
            if not h.get("empty_layer"):
                if layer_index >= len(chains):
                    raise System("too many non-empty layers in History section")
                size = store.layer(chains[layer_index]).size
                layer_index += 1
            created = parse_rfc3339(h["created"]) if isinstance(h.get("created"), str) else None
            items.insert(
                0,
                {
                    "Comment": h.get("comment") or "",
                    "Created": created.unix if created is not None else 0,
                    "CreatedBy": h.get("created_by") or "",
                    "Id": "<missing>",
                    "Size": size,
                    "Tags": [],
                },
            )
        current = image_id
        for item in items:
            item["Id"] = current
            item["Tags"] = [r.familiar() for r in store.references(current) if r.tag]
            current = store.parent(current) if store.exists(current) else ""
            if not current or not store.exists(current):
                break
    return items
