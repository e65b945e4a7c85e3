"""Reading /proc: is a process alive (and still the one we started), host limits.

Every function takes `proc_root` so unit tests can point it at a fake tree.
"""

from __future__ import annotations

import resource
from pathlib import Path

PROC = "/proc"


def _read_stat_fields(pid: int, proc_root: str) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the `(comm)` field; [0] is the state letter."""
    try:
        raw = Path(proc_root, str(pid), "stat").read_bytes().decode("ascii", "replace")
    except (FileNotFoundError, ProcessLookupError, NotADirectoryError):
        return None
    end = raw.rfind(")")         # comm may contain spaces and parentheses
    if end < 0:
        return None
    return raw[end + 2 :].split()


def process_state(pid: int, proc_root: str = PROC) -> str | None:
    """The state letter (R, S, D, Z, T, ...) or None if there is no such process."""
    fields = _read_stat_fields(pid, proc_root)
    return fields[0] if fields else None


def start_time(pid: int, proc_root: str = PROC) -> int | None:
    """Start time in clock ticks since boot (field 22), to tell a reused PID apart."""
    fields = _read_stat_fields(pid, proc_root)
    if not fields or len(fields) < 20:
        return None
    try:
        return int(fields[19])
    except ValueError:
        return None


def cmdline(pid: int, proc_root: str = PROC) -> list[bytes]:
    """argv of the process ([] for a zombie, a kernel thread, or no such process)."""
    try:
        raw = Path(proc_root, str(pid), "cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, NotADirectoryError):
        return []
    return raw.rstrip(b"\0").split(b"\0") if raw else []


def has_arg_pair(argv: list[bytes], flag: bytes, value: bytes) -> bool:
    """True if argv holds `flag value` as two consecutive args (or `flag=value`)."""
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv) and argv[i + 1] == value:
            return True
        if arg == flag + b"=" + value:
            return True
    return False


def is_alive(pid: int, flag: bytes, value: bytes, proc_root: str = PROC) -> bool:
    """Is `pid` a live (not zombie) process whose argv holds `flag value`?

    The argv check guards against PID reuse; the state check against zombies, which
    linger because PID 1 may reap orphans lazily (CONMON-NOTES §6). kill(pid, 0) would
    answer yes for both, so it is not used.
    """
    if pid <= 0:
        return False
    state = process_state(pid, proc_root)
    if state is None or state in ("Z", "X", "x"):
        return False
    return has_arg_pair(cmdline(pid, proc_root), flag, value)


def boot_id(proc_root: str = PROC) -> str:
    """The kernel's boot id: changes on every boot, so state from an earlier boot is stale."""
    try:
        return Path(proc_root, "sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def cap_last_cap(proc_root: str = PROC) -> int:
    """Highest capability number the kernel knows (40 = CAP_CHECKPOINT_RESTORE on 5.9+)."""
    try:
        return int(Path(proc_root, "sys/kernel/cap_last_cap").read_text().strip())
    except (OSError, ValueError):
        return 40


def effective_cap_mask(proc_root: str = PROC) -> int:
    """This process's effective capabilities (CapEff of /proc/self/status) as a bitmask."""
    try:
        for line in Path(proc_root, "self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    except (OSError, ValueError, IndexError):
        pass
    return 0


def nofile_hard_limit() -> int:
    """This process's hard RLIMIT_NOFILE: a container can't be given more without CAP_SYS_RESOURCE."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return hard if hard != resource.RLIM_INFINITY else 1 << 30
