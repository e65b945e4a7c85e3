"""OCI runtime-spec config.json, the way dockerd builds it. Pure: no I/O.

Everything host-dependent (the daemon's NOFILE hard limit, the capabilities it may grant,
host devices for --privileged, which cpus have thermal_throttle) comes in through `SpecInput`.

Matches dockerd 28 for an unprivileged container: Docker's 14 default capabilities in
bounding/effective/permitted (no inheritable, no ambient); its masked and read-only /proc
and /sys paths; /proc, /dev (tmpfs), /dev/pts, /sys (ro), /sys/fs/cgroup (ro), /dev/mqueue,
/dev/shm (tmpfs sized by --shm-size); namespaces mount, network, uts, pid, ipc; Docker's
default device cgroup rules (runc itself creates null, zero, full, random, urandom, tty,
console and the ptmx link, and allows /dev/pts/* and ptmx); the net sysctls Docker sets in a
private network namespace; noNewPrivileges false.

Not generated: Docker's default seccomp profile and AppArmor/SELinux labels (containers run
without a seccomp filter), user namespaces, hooks.
"""

from __future__ import annotations

import re
from typing import Any

from sangja.errors import InvalidParameter
from sangja.runtime.caps import effective_capabilities, known_capabilities
from sangja.runtime.types import DeviceSpec, MountSpec, SpecInput

OCI_VERSION = "1.0.2-dev"
DEFAULT_NOFILE = 1048576
CPU_PERIOD_FOR_NANO_CPUS = 100_000   # Docker: --cpus sets quota against a 100 ms period

DEFAULT_MASKED_PATHS: tuple[str, ...] = (
    "/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/sched_debug", "/proc/scsi", "/proc/timer_list", "/proc/timer_stats",
    "/sys/devices/virtual/powercap", "/sys/firmware",
)
DEFAULT_READONLY_PATHS: tuple[str, ...] = (
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
)

# Docker's device cgroup rules: deny everything, then allow the basic character devices.
# (runc appends its own allow rules for /dev/pts/*, ptmx, full, tty ... after these.)
_DEFAULT_DEVICE_RULES: tuple[tuple[bool, str, int | None, int | None], ...] = (
    (False, "a", None, None),
    (True, "c", 1, 5),     # zero
    (True, "c", 1, 3),     # null
    (True, "c", 1, 9),     # urandom
    (True, "c", 1, 8),     # random
    (True, "c", 5, 0),     # tty
    (True, "c", 5, 1),     # console
    (False, "c", 10, 229),  # fuse: explicitly denied
)

# Docker sets these in every private network namespace (dockerd ≥ 20.10) unless the user did.
DEFAULT_NET_SYSCTLS: tuple[tuple[str, str], ...] = (
    ("net.ipv4.ip_unprivileged_port_start", "0"),
    ("net.ipv4.ping_group_range", "0 2147483647"),
)

_DEVICE_RULE = re.compile(r"^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$")

_NO_MOUNT_DEV = ("nosuid", "noexec", "nodev")


def generate_spec(inp: SpecInput) -> dict[str, Any]:
    """The config.json for `inp`. Raises InvalidParameter for bad caps, modes or device rules."""
    available = inp.available_caps if inp.available_caps is not None else known_capabilities(inp.cap_last_cap)
    caps = effective_capabilities(inp.cap_add, inp.cap_drop, inp.privileged, available)
    process: dict[str, Any] = {
        "terminal": inp.process.terminal,
        "user": {
            "uid": inp.process.uid,
            "gid": inp.process.gid,
            "additionalGids": list(inp.process.additional_gids),
        },
        "args": list(inp.process.args),
        "env": list(inp.process.env),
        "cwd": inp.process.cwd or "/",
        "capabilities": {"bounding": list(caps), "effective": list(caps), "permitted": list(caps)},
        "rlimits": _rlimits(inp),
        "noNewPrivileges": inp.no_new_privileges,
        "oomScoreAdj": inp.oom_score_adj,
    }
    spec: dict[str, Any] = {
        "ociVersion": OCI_VERSION,
        "process": process,
        "root": {"path": inp.rootfs, "readonly": inp.readonly_rootfs},
        "hostname": inp.hostname,
        "mounts": _mounts(inp),
        "linux": _linux(inp),
    }
    if inp.domainname:
        spec["domainname"] = inp.domainname
    if inp.annotations:
        spec["annotations"] = dict(inp.annotations)
    return spec


