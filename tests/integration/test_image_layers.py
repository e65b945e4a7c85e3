"""Layers unpacked for real (root: chown, device nodes, trusted.* xattrs) and checked through an
overlayfs mount of them: whiteouts hide, opaque directories cut off, metadata survives.
Every mount is unmounted in teardown."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sangja.image.fsops import HostFsOps
from sangja.image.store import ImageStore
from tests.support.prereq import require_programs, require_root
from tests.unit.test_image_support import (
    Entry,
    add_image,
    chardev,
    directory,
    file,
    hardlink,
    symlink,
    tar_bytes,
)

pytestmark = pytest.mark.root


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    require_root()
    return ImageStore(tmp_path / "image", HostFsOps())


@pytest.fixture
def mounter(tmp_path: Path) -> Iterator[list[Path]]:
    """Mount points to unmount at teardown, whatever the test did."""
    require_programs("mount", "umount")
    mounted: list[Path] = []
    yield mounted
    for point in reversed(mounted):
        subprocess.run(["umount", str(point)], check=False)
    with open("/proc/self/mountinfo") as f:
        leftovers = [line for line in f if str(tmp_path) in line]
    assert leftovers == [], leftovers


def overlay(tmp_path: Path, lowers: list[str], mounted: list[Path]) -> Path:
    upper, work, merged = tmp_path / "upper", tmp_path / "work", tmp_path / "merged"
    for d in (upper, work, merged):
        d.mkdir()
    opts = f"lowerdir={':'.join(lowers)},upperdir={upper},workdir={work}"
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, str(merged)], check=True)
    mounted.append(merged)
    return merged


BASE = tar_bytes(
    [
        directory("etc"),
        file("etc/passwd", b"root:x:0:0::/root:/bin/sh\n"),
        file("etc/secret", b"delete me"),
        directory("var/cache", mode=0o755),
        file("var/cache/old-1", b"1"),
        file("var/cache/old-2", b"2"),
        directory("home/user", mode=0o700, uid=1000, gid=1000),
        file("home/user/.profile", b"export X=1\n", mode=0o600, uid=1000, gid=1000, mtime=1_500_000_000),
        file("bin/tool", b"#!/bin/sh\n", mode=0o4755),
        symlink("bin/alias", "tool"),
        hardlink("bin/tool-link", "bin/tool", mode=0o4755),
        chardev("dev/null", 1, 3),
        Entry("sbin/cap", data=b"cap", mode=0o755,
              pax={"SCHILY.xattr.user.origin": "base", "SCHILY.xattr.trusted.overlay.opaque": "y"}),
    ]
)
TOP = tar_bytes(
    [
        file("etc/.wh.secret"),
        directory("var/cache"),
        file("var/cache/.wh..wh..opq"),
        file("var/cache/new", b"new"),
        file("etc/passwd", b"root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534:::\n"),
    ]
)


def test_whiteouts_and_opaque_dirs_in_the_merged_view(store: ImageStore, tmp_path: Path, mounter: list[Path]) -> None:
    image = store.get(add_image(store, [BASE, TOP], tags=["layered"]))
    lowers = store.layer_dirs(image)
    top = Path(lowers[0])
    whiteout = os.lstat(top / "etc" / "secret")
    assert stat.S_ISCHR(whiteout.st_mode) and whiteout.st_rdev == os.makedev(0, 0)
    assert os.getxattr(top / "var" / "cache", "trusted.overlay.opaque") == b"y"

    merged = overlay(tmp_path, lowers, mounter)
    assert not (merged / "etc" / "secret").exists()
    assert sorted(os.listdir(merged / "var" / "cache")) == ["new"]
    assert (merged / "etc" / "passwd").read_bytes().endswith(b"nobody:x:65534:65534:::\n")
    profile = os.lstat(merged / "home" / "user" / ".profile")
    assert (profile.st_uid, profile.st_gid, stat.S_IMODE(profile.st_mode)) == (1000, 1000, 0o600)
    assert profile.st_mtime == 1_500_000_000
    home = os.lstat(merged / "home" / "user")
    assert (home.st_uid, stat.S_IMODE(home.st_mode)) == (1000, 0o700)
    tool = os.lstat(merged / "bin" / "tool")
    assert stat.S_IMODE(tool.st_mode) == 0o4755 and tool.st_nlink == 2
    assert os.readlink(merged / "bin" / "alias") == "tool"
    null = os.lstat(merged / "dev" / "null")
    assert stat.S_ISCHR(null.st_mode) and null.st_rdev == os.makedev(1, 3)


def test_xattrs_are_kept_except_overlay_ones(store: ImageStore) -> None:
    image = store.get(add_image(store, [BASE]))
    cap = Path(store.layer_dirs(image)[0], "sbin", "cap")
    assert os.getxattr(cap, "user.origin") == b"base"
    with pytest.raises(OSError):
        os.getxattr(cap, "trusted.overlay.opaque")


def test_escapes_are_contained_with_real_privileges(store: ImageStore, tmp_path: Path) -> None:
    from sangja.errors import InvalidParameter

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "sentinel").write_bytes(b"untouched")
    contained = tar_bytes(
        [
            file(str(outside / "abs"), b"abs"),
            symlink("link", str(outside)),
            file("link/through-dir", b"x"),
            symlink("f", str(outside / "sentinel")),
            file("f", b"replaced"),
            chardev("link/dev", 1, 3),
        ]
    )
    image = store.get(add_image(store, [contained]))
    root = Path(store.layer_dirs(image)[0])
    assert sorted(os.listdir(outside)) == ["sentinel"]
    assert (outside / "sentinel").read_bytes() == b"untouched"
    inner = root / str(outside).lstrip("/")
    assert sorted(os.listdir(inner)) == ["abs", "dev", "through-dir"]
    for evil in (
        [file("../evil", b"x")],
        [directory("d"), symlink("d/up", "../../evil")],
        [hardlink("hl", "../outside/sentinel")],
    ):
        with pytest.raises(InvalidParameter):
            add_image(store, [tar_bytes(evil)])
    assert sorted(os.listdir(outside)) == ["sentinel"] and not (tmp_path / "evil").exists()
