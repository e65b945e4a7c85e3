"""runtime.rootfs with the real kernel: overlay order, long lowerdir lists, unmounting (root)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from sangja.runtime.rootfs import is_mounted, mount_rootfs, unmount_rootfs
from tests.support.leaks import is_volatile

pytestmark = [pytest.mark.root, pytest.mark.skipif(os.geteuid() != 0, reason="needs root")]


@pytest.fixture
def base() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="sjrf", dir="/tmp"))
    try:
        yield d
    finally:
        unmount_rootfs(d / "ctr")
        shutil.rmtree(d, ignore_errors=True)


def layers(base: Path, n: int, name_len: int = 8) -> list[str]:
    """n layer dirs, bottom first; layer i holds file i and its own version of "shadowed"."""
    out = []
    for i in range(n):
        d = base / "layers" / (f"{i:03d}-" + "l" * name_len) / "diff"
        d.mkdir(parents=True)
        (d / f"f{i}").write_text(str(i))
        (d / "shadowed").write_text(str(i))
        out.append(str(d))
    return out


def test_top_most_first_wins_and_writes_go_to_upper(base: Path) -> None:
    bottom_first = layers(base, 3)
    merged = mount_rootfs(list(reversed(bottom_first)), base / "ctr")
    assert is_mounted(merged)
    assert (Path(merged) / "shadowed").read_text() == "2"
    assert sorted(os.listdir(merged)) == ["f0", "f1", "f2", "shadowed"]
    (Path(merged) / "new").write_text("x")
    assert (base / "ctr/upper/new").read_text() == "x"
    assert mount_rootfs(list(reversed(bottom_first)), base / "ctr") == merged   # idempotent
    unmount_rootfs(base / "ctr")
    assert not is_mounted(merged)
    assert (base / "ctr/upper/new").exists()
    unmount_rootfs(base / "ctr")    # idempotent


def test_127_long_layers_mount(base: Path) -> None:
    bottom_first = layers(base, 127, name_len=100)
    merged = mount_rootfs(list(reversed(bottom_first)), base / "ctr")
    assert (Path(merged) / "shadowed").read_text() == "126"
    assert (Path(merged) / "f0").read_text() == "0"
    assert len(os.listdir(merged)) == 128


def test_no_layers(base: Path) -> None:
    merged = mount_rootfs([], base / "ctr")
    assert is_mounted(merged) and os.listdir(merged) == []


def test_busy_mount_is_detached(base: Path) -> None:
    merged = mount_rootfs(layers(base, 1), base / "ctr")
    fd = os.open(merged, os.O_RDONLY | os.O_DIRECTORY)
    cwd = os.getcwd()
    try:
        os.chdir(merged)        # makes a plain umount fail with EBUSY
        unmount_rootfs(base / "ctr")
        assert not is_mounted(merged)
    finally:
        os.chdir(cwd)
        os.close(fd)


def test_volatile_mount_can_be_mounted_again_after_a_clean_unmount(base: Path) -> None:
    lowers = layers(base, 1)
    ctr = base / "ctr"
    merged = Path(mount_rootfs(lowers, ctr, volatile=True))
    assert is_volatile(str(merged))
    (merged / "written").write_text("upper")
    unmount_rootfs(ctr)
    # overlayfs leaves its marker behind and would refuse this mount without sangja clearing it.
    assert (ctr / "work" / "work" / "incompat" / "volatile").exists()
    merged = Path(mount_rootfs(lowers, ctr, volatile=True))
    assert (merged / "written").read_text() == "upper"
    assert (merged / "f0").read_text() == "0"
    unmount_rootfs(ctr)
    merged = Path(mount_rootfs(lowers, ctr))
    assert not is_volatile(str(merged))
    assert (merged / "written").read_text() == "upper"
