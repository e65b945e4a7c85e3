"""What the rest of the engine sees of an image.

Glossary:
    image ID      "sha256:<hex>" of the image's config JSON bytes (as Docker computes it)
    diff ID       "sha256:<hex>" of a layer's *uncompressed* tar (rootfs.diff_ids in the config)
    chain ID      identity of a layer stack: chain(L1)=diff(L1); chain(L1..n)=sha256(chain(L1..n-1)+" "+diff(Ln))
    lower dir     a directory holding one layer unpacked, used as an overlayfs lowerdir
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Image:
    id: str                                   # "sha256:<64 hex>"
    # the OCI/Docker image config JSON (architecture, os, config{}, rootfs{}, history[]); a copy
    config: dict[str, Any]
    repo_tags: list[str] = field(default_factory=list)     # ["busybox:latest"], familiar form as Docker shows them
    repo_digests: list[str] = field(default_factory=list)  # ["busybox@sha256:..."]
    created: str = ""                         # RFC 3339 from config["created"]
    size: int = 0                             # bytes of all layers unpacked
    parent: str = ""                          # "sha256:..." of the local parent image (commit/build), else ""

    @property
    def container_config(self) -> dict[str, Any]:
        """config["config"]: Env, Cmd, Entrypoint, WorkingDir, User, Labels, ExposedPorts, Volumes, StopSignal..."""
        cfg = self.config.get("config") or {}
        return cfg if isinstance(cfg, dict) else {}
