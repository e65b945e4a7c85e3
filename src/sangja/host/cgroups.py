"""cgroup hierarchies: where they are, the daemon's parent cgroup, moving conmon, cleaning up.

Glossary:
    cgroup path   an absolute path inside a hierarchy, as in OCI linux.cgroupsPath: "/sangja/<id>"
    hierarchy     one mounted cgroup filesystem. v1 has one per controller group
                  (/sys/fs/cgroup/memory, /sys/fs/cgroup/cpu,cpuacct ...) plus, on "hybrid"
                  hosts, a cgroup2 at /sys/fs/cgroup/unified with no controllers;
                  v2 ("unified") has exactly one, usually /sys/fs/cgroup.
    parent        the daemon's cgroup path ("/sangja"): containers go in <parent>/<id>,
                  every conmon in <parent>/conmon (so a service manager that kills the
                  daemon's own cgroup does not kill the monitors, CONMON-NOTES §8).

`CgroupLayout` is pure data (unit-tested path mapping); `Cgroups` does the file I/O.
runc creates and removes the container's leaf cgroups itself; it leaves directories
behind in hierarchies it does not manage and never removes parents, hence `remove`.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sangja.host.mounts import MountInfo, read_mountinfo

_NOT_CONTROLLERS = {"rw", "ro", "nosuid", "nodev", "noexec", "relatime", "noatime", "nodiratime",
                    "strictatime", "clone_children", "xattr", "nsdelegate", "memory_recursiveprot",
                    "memory_localevents", "memory_hugetlb_accounting", "favordynmods", "cpuset_v2_mode"}
V2_CONTROLLERS = ("cpuset", "cpu", "io", "memory", "pids", "hugetlb")


@dataclass(frozen=True)
class CgroupLayout:
    """Where each hierarchy is mounted.

    version 1: `controllers` maps each controller ("memory", "cpu", "name=systemd" ...) to its
    mount point; `unified` is the hybrid cgroup2 mount ("" if none).
    version 2: `unified` is the one mount point; `controllers` is empty.
    """

    version: int
    unified: str = ""
    controllers: dict[str, str] = field(default_factory=dict)

    def hierarchies(self) -> list[str]:
        """Every mount point, each once, in a stable order."""
        seen: list[str] = []
        for mp in sorted(self.controllers.values()):
            if mp not in seen:
                seen.append(mp)
        if self.unified and self.unified not in seen:
            seen.append(self.unified)
        return seen

    def dirs(self, cgroup_path: str) -> list[Path]:
        """The directory of `cgroup_path` in every hierarchy."""
        rel = _relative(cgroup_path)
        return [Path(mp, rel) if rel else Path(mp) for mp in self.hierarchies()]

    def controller_dir(self, controller: str, cgroup_path: str) -> Path | None:
        """Directory of `cgroup_path` for one controller (None if that controller isn't mounted)."""
        rel = _relative(cgroup_path)
        if self.version == 2:
            return Path(self.unified, rel) if self.unified else None
        mp = self.controllers.get(controller)
        return Path(mp, rel) if mp else None


def _relative(cgroup_path: str) -> str:
    """"/sangja/x" → "sangja/x"; refuses ".." so a path can't leave its hierarchy."""
    parts = [p for p in cgroup_path.split("/") if p and p != "."]
    if ".." in parts:
        raise ValueError(f"invalid cgroup path {cgroup_path!r}")
    return "/".join(parts)


def layout_from_mounts(mounts: Iterable[MountInfo]) -> CgroupLayout:
    """Work out the cgroup layout from the mount table (pure)."""
    controllers: dict[str, str] = {}
    unified = ""
    for m in mounts:
        if m.fstype == "cgroup":
            for opt in m.super_options.split(","):
                if opt and opt not in _NOT_CONTROLLERS:
                    controllers.setdefault(opt, m.mount_point)
        elif m.fstype == "cgroup2" and not unified:
            unified = m.mount_point
    if controllers:
        return CgroupLayout(version=1, unified=unified, controllers=controllers)
    return CgroupLayout(version=2, unified=unified or "/sys/fs/cgroup")


def detect() -> CgroupLayout:
    """The host's layout, from /proc/self/mountinfo."""
    return layout_from_mounts(read_mountinfo())


class Cgroups:
    """File operations on the cgroup hierarchies of one layout."""

    def __init__(self, layout: CgroupLayout | None = None) -> None:
        self.layout = layout or detect()

    @property
    def version(self) -> int:
        return self.layout.version

    def ensure_parent(self, parent: str) -> None:
        """Create <parent> and <parent>/conmon in every hierarchy (idempotent).

        v1 cpuset cgroups start with empty cpus/mems (nothing can join them), so they
        are filled from the nearest ancestor; v2 gets the controllers enabled down the tree.
        """
        conmon = f"{parent.rstrip('/')}/conmon"
        for d in self.layout.dirs(parent) + self.layout.dirs(conmon):
            d.mkdir(parents=True, exist_ok=True)
        if self.version == 1:
            for path in (parent, conmon):
                cpuset = self.layout.controller_dir("cpuset", path)
                if cpuset is not None:
                    _init_cpuset(cpuset)
        else:
            self._enable_v2_controllers(parent)

    def _enable_v2_controllers(self, parent: str) -> None:
        root = Path(self.layout.unified)
        chain = [root]
        for part in _relative(parent).split("/"):
            if part:
                chain.append(chain[-1] / part)
        for d in chain:      # subtree_control of every ancestor, down to the parent itself
            try:
                available = (d / "cgroup.controllers").read_text().split()
            except OSError:
                continue
            for ctl in V2_CONTROLLERS:
                if ctl in available:
                    _write_quietly(d / "cgroup.subtree_control", f"+{ctl}")

    def move_to_conmon_cgroup(self, pid: int, parent: str) -> list[str]:
        """Move `pid` into <parent>/conmon in every hierarchy; returns the hierarchies that refused.

        Best effort by design: a monitor left in the daemon's cgroup still works.
        """
        failed: list[str] = []
        for d in self.layout.dirs(f"{parent.rstrip('/')}/conmon"):
            try:
                (d / "cgroup.procs").write_text(str(pid))
            except OSError:
                failed.append(str(d))
        return failed

    def remove(self, cgroup_path: str, stop_at: str = "/") -> None:
        """Remove `cgroup_path` in every hierarchy, then its empty ancestors below `stop_at`.

        Idempotent; a cgroup that still has processes or children is left alone (EBUSY).
        """
        stop = _relative(stop_at)
        rel = _relative(cgroup_path)
        if not rel or rel == stop or (stop and stop.startswith(rel + "/")):
            return
        for mp in self.layout.hierarchies():
            current = rel
            while current:
                if not _rmdir(Path(mp, current)):
                    break
                current = current.rpartition("/")[0]
                if current == stop or (stop and not current.startswith(stop + "/")):
                    break

    def remove_parent(self, parent: str) -> None:
        """Remove <parent>/conmon and <parent> where they are empty (for tests and uninstall)."""
        for d in self.layout.dirs(f"{parent.rstrip('/')}/conmon") + self.layout.dirs(parent):
            _rmdir(d)

    def pids(self, cgroup_path: str) -> list[int]:
        """PIDs in the cgroup, read from the pids (v1) or unified (v2) hierarchy."""
        d = self.layout.controller_dir("pids", cgroup_path) or self.layout.controller_dir("memory", cgroup_path)
        if d is None:
            return []
        try:
            return [int(x) for x in (d / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def swap_limit_supported(self) -> bool:
        """Can a memory+swap limit be set? (Docker ignores --memory-swap with a warning when not.)"""
        if self.version == 1:
            mem = self.layout.controller_dir("memory", "/")
            return mem is not None and (mem / "memory.memsw.limit_in_bytes").exists()
        try:
            return "memory" in (Path(self.layout.unified) / "cgroup.controllers").read_text().split()
        except OSError:
            return False


def _rmdir(d: Path) -> bool:
    """rmdir; True if gone afterwards (removed or already absent), False if busy or not empty."""
    try:
        os.rmdir(d)
        return True
    except FileNotFoundError:
        return True
    except OSError as e:
        if e.errno in (errno.EBUSY, errno.ENOTEMPTY, errno.EEXIST, errno.EPERM, errno.EACCES):
            return False
        raise


def _write_quietly(path: Path, value: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError:
        pass


def _init_cpuset(d: Path) -> None:
    """Copy cpuset.cpus/mems from the nearest non-empty ancestor into d and the dirs between."""
    chain: list[Path] = []
    cur = d
    while True:
        chain.append(cur)
        try:
            cpus = (cur / "cpuset.cpus").read_text().strip()
            mems = (cur / "cpuset.mems").read_text().strip()
        except OSError:
            return
        if cpus and mems:
            break
        if cur.parent == cur:
            return
        cur = cur.parent
    for target in reversed(chain[:-1]):
        for name, value in (("cpuset.cpus", cpus), ("cpuset.mems", mems)):
            try:
                if not (target / name).read_text().strip():
                    (target / name).write_text(value)
            except OSError:
                pass
