"""What a daemon and its containers may leave behind on the host, and how to clear it.

The harness checks three kinds of leftovers after containers are removed and after a
daemon stops:
    mounts      anything mounted at or under the daemon's data root or exec root
    processes   any process whose command line mentions the exec root (conmon, runc,
                containerd and its shims all carry it in their arguments)
    cgroups     /sys/fs/cgroup/<controller>/sangja/<id> for the container IDs in play

`clean` removes what `find` reported (kill by PID, unmount deepest first, rmdir), so one
leaking test cannot break the next run; the caller still fails the test.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_PARENT = "sangja"


@dataclass
class Leaks:
    mounts: list[str] = field(default_factory=list)
    processes: list[tuple[int, str]] = field(default_factory=list)
    cgroups: list[str] = field(default_factory=list)
    network: list[str] = field(default_factory=list)  # interfaces and nft tables (tests/support/netleaks.py)

    def __bool__(self) -> bool:
        return bool(self.mounts or self.processes or self.cgroups or self.network)

    def describe(self) -> str:
        lines = [f"mount: {m}" for m in self.mounts]
        lines += [f"process {pid}: {cmd}" for pid, cmd in self.processes]
        lines += [f"cgroup: {c}" for c in self.cgroups]
        lines += [f"network: {n}" for n in self.network]
        return "\n".join(lines)


def _unescape_mountinfo(path: str) -> str:
    # mountinfo writes space, tab, newline and backslash as \ooo octal escapes.
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), path)


def mount_points() -> list[str]:
    """Every mount point in this mount namespace, in mount order."""
    points: list[str] = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 4:
                points.append(_unescape_mountinfo(fields[4]))
    return points


def mount_options(path: str) -> set[str]:
    """The superblock options of the mount at `path` (mountinfo's last field)."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 4 and _unescape_mountinfo(fields[4]) == path:
                return set(fields[-1].split(","))
    raise AssertionError(f"{path} is not mounted")


def is_volatile(path: str) -> bool:
    """Is the overlay at `path` mounted volatile? (newer kernels show it as fsync=volatile)"""
    return bool({"volatile", "fsync=volatile"} & mount_options(path))


def _is_at_or_under(path: str, root: str) -> bool:
    root = root.rstrip("/")
    return path == root or path.startswith(root + "/")


def mounts_under(roots: Iterable[str]) -> list[str]:
    roots = [os.path.realpath(r) for r in roots]
    return [p for p in mount_points() if any(_is_at_or_under(p, r) for r in roots)]


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def processes_mentioning(text: str) -> list[tuple[int, str]]:
    """Live processes (zombies have an empty cmdline) whose arguments contain `text`."""
    me = os.getpid()
    found = []
    for pid in _pids():
        if pid == me:
            continue
        cmd = _cmdline(pid)
        if text in cmd:
            found.append((pid, cmd))
    return found


def container_cgroups(container_ids: Iterable[str]) -> list[str]:
    paths: list[str] = []
    for cid in container_ids:
        if not re.fullmatch(r"[0-9a-f]{64}", cid):
            continue
        paths += glob.glob(str(CGROUP_ROOT / "*" / CGROUP_PARENT / cid))
        paths += glob.glob(str(CGROUP_ROOT / CGROUP_PARENT / cid))  # cgroup v2 only hosts
    return sorted(set(paths))


def snapshot(data_root: str, exec_root: str, container_ids: Iterable[str] = ()) -> Leaks:
    """What is there now: mounts under the roots, processes naming the exec root, cgroups of the IDs."""
    return Leaks(
        mounts=mounts_under([data_root, exec_root]),
        processes=processes_mentioning(exec_root),
        cgroups=container_cgroups(container_ids),
    )


def find(
    data_root: str,
    exec_root: str,
    container_ids: Iterable[str],
    baseline: Leaks | None = None,
    tolerate: Callable[[Leaks], Leaks] | None = None,
    settle: float = 5.0,
) -> Leaks:
    """Leftovers of one daemon, minus what `baseline` already held (the running daemon
    itself, its own mounts) and what `tolerate` filters out (what the daemon keeps by
    design). Polls up to `settle` seconds for them to go away by themselves: a monitor
    exits a moment after its container."""
    ids = list(container_ids)
    deadline = time.monotonic() + settle
    while True:
        now = snapshot(data_root, exec_root, ids)
        if baseline is not None:
            known_pids = {pid for pid, _ in baseline.processes}
            now = Leaks(
                mounts=[m for m in now.mounts if m not in baseline.mounts],
                processes=[(pid, cmd) for pid, cmd in now.processes if pid not in known_pids],
                cgroups=now.cgroups,
            )
        if tolerate is not None:
            now = tolerate(now)
        if not now or time.monotonic() >= deadline:
            return now
        time.sleep(0.1)


def _children(pid: int) -> list[int]:
    kids = []
    for other in _pids():
        try:
            with open(f"/proc/{other}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The comm field may hold spaces and parentheses: ppid is the 2nd field after the last ')'.
        rest = stat[stat.rfind(")") + 2 :].split()
        if len(rest) > 1 and int(rest[1]) == pid:
            kids.append(other)
    return kids


def kill_tree(pid: int) -> None:
    """SIGKILL a process and all its descendants (a leaked conmon and its container)."""
    for child in _children(pid):
        kill_tree(child)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def unmount(path: str) -> None:
    rc = subprocess.run(["umount", path], capture_output=True, check=False).returncode
    if rc != 0:
        subprocess.run(["umount", "-l", path], capture_output=True, check=False)


def clean(leaks: Leaks) -> None:
    """Remove what `find` reported: processes first (they hold mounts and cgroups busy)."""
    for pid, _ in leaks.processes:
        kill_tree(pid)
    for cg in leaks.cgroups:
        procs = Path(cg) / "cgroup.procs"
        with contextlib.suppress(OSError):
            for line in procs.read_text().split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(line), signal.SIGKILL)
    for mount in sorted(set(leaks.mounts), key=len, reverse=True):
        unmount(mount)
    for cg in leaks.cgroups:
        for _ in range(50):  # killed tasks leave the cgroup a moment later
            try:
                os.rmdir(cg)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.1)


def safe_rmtree(path: str) -> None:
    """rm -rf that refuses to descend into a mount point (it would delete the mounted files)."""
    remaining = mounts_under([path])
    for mount in sorted(remaining, key=len, reverse=True):
        unmount(mount)
    remaining = mounts_under([path])
    if remaining:
        raise RuntimeError(f"not removing {path}: still mounted: {remaining}")
    shutil.rmtree(path, ignore_errors=True)