def _rlimits(inp: SpecInput) -> list[dict[str, Any]]:
    limits: dict[str, tuple[int, int]] = {}
    # Default NOFILE like a dockerd under systemd (1048576), clamped to what we may grant.
    nofile = min(DEFAULT_NOFILE, inp.host_nofile_hard)
    limits["RLIMIT_NOFILE"] = (nofile, nofile)
    for u in inp.ulimits:
        limits["RLIMIT_" + u.name.upper()] = (u.soft, u.hard)
    return [{"type": t, "hard": hard, "soft": soft} for t, (soft, hard) in limits.items()]


def _default_mounts(inp: SpecInput) -> list[dict[str, Any]]:
    sys_opts = [*_NO_MOUNT_DEV] if inp.privileged else [*_NO_MOUNT_DEV, "ro"]
    cgroup_opts = [*_NO_MOUNT_DEV] if inp.privileged else ["ro", *_NO_MOUNT_DEV]
    return [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": [*_NO_MOUNT_DEV]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": sys_opts},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": cgroup_opts},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": [*_NO_MOUNT_DEV]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": [*_NO_MOUNT_DEV, "mode=1777", f"size={inp.shm_size}"]},
    ]


def _mounts(inp: SpecInput) -> list[dict[str, Any]]:
    """Default mounts not overridden by a user mount, then the user mounts, shallowest first.

    As in Docker: a user mount at a default's destination replaces it, and a user mount
    at /dev replaces every default under /dev.
    """
    user_dests = {_clean(m.destination) for m in inp.mounts}
    mounts = [
        m for m in _default_mounts(inp)
        if m["destination"] not in user_dests
        and not ("/dev" in user_dests and m["destination"].startswith("/dev/"))
    ]
    # Stable sort on depth, so /a is mounted before /a/b whatever order the user gave.
    for m in sorted(inp.mounts, key=lambda m: _depth(m.destination)):
        mounts.append(_mount(m))
    return mounts


def _mount(m: MountSpec) -> dict[str, Any]:
    return {"destination": _clean(m.destination), "type": m.type, "source": m.source,
            "options": list(m.options)}


def _clean(path: str) -> str:
    parts = [p for p in path.split("/") if p and p != "."]
    return "/" + "/".join(parts)


def _depth(path: str) -> int:
    return _clean(path).count("/") if _clean(path) != "/" else 0


def _namespace(kind: str, mode: str, what: str) -> dict[str, Any] | None:
    """One namespace entry for a mode "", "host", "ns:<path>" (None = share the host's)."""
    if mode in ("", "private", "shareable"):
        return {"type": kind}
    if mode == "host":
        return None
    if mode.startswith("ns:") and len(mode) > 3:
        return {"type": kind, "path": mode[3:]}
    raise InvalidParameter(f"invalid {what} mode: {mode}")


def _network_namespace(mode: str) -> dict[str, Any] | None:
    if mode in ("none", "", "bridge", "default"):
        return {"type": "network"}
    if mode == "host":
        return None
    if mode.startswith("netns:") and len(mode) > 6:
        return {"type": "network", "path": mode[6:]}
    raise InvalidParameter(f"invalid network mode: {mode}")


