"""The container record: what sangjad knows and persists about one container.

Lifecycle (the state machine lives in `state.py`):

    created ──start──▶ running ──exit──▶ exited ──start──▶ running …
                        │   ▲
                   pause│   │unpause
                        ▼   │
                       paused
    any ──remove──▶ removing ──▶ (gone)        restarting: waiting out a restart-policy delay

The record is saved as JSON (`config.v2.json` in the container's directory) after
every change, with an atomic replace, so a daemon killed at any moment restarts
from a consistent record and reconciles it with what conmon/runc report.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RECORD_FILE = "config.v2.json"
ZERO_TIME = "0001-01-01T00:00:00Z"


@dataclass
class State:
    status: str = "created"  # created|running|paused|restarting|removing|exited|dead
    pid: int = 0
    exit_code: int = 0
    error: str = ""
    oom_killed: bool = False
    started_at: str = ZERO_TIME
    finished_at: str = ZERO_TIME
    started_ns: int = 0  # wall clock of the last start, for restart back-off and ps times
    finished_ns: int = 0
    health: dict[str, Any] | None = None  # Docker's State.Health: Status, FailingStreak, Log (daemon/health.py)

    @property
    def running(self) -> bool:
        return self.status in ("running", "paused")


@dataclass
class Container:
    id: str
    name: str  # with the leading "/", as Docker stores it
    created: str  # RFC 3339 with nanoseconds
    created_ns: int
    image: str  # as the user gave it (Config.Image)
    image_id: str  # "sha256:…"
    path: str  # argv[0]
    args: list[str]
    config: dict[str, Any]  # Docker's Config, merged with the image's
    host_config: dict[str, Any]  # Docker's HostConfig, with defaults filled in
    state: State = field(default_factory=State)
    restart_count: int = 0
    has_been_started: bool = False
    manually_stopped: bool = False  # stop/kill by the user: no restart policy, unless-stopped
    manually_restarted: bool = False  # stopped by `restart`: AutoRemove waits (moby's HasBeenManuallyRestarted)
    log_path: str = ""
    rootfs: str = ""  # the mounted overlay while running
    hostname_path: str = ""
    hosts_path: str = ""
    resolv_conf_path: str = ""
    platform: str = "linux"
    network: dict[str, Any] = field(default_factory=dict)  # the bridge endpoint while running (network_sandbox)
    # The networks it is on: name → Docker's EndpointSettings config (daemon/network_verbs.py).
    endpoints_config: dict[str, Any] = field(default_factory=dict)
    # Docker's MountPoints: volumes, binds and tmpfs mounts (daemon/volume_mounts.py).
    mount_points: list[dict[str, Any]] = field(default_factory=list)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def tty(self) -> bool:
        return bool(self.config.get("Tty"))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Container:
        state = State(**data.pop("state", {}))
        return cls(state=state, **data)


def save(container: Container, directory: Path) -> None:
    """Write the record atomically: a temp file then rename over the old one."""
    tmp = directory / (RECORD_FILE + ".tmp")
    data = json.dumps(container.to_json(), separators=(",", ":")).encode()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, directory / RECORD_FILE)


def load(directory: Path) -> Container | None:
    """The saved record, or None when the directory holds none (a create that never finished)."""
    try:
        data = json.loads((directory / RECORD_FILE).read_bytes())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return Container.from_json(data)
