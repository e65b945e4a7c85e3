"""Inputs and outputs of the runtime adapter (runtime/), as the daemon uses them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class MountSpec:
    destination: str
    source: str
    type: str = "bind"
    options: tuple[str, ...] = ("rbind", "rprivate")


@dataclass(frozen=True)
class ProcessSpec:
    args: tuple[str, ...]
    env: tuple[str, ...]
    cwd: str = "/"
    uid: int = 0
    gid: int = 0
    additional_gids: tuple[int, ...] = ()
    terminal: bool = False


@dataclass(frozen=True)
class SpecInput:
    """Everything `runtime.spec.generate_spec` needs to write an OCI config.json.

    network_mode: "none" → a new, empty net namespace (only lo);
                  "host" → no net namespace (share the host's);
                  "netns:<path>" → join that namespace (bridge networking, later issue).
    """

    id: str
    rootfs: str                      # absolute path of the mounted overlay (the container's root)
    process: ProcessSpec
    hostname: str
    cgroups_path: str                # absolute, e.g. "/sangja/<id>"
    network_mode: str = "none"
    readonly_rootfs: bool = False
    mounts: tuple[MountSpec, ...] = ()
    privileged: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    shm_size: int = 64 * 1024 * 1024
    memory: int = 0                  # bytes, 0 = unlimited
    memory_swap: int = 0
    cpu_shares: int = 0
    cpu_quota: int = 0
    cpu_period: int = 0
    cpuset_cpus: str = ""
    pids_limit: int = 0
    oom_score_adj: int = 0
    sysctls: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()


RuntimeState = Literal["created", "running", "paused", "stopped", "gone"]


@dataclass(frozen=True)
class RuntimeStatus:
    """What is really there for one container, read from conmon's files and `runc state`.

    state "gone": the runtime has no record (never created, or deleted).
    exit_code is set when conmon wrote the exit file (the container exited).
    monitor_alive: conmon for this container is running (checked against PID reuse).
    """

    state: RuntimeState
    pid: int = 0
    exit_code: int | None = None
    oom_killed: bool = False
    monitor_alive: bool = False
    finished_at: float | None = None   # mtime of the exit file, seconds since the epoch


@dataclass(frozen=True)
class LaunchOptions:
    """How conmon should hold the container's stdio."""

    log_path: str                    # absolute path of the k8s-file log conmon writes
    tty: bool = False
    stdin: bool = False              # keep stdin open for attach clients (OpenStdin)
    stdin_once: bool = False         # close stdin when the first attach client detaches
    log_size_max: int = 0            # conmon's own hard cap (truncates!), 0 = none
    extra: dict[str, str] = field(default_factory=dict)
