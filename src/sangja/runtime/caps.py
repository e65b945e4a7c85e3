"""Linux capabilities as Docker computes them from --cap-add, --cap-drop and --privileged."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sangja.errors import InvalidParameter
from sangja.host import proc

# Indexed by capability number (linux/capability.h), so ALL_CAPABILITIES[:last+1] is what a kernel knows.
ALL_CAPABILITIES: tuple[str, ...] = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)

# Docker's default set, in Docker's order (it shows up in this order in config.json).
DEFAULT_CAPABILITIES: tuple[str, ...] = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
)

ALL = "ALL"


def known_capabilities(last_cap: int) -> tuple[str, ...]:
    """The capabilities a kernel whose cap_last_cap is `last_cap` has."""
    return ALL_CAPABILITIES[: max(0, min(last_cap, len(ALL_CAPABILITIES) - 1)) + 1]


def names_from_mask(mask: int) -> tuple[str, ...]:
    """Capability names of a bitmask such as /proc/self/status's CapEff (unknown bits ignored)."""
    return tuple(name for bit, name in enumerate(ALL_CAPABILITIES) if mask >> bit & 1)


def available_capabilities() -> tuple[str, ...]:
    """What "ALL" and --privileged mean here: the daemon's own effective capabilities.

    Like dockerd (containerd's cap.Current): in a restricted environment (this VM's root
    lacks CAP_SYS_RESOURCE) runc could not grant more anyway ("unable to apply caps").
    """
    return names_from_mask(proc.effective_cap_mask())


def normalize(names: Iterable[str], available: Sequence[str]) -> list[str]:
    """Upper-case, add the CAP_ prefix, keep "ALL"; reject what can't be granted (InvalidParameter).

    Docker's texts: `unknown capability: "CAP_FOO"`, and for a real capability this host
    can't grant: `capability not supported by your kernel or not available in the current
    environment: "CAP_SYS_RESOURCE"`.
    """
    out: list[str] = []
    for raw in names:
        name = raw.upper()
        if name != ALL and not name.startswith("CAP_"):
            name = "CAP_" + name
        if name != ALL and name not in ALL_CAPABILITIES:
            raise InvalidParameter(f'unknown capability: "{name}"')
        if name != ALL and name not in available:
            raise InvalidParameter(
                f'capability not supported by your kernel or not available in the current environment: "{name}"'
            )
        out.append(name)
    return out


def effective_capabilities(
    cap_add: Iterable[str] = (), cap_drop: Iterable[str] = (), privileged: bool = False,
    available: Sequence[str] | None = None,
) -> list[str]:
    """The container's capability set (bounding = effective = permitted), as Docker computes it:

    privileged → every available capability; "ALL" in cap_add → every available one except
    cap_drop; "ALL" in cap_drop → only cap_add; otherwise the defaults minus cap_drop plus cap_add.
    `available` defaults to every capability sangja knows (see `available_capabilities`).
    """
    usable = tuple(available) if available is not None else ALL_CAPABILITIES
    if privileged:
        return [c for c in ALL_CAPABILITIES if c in usable]
    adds = normalize(cap_add, usable)
    drops = normalize(cap_drop, usable)
    if not adds and not drops:
        return list(DEFAULT_CAPABILITIES)
    if ALL in adds:
        result = [c for c in ALL_CAPABILITIES if c in usable and c not in drops]
    elif ALL in drops:
        result = [c for c in adds if c != ALL]
    else:
        result = [c for c in DEFAULT_CAPABILITIES if c not in drops] + adds
    deduped: list[str] = []
    for c in result:
        if c not in deduped:
            deduped.append(c)
    return deduped
