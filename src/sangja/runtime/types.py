"""Inputs and outputs of the runtime adapter (runtime/), as the daemon uses them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sangja.host import proc
from sangja.runtime.caps import available_capabilities


def _available_caps() -> tuple[str, ...] | None:
    return available_capabilities() or None    # unreadable: fall back to cap_last_cap


@dataclass(frozen=True)
class MountSpec:
    destination: str
    source: str
    type: str = "bind"
    options: tuple[str, ...] = ("rbind", "rprivate")


@dataclass(frozen=True)
class DeviceSpec:
    """A device node to create in the container (OCI linux.devices) and allow in the device cgroup."""

    path: str                        # path inside the container, e.g. "/dev/fuse"
    type: str                        # "c" or "b"
    major: int
    minor: int
    file_mode: int = 0o666
    uid: int = 0
    gid: int = 0
    permissions: str = "rwm"         # cgroup access: any of r, w, m


@dataclass(frozen=True)
class Ulimit:
    """One --ulimit: name as Docker spells it ("nofile", "nproc", "core" ...)."""

    name: str
    soft: int
    hard: int


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
    pid_mode, ipc_mode, uts_mode: "" → a new namespace; "host" → none (share the host's);
                  "ns:<path>" → join that namespace (e.g. /proc/<pid>/ns/pid for container:<x>).
    Fields after `annotations` were added by the runtime engineer; all have Docker's defaults.
    host_nofile_hard: the daemon's hard RLIMIT_NOFILE (default: read from this process); the
                  default RLIMIT_NOFILE is clamped to it, because without CAP_SYS_RESOURCE
                  runc can't raise it ("error setting rlimit type 7: operation not permitted").
    available_caps: what "ALL" and --privileged mean and what --cap-add may name. Default: this
                  process's effective set, as dockerd does (`runtime.caps.available_capabilities()`).
                  None = every capability up to `cap_last_cap`.
    The two defaults above are read from the host when a SpecInput is made; generate_spec
    itself stays pure (tests pass explicit values).
    devices:      extra device nodes (--device; for --privileged pass `runtime.devices.host_devices()`).
    memory_swap:  passed through as is (-1 = unlimited). Docker turns 0 into 2 x memory and clears it
                  when the host has no swap accounting: the daemon's job (`Cgroups.swap_limit_supported`).
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
    domainname: str = ""
    pid_mode: str = ""
    ipc_mode: str = ""
    uts_mode: str = ""
    cgroupns_private: bool = False   # Docker: private on cgroup v2, host on v1
    memory_reservation: int = 0
    memory_swappiness: int = -1      # -1 = unset
    oom_kill_disable: bool = False
    nano_cpus: int = 0               # --cpus x 1e9
    cpuset_mems: str = ""
    blkio_weight: int = 0
    cpu_rt_runtime: int = 0
    cpu_rt_period: int = 0
    devices: tuple[DeviceSpec, ...] = ()
    device_cgroup_rules: tuple[str, ...] = ()   # "c 1:3 mr", "b *:* rwm"
    ulimits: tuple[Ulimit, ...] = ()
    host_nofile_hard: int = field(default_factory=proc.nofile_hard_limit)
    cap_last_cap: int = 40
    available_caps: tuple[str, ...] | None = field(default_factory=_available_caps)
    no_new_privileges: bool = False
    masked_paths: tuple[str, ...] | None = None     # None = Docker's defaults
    readonly_paths: tuple[str, ...] | None = None   # None = Docker's defaults
    extra_masked_paths: tuple[str, ...] = ()        # e.g. runtime.devices.thermal_throttle_paths()
    default_net_sysctls: bool = True  # Docker's ip_unprivileged_port_start=0 / ping_group_range in a private netns


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
    extra: dict[str, str] = field(default_factory=dict)  # more conmon flags: {"--flag": "value" or ""}