def _linux(inp: SpecInput) -> dict[str, Any]:
    namespaces = [
        _namespace("mount", "", "mount"),
        _network_namespace(inp.network_mode),
        _namespace("uts", inp.uts_mode, "UTS"),
        _namespace("pid", inp.pid_mode, "PID"),
        _namespace("ipc", inp.ipc_mode, "IPC"),
    ]
    if inp.cgroupns_private:
        namespaces.append({"type": "cgroup"})
    net_ns = namespaces[1]
    sysctl: dict[str, str] = {}
    if net_ns is not None and inp.default_net_sysctls:
        sysctl.update(DEFAULT_NET_SYSCTLS)
    sysctl.update(inp.sysctls)

    linux: dict[str, Any] = {
        "sysctl": sysctl,
        "resources": _resources(inp),
        "cgroupsPath": inp.cgroups_path,
        "namespaces": [ns for ns in namespaces if ns is not None],
        "devices": [_device(d) for d in inp.devices],
    }
    if not inp.privileged:
        masked = DEFAULT_MASKED_PATHS if inp.masked_paths is None else inp.masked_paths
        linux["maskedPaths"] = [*masked, *(p for p in inp.extra_masked_paths if p not in masked)]
        linux["readonlyPaths"] = list(DEFAULT_READONLY_PATHS if inp.readonly_paths is None
                                      else inp.readonly_paths)
    return linux


def _device(d: DeviceSpec) -> dict[str, Any]:
    return {"path": d.path, "type": d.type, "major": d.major, "minor": d.minor,
            "fileMode": d.file_mode, "uid": d.uid, "gid": d.gid}


def _rule(allow: bool, kind: str, major: int | None, minor: int | None, access: str) -> dict[str, Any]:
    rule: dict[str, Any] = {"allow": allow}
    if kind != "a" or major is not None:
        rule["type"] = kind
    if major is not None:
        rule["major"] = major
    if minor is not None:
        rule["minor"] = minor
    rule["access"] = access
    return rule


def parse_device_cgroup_rule(text: str) -> dict[str, Any]:
    """"c 1:3 mr" → an OCI allow rule; Docker's error text for anything else."""
    m = _DEVICE_RULE.match(text)
    if not m:
        raise InvalidParameter(f"invalid device cgroup rule format: '{text}'")
    kind, major, minor, access = m.groups()
    return _rule(True, kind, None if major == "*" else int(major), None if minor == "*" else int(minor),
                 access)


def _device_rules(inp: SpecInput) -> list[dict[str, Any]]:
    if inp.privileged:
        return [{"allow": True, "access": "rwm"}]
    rules = [_rule(allow, kind, major, minor, "rwm") for allow, kind, major, minor in _DEFAULT_DEVICE_RULES]
    rules += [_rule(True, d.type, d.major, d.minor, d.permissions) for d in inp.devices]
    rules += [parse_device_cgroup_rule(r) for r in inp.device_cgroup_rules]
    return rules


def _resources(inp: SpecInput) -> dict[str, Any]:
    memory: dict[str, Any] = {}
    if inp.memory > 0:
        memory["limit"] = inp.memory
    if inp.memory_reservation > 0:
        memory["reservation"] = inp.memory_reservation
    if inp.memory_swap != 0:
        memory["swap"] = inp.memory_swap
    if inp.memory_swappiness >= 0:
        memory["swappiness"] = inp.memory_swappiness
    memory["disableOOMKiller"] = inp.oom_kill_disable

    cpu: dict[str, Any] = {}
    if inp.cpu_shares > 0:
        cpu["shares"] = inp.cpu_shares
    if inp.nano_cpus > 0:
        cpu["period"] = CPU_PERIOD_FOR_NANO_CPUS
        cpu["quota"] = inp.nano_cpus * CPU_PERIOD_FOR_NANO_CPUS // 1_000_000_000
    else:
        if inp.cpu_quota != 0:
            cpu["quota"] = inp.cpu_quota
        if inp.cpu_period > 0:
            cpu["period"] = inp.cpu_period
    if inp.cpuset_cpus:
        cpu["cpus"] = inp.cpuset_cpus
    if inp.cpuset_mems:
        cpu["mems"] = inp.cpuset_mems
    if inp.cpu_rt_runtime:
        cpu["realtimeRuntime"] = inp.cpu_rt_runtime
    if inp.cpu_rt_period:
        cpu["realtimePeriod"] = inp.cpu_rt_period

    resources: dict[str, Any] = {"devices": _device_rules(inp), "memory": memory}
    if cpu:
        resources["cpu"] = cpu
    if inp.pids_limit > 0:
        resources["pids"] = {"limit": inp.pids_limit}
    if inp.blkio_weight > 0:
        resources["blockIO"] = {"weight": inp.blkio_weight}
    return resources
