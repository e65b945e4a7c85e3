"""A container's writable layer read as changes and as a layer tar, for real (root: overlayfs,
whiteouts, trusted.* xattrs): changes made through a mounted overlay are committed as a layer,
that layer is registered in the image store, and a new overlay of the result shows them —
over three layers, with whiteouts and opaque directories. Every mount is undone in teardown."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from sangja.daemon.commit import child_image_config, register_layer_image
from sangja.image.fsops import HostFsOps
from sangja.image.rwlayer import ADD, DELETE, EMPTY_LAYER_DIFF_ID, MODIFY, Change, changes, write_layer_tar
from sangja.image.store import ImageStore
from tests.support.prereq import require_programs, require_root
from tests.unit.test_image_support import add_image, directory, file, symlink, tar_bytes

pytestmark = pytest.mark.root

BASE = tar_bytes(
    [
        directory("etc"),
        file("etc/passwd", b"root:x:0:0::/root:/bin/sh\n"),
        file("etc/secret", b"delete me"),
        directory("var/cache", mode=0o755),
        file("var/cache/old-1", b"1"),
        file("var/cache/old-2", b"2"),
        directory("data"),
        file("data/keep", b"keep"),
        file("bin/tool", b"#!/bin/sh\n", mode=0o755),
        symlink("bin/alias", "tool"),
    ]
)


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    require_root()
    return ImageStore(tmp_path / "image", HostFsOps())


class Overlays:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.mounted: list[Path] = []
        self.n = 0

    def mount(self, lowers: list[str]) -> tuple[Path, Path]:
        """(merged, upper) of a fresh overlay over `lowers` (top-most first)."""
        self.n += 1
        d = self.base / f"ovl{self.n}"
        upper, work, merged = d / "upper", d / "work", d / "merged"
        for p in (upper, work, merged):
            p.mkdir(parents=True)
        opts = f"lowerdir={':'.join(lowers)},upperdir={upper},workdir={work}"
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, str(merged)], check=True)
        self.mounted.append(merged)
        return merged, upper

    def umount(self, merged: Path) -> None:
        subprocess.run(["umount", str(merged)], check=True)
        self.mounted.remove(merged)


@pytest.fixture
def overlays(tmp_path: Path) -> Iterator[Overlays]:
    require_programs("mount", "umount")
    o = Overlays(tmp_path)
    yield o
    for point in reversed(o.mounted):
        subprocess.run(["umount", str(point)], check=False)
    with open("/proc/self/mountinfo") as f:
        leftovers = [line for line in f if str(tmp_path) in line]
    assert leftovers == [], leftovers


def commit(store: ImageStore, parent_id: str, upper: Path, tmp_path: Path) -> str:
    tar_path = tmp_path / f"layer-{len(os.listdir(tmp_path))}.tar"
    with open(tar_path, "wb") as out:
        write_layer_tar(str(upper), out)
    parent = store.get(parent_id).config
    return register_layer_image(
        store, parent_id, parent, tar_path,
        lambda diff_id: child_image_config(parent, diff_id, {"Cmd": ["sh"]}, comment="test"),
    )


def names_in(tar_path: Path) -> list[str]:
    with tarfile.open(tar_path) as tf:
        return tf.getnames()


def test_changes_of_an_upper_dir(store: ImageStore, overlays: Overlays) -> None:
    image = store.get(add_image(store, [BASE]))
    merged, upper = overlays.mount(store.layer_dirs(image))
    (merged / "etc" / "secret").unlink()
    (merged / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\nme:x:1:1:::\n")
    (merged / "new" / "deep").mkdir(parents=True)
    (merged / "new" / "deep" / "f").write_text("x")
    # A directory renamed (mv copies: overlayfs without redirect_dir), then made again: opaque.
    subprocess.run(["mv", str(merged / "var" / "cache"), str(merged / "var" / "moved")], check=True)
    (merged / "var" / "cache").mkdir()
    # The engine's own mount points are never changes.
    (merged / "etc" / "hostname").write_text("")
    (merged / "proc").mkdir()
    assert changes(str(upper), store.layer_dirs(image)) == [
        Change("/etc", MODIFY),
        Change("/etc/passwd", MODIFY),
        Change("/etc/secret", DELETE),
        Change("/new", ADD),
        Change("/new/deep", ADD),
        Change("/new/deep/f", ADD),
        Change("/var", MODIFY),
        Change("/var/cache", MODIFY),
        Change("/var/cache/old-1", DELETE),
        Change("/var/cache/old-2", DELETE),
        Change("/var/moved", ADD),
        Change("/var/moved/old-1", ADD),
        Change("/var/moved/old-2", ADD),
    ]
    # Nothing changed: nothing reported.
    _, upper2 = overlays.mount(store.layer_dirs(image))
    assert changes(str(upper2), store.layer_dirs(image)) == []


def test_commits_over_three_layers_keep_whiteouts_and_metadata(
    store: ImageStore, overlays: Overlays, tmp_path: Path
) -> None:
    base_id = add_image(store, [BASE])
    merged, upper = overlays.mount(store.layer_dirs(store.get(base_id)))
    (merged / "etc" / "secret").unlink()
    (merged / "data" / "owned").write_bytes(b"o")
    os.chown(merged / "data" / "owned", 1234, 5678)
    os.chmod(merged / "data" / "owned", 0o640)
    os.utime(merged / "data" / "owned", (1_600_000_000, 1_600_000_000))
    os.link(merged / "data" / "owned", merged / "data" / "owned-link")
    os.setxattr(merged / "data" / "owned", "user.note", b"hello")
    os.setxattr(merged / "data" / "owned", "security.capability",
                bytes.fromhex("0100000200200000000000000000000000000000"))
    subprocess.run(["rm", "-rf", str(merged / "var" / "cache")], check=True)
    (merged / "var" / "cache").mkdir()
    (merged / "var" / "cache" / "fresh").write_text("f")
    overlays.umount(merged)
    second = commit(store, base_id, upper, tmp_path)
    layers = store.layer_dirs(store.get(second))
    assert len(layers) == 2

    # A second commit over that one: restore the deleted file, delete one added before.
    merged, upper = overlays.mount(layers)
    assert not (merged / "etc" / "secret").exists()
    (merged / "etc" / "secret").write_text("back")
    (merged / "data" / "owned-link").unlink()
    (merged / "bin" / "alias").unlink()
    overlays.umount(merged)
    third = commit(store, second, upper, tmp_path)
    config = store.get(third).config
    assert len(config["rootfs"]["diff_ids"]) == 3
    assert [h.get("comment") for h in config["history"]][-2:] == ["test", "test"]

    merged, _ = overlays.mount(store.layer_dirs(store.get(third)))
    assert (merged / "etc" / "secret").read_text() == "back"
    assert not (merged / "bin" / "alias").exists()
    assert (merged / "bin" / "tool").exists()
    assert not (merged / "data" / "owned-link").exists()
    assert (merged / "data" / "keep").read_text() == "keep"
    assert sorted(os.listdir(merged / "var" / "cache")) == ["fresh"]
    owned = os.lstat(merged / "data" / "owned")
    assert (owned.st_uid, owned.st_gid, stat.S_IMODE(owned.st_mode)) == (1234, 5678, 0o640)
    assert owned.st_mtime == 1_600_000_000
    assert os.getxattr(merged / "data" / "owned", "user.note") == b"hello"
    assert os.getxattr(merged / "data" / "owned", "security.capability").hex().startswith("01000002")


def test_layer_tar_format(store: ImageStore, overlays: Overlays, tmp_path: Path) -> None:
    base_id = add_image(store, [BASE])
    merged, upper = overlays.mount(store.layer_dirs(store.get(base_id)))
    (merged / "etc" / "secret").unlink()
    (merged / "data" / "a").write_text("a")
    os.link(merged / "data" / "a", merged / "data" / "b")
    subprocess.run(["rm", "-rf", str(merged / "var" / "cache")], check=True)
    (merged / "var" / "cache").mkdir()
    overlays.umount(merged)
    out = tmp_path / "l.tar"
    with open(out, "wb") as f:
        write_layer_tar(str(upper), f)
    with tarfile.open(out) as tf:
        members = {m.name: m for m in tf.getmembers()}
    assert "etc/.wh.secret" in members
    assert "var/cache/.wh..wh..opq" in members
    assert members["data/b"].islnk() and members["data/b"].linkname == "data/a"
    assert members["data/"].isdir() if "data/" in members else members["data"].isdir()


def test_a_container_without_changes_commits_an_empty_layer(store: ImageStore, tmp_path: Path) -> None:
    base_id = add_image(store, [BASE])
    upper = tmp_path / "upper"
    upper.mkdir()
    buf = io.BytesIO()
    write_layer_tar(str(upper), buf)
    assert buf.getvalue() == b"\0" * 1024
    new = commit(store, base_id, upper, tmp_path)
    config = store.get(new).config
    assert config["rootfs"]["diff_ids"] == store.get(base_id).config["rootfs"]["diff_ids"]
    assert config["history"][-1]["empty_layer"] is True
    assert EMPTY_LAYER_DIFF_ID.endswith("5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef")
