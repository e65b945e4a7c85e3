"""host/: mount table parsing, cgroup path mapping (v1, hybrid, v2), /proc liveness checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from sangja.host import proc
from sangja.host.cgroups import CgroupLayout, Cgroups, layout_from_mounts
from sangja.host.mounts import parse_mountinfo

HYBRID = """\
25 1 0:23 / / rw,relatime - ext4 /dev/vda rw
30 25 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,cpu,cpuacct
32 30 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,memory
33 30 0:29 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
34 30 0:30 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
35 30 0:31 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
36 25 0:40 / /var/lib/with\\040space rw - overlay overlay rw,lowerdir=/a:/b,upperdir=/u,workdir=/w
"""

UNIFIED = """\
25 1 0:23 / / rw,relatime - ext4 /dev/vda rw
30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate
"""


def test_parse_mountinfo() -> None:
    mounts = parse_mountinfo(HYBRID + "malformed line\n")
    assert len(mounts) == 8
    over = mounts[-1]
    assert over.mount_point == "/var/lib/with space"
    assert over.fstype == "overlay" and over.source == "overlay"
    assert "lowerdir=/a:/b" in over.super_options
    # optional fields (shared:4) before the separator are skipped
    (_, cg) = parse_mountinfo(UNIFIED)
    assert cg.fstype == "cgroup2" and cg.mount_point == "/sys/fs/cgroup"


def test_hybrid_v1_layout_and_paths() -> None:
    layout = layout_from_mounts(parse_mountinfo(HYBRID))
    assert layout.version == 1
    assert layout.unified == "/sys/fs/cgroup/unified"
    assert layout.controllers["cpu"] == layout.controllers["cpuacct"] == "/sys/fs/cgroup/cpu,cpuacct"
    assert layout.controllers["name=systemd"] == "/sys/fs/cgroup/systemd"
    assert [str(p) for p in layout.dirs("/sangja/abc")] == [
        "/sys/fs/cgroup/cpu,cpuacct/sangja/abc",
        "/sys/fs/cgroup/memory/sangja/abc",
        "/sys/fs/cgroup/pids/sangja/abc",
        "/sys/fs/cgroup/systemd/sangja/abc",
        "/sys/fs/cgroup/unified/sangja/abc",
    ]
    assert str(layout.controller_dir("memory", "/sangja/abc")) == "/sys/fs/cgroup/memory/sangja/abc"
    assert layout.controller_dir("blkio", "/sangja/abc") is None


def test_v2_layout_and_paths() -> None:
    layout = layout_from_mounts(parse_mountinfo(UNIFIED))
    assert layout.version == 2
    assert [str(p) for p in layout.dirs("/sangja/abc")] == ["/sys/fs/cgroup/sangja/abc"]
    assert [str(p) for p in layout.dirs("sangja//abc/")] == ["/sys/fs/cgroup/sangja/abc"]
    assert str(layout.controller_dir("memory", "/sangja/abc")) == "/sys/fs/cgroup/sangja/abc"
    assert str(layout.controller_dir("pids", "/")) == "/sys/fs/cgroup"


def test_paths_cannot_escape_the_hierarchy() -> None:
    layout = CgroupLayout(version=2, unified="/sys/fs/cgroup")
    with pytest.raises(ValueError):
        layout.dirs("/sangja/../../etc")


def fake_v2(tmp_path: Path) -> Cgroups:
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    return Cgroups(CgroupLayout(version=2, unified=str(tmp_path)))


def test_v2_parent_setup_move_and_remove_on_a_fake_tree(tmp_path: Path) -> None:
    cg = fake_v2(tmp_path)
    cg.ensure_parent("/sangja")
    assert (tmp_path / "sangja/conmon").is_dir()
    # controllers were enabled for the children of the root
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+pids"   # last write wins on a plain file
    assert cg.move_to_conmon_cgroup(4242, "/sangja") == []
    assert (tmp_path / "sangja/conmon/cgroup.procs").read_text() == "4242"
    (tmp_path / "sangja/conmon/cgroup.procs").unlink()
    (tmp_path / "sangja/ctr/abc").mkdir(parents=True)
    cg.remove("/sangja/ctr/abc", stop_at="/sangja")
    assert not (tmp_path / "sangja/ctr").exists()        # empty parents below stop_at go too
    assert (tmp_path / "sangja").is_dir()
    cg.remove("/sangja/ctr/abc", stop_at="/sangja")       # idempotent
    assert cg.swap_limit_supported()


def test_v1_cpuset_is_initialised_from_the_ancestor(tmp_path: Path) -> None:
    cpuset = tmp_path / "cpuset"
    cpuset.mkdir()
    (cpuset / "cpuset.cpus").write_text("0-1\n")
    (cpuset / "cpuset.mems").write_text("0\n")
    for d in (cpuset / "sangja", cpuset / "sangja/conmon"):
        d.mkdir()
        (d / "cpuset.cpus").write_text("\n")     # what the kernel shows in a new v1 cpuset cgroup
        (d / "cpuset.mems").write_text("\n")
    cg = Cgroups(CgroupLayout(version=1, controllers={"cpuset": str(cpuset)}))
    cg.ensure_parent("/sangja")
    assert (cpuset / "sangja/conmon/cpuset.cpus").read_text() == "0-1"
    assert (cpuset / "sangja/cpuset.mems").read_text() == "0"


def test_remove_keeps_busy_cgroups(tmp_path: Path) -> None:
    cg = fake_v2(tmp_path)
    leaf = tmp_path / "sangja/abc"
    leaf.mkdir(parents=True)
    (leaf / "cgroup.procs").write_text("1")   # a non-empty plain dir stands in for a busy cgroup
    cg.remove("/sangja/abc", stop_at="/sangja")
    assert leaf.exists()


def fake_proc(root: Path, pid: int, state: str, argv: list[bytes], comm: str = "conmon") -> None:
    d = root / str(pid)
    d.mkdir(parents=True)
    (d / "stat").write_text(f"{pid} ({comm}) {state} 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 20\n")
    (d / "cmdline").write_bytes(b"\0".join(argv) + b"\0" if argv else b"")


def test_is_alive_checks_state_and_argv(tmp_path: Path) -> None:
    root = str(tmp_path)
    fake_proc(tmp_path, 10, "S", [b"/usr/bin/conmon", b"--cid", b"abc", b"--cuuid", b"abc"])
    fake_proc(tmp_path, 11, "Z", [])
    fake_proc(tmp_path, 12, "S", [b"/bin/sleep", b"100"], comm="sl) (eep")
    assert proc.is_alive(10, b"--cid", b"abc", root)
    assert not proc.is_alive(10, b"--cid", b"abcd", root)     # PID reused by another container's conmon
    assert not proc.is_alive(11, b"--cid", b"abc", root)      # zombie
    assert not proc.is_alive(12, b"--cid", b"abc", root)      # PID reused by something else
    assert not proc.is_alive(13, b"--cid", b"abc", root)      # gone
    assert not proc.is_alive(0, b"--cid", b"abc", root)
    assert proc.process_state(12, root) == "S"
    assert proc.start_time(10, root) == 987654


def test_host_limits_are_readable() -> None:
    assert proc.nofile_hard_limit() > 0
    assert proc.cap_last_cap() >= 30
