"""Create a container: validate, merge with the image, reserve the name, persist the record.

Nothing is mounted or launched here; `start` does that. A create that dies
half-way leaves a directory without a record, which the next daemon start removes.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

from sangja.daemon import names
from sangja.daemon.container import Container, State
from sangja.daemon.create_config import merge_with_image, normalize_config, normalize_host_config
from sangja.daemon.daemon import Daemon
from sangja.daemon.network_container import adapt_container_mode, validate_container_mode
from sangja.daemon.network_sandbox import validate_ports
from sangja.daemon.network_verbs import resolve_endpoints
from sangja.daemon.resources import check_create, host_info
from sangja.daemon.timefmt import rfc3339_ns
from sangja.daemon.volume_mounts import prepare_mounts
from sangja.errors import InvalidParameter

LOG_FILE = "container.log"


def new_id(taken: set[str] | None = None) -> str:
    while True:
        cid = secrets.token_hex(32)
        # Docker avoids IDs that are all digits (they would parse as numbers in places).
        if not cid.isdigit() and (taken is None or cid not in taken):
            return cid


async def create_container(d: Daemon, body: dict[str, Any], name: str | None) -> tuple[Container, list[str]]:
    """Returns the new container and the warnings to show the user."""
    cfg = normalize_config(body)
    hc = normalize_host_config(body.get("HostConfig"), d.config.cgroup_version)
    validate_container_mode(cfg, hc, body.get("NetworkingConfig"))  # --network container:…
    adapt_container_mode(d, hc)  # before this container's name is reserved: it cannot name itself
    resource_warnings = check_create(hc, host_info())
    image_ref = cfg.get("Image")
    if not image_ref:
        raise InvalidParameter("config cannot be empty in order to create a container")
    image = await asyncio.to_thread(d.images.get, image_ref)
    merged = merge_with_image(cfg, image.container_config)

    cid = new_id()
    full_name = names.validate(name) if name else names.generate(d.containers.names())
    d.containers.reserve_name(full_name, cid)
    try:
        warnings: list[str] = list(resource_warnings)
        if hc["NetworkMode"] == "host":
            merged["Hostname"] = merged.get("Hostname") or ""
            if hc.get("PortBindings"):
                warnings.append("Published ports are discarded when using host network mode")
                hc["PortBindings"] = {}
        validate_ports(hc, merged)
        endpoints_config = resolve_endpoints(d, hc, body.get("NetworkingConfig"))
        if not merged.get("Hostname"):
            merged["Hostname"] = "" if hc["NetworkMode"] == "host" else cid[:12]
        merged.setdefault("Domainname", "")
        merged["Image"] = image_ref
        for key in ("AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin", "StdinOnce"):
            merged[key] = bool(merged.get(key))
        merged.setdefault("User", "")
        merged.setdefault("WorkingDir", "")
        merged.setdefault("OnBuild", None)

        mount_points = prepare_mounts(d, merged, hc)
        argv = [*(merged.get("Entrypoint") or []), *(merged.get("Cmd") or [])]
        now = time.time_ns()
        directory = d.containers.directory(cid)
        c = Container(
            id=cid,
            name=full_name,
            created=rfc3339_ns(now),
            created_ns=now,
            image=image_ref,
            image_id=image.id,
            path=argv[0],
            args=argv[1:],
            config=merged,
            host_config=hc,
            state=State(),
            log_path=str(directory / LOG_FILE),
            mount_points=mount_points,
            endpoints_config=endpoints_config,
        )
        d.containers.add(c)
    except BaseException:
        d.containers.release_name(full_name)
        raise
    d.emit(c, "create")
    return c, warnings
