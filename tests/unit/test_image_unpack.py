"""Unpacking layer tars (without root: RecordingFsOps stands in for the privileged calls), the
containment rules, and rebuilding the exact tar from the unpacked layer."""

from __future__ import annotations

import gzip
import os
import stat
import tarfile
from pathlib import Path

import pytest

from sangja.errors import InvalidParameter, System
from sangja.image.fsops import RecordingFsOps
from sangja.image.layers import LayerStore
from sangja.image.unpack import clean_name, unpack_layer
from tests.unit.test_image_support import (
    Entry,
    chardev,
    digest,
    directory,
    fifo,
    file,
    hardlink,
    symlink,
    tar_bytes,
)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory next to the layer with a sentinel file nothing may touch."""
    d = tmp_path / "outside"
    d.mkdir()
    (d / "sentinel").write_bytes(b"untouched")
    return d


def unpack(tmp_path: Path, entries: list[Entry], ops: RecordingFsOps | None = None, name: str = "dest") -> Path:
    tar = tmp_path / f"{name}.tar"
    tar.write_bytes(tar_bytes(entries))
    dest = tmp_path / name
    dest.mkdir()
    unpack_layer(tar, dest, ops or RecordingFsOps())
    return dest


def snapshot(d: Path) -> dict[str, bytes | str]:
    out: dict[str, bytes | str] = {}
    for p in sorted(d.rglob("*")):
        out[str(p.relative_to(d))] = "dir" if p.is_dir() and not p.is_symlink() else (
            f"-> {os.readlink(p)}" if p.is_symlink() else p.read_bytes())
    return out


def test_files_dirs_modes_times_links_and_owners(tmp_path: Path) -> None:
    ops = RecordingFsOps()
    dest = unpack(
        tmp_path,
        [
            directory("bin", mode=0o755, mtime=1_000_000),
            file("bin/busybox", b"elf", mode=0o4755, uid=5, gid=6, mtime=2_000_000),
            symlink("bin/sh", "busybox"),
            # A hard link's header applies to the shared inode: real tars repeat the target's.
            Entry("bin/hl", tarfile.LNKTYPE, mode=0o4755, uid=5, gid=6, mtime=2_000_000, linkname="bin/busybox"),
            directory("tmp", mode=0o1777),
            fifo("run.fifo"),
            chardev("dev/null", 1, 3),
            file("x", b"hi", pax={"SCHILY.xattr.user.note": "v", "SCHILY.xattr.trusted.overlay.redirect": "/etc"}),
        ],
        ops,
    )
    busybox = dest / "bin" / "busybox"
    assert busybox.read_bytes() == b"elf"
    assert stat.S_IMODE(busybox.stat().st_mode) == 0o4755
    assert busybox.stat().st_mtime == 2_000_000
    assert (dest / "bin").stat().st_mtime == 1_000_000  # directory times are set last
    assert os.readlink(dest / "bin" / "sh") == "busybox"
    assert (dest / "bin" / "hl").stat().st_ino == busybox.stat().st_ino
    assert stat.S_IMODE((dest / "tmp").stat().st_mode) == 0o1777
    assert stat.S_ISFIFO((dest / "run.fifo").lstat().st_mode)
    assert ops.chowns[str(busybox)] == (5, 6)
    assert ops.devices[str(dest / "dev" / "null")] == (stat.S_IFCHR | 0o666, os.makedev(1, 3))
    # trusted.overlay.* from a tar could redirect overlayfs: only whiteouts may set them.
    assert ops.xattrs[str(dest / "x")] == {"user.note": b"v"}


def test_whiteouts_and_opaque_directories(tmp_path: Path) -> None:
    ops = RecordingFsOps()
    dest = unpack(
        tmp_path,
        [
            directory("etc"),
            file("etc/.wh.gone"),
            directory("var/cache"),
            file("var/cache/.wh..wh..opq"),
            file(".wh..wh.plnk/123"),
            file("keep", b"k"),
        ],
        ops,
    )
    assert ops.whiteouts == {str(dest / "etc" / "gone")}
    assert ops.opaque == {str(dest / "var" / "cache")}
    assert not (dest / "etc" / ".wh.gone").exists()
    assert not (dest / ".wh..wh.plnk").exists()
    assert not (dest / "var" / "cache" / ".wh..wh..opq").exists()


def test_a_tar_that_is_not_a_layer_keeps_wh_files_as_files(tmp_path: Path) -> None:
    """`cp` into a container: moby's Untar without a whiteout format deletes nothing."""
    ops = RecordingFsOps()
    tar = tmp_path / "cp.tar"
    tar.write_bytes(tar_bytes([file("etc/x", b"x"), file("etc/.wh.x", b"w"), file("var/.wh..wh..opq", b"o")]))
    dest = tmp_path / "dest"
    dest.mkdir()
    unpack_layer(tar, dest, ops, whiteouts=False)
    assert (dest / "etc" / "x").read_bytes() == b"x"
    assert (dest / "etc" / ".wh.x").read_bytes() == b"w"
    assert (dest / "var" / ".wh..wh..opq").read_bytes() == b"o"
    assert not ops.whiteouts and not ops.opaque


def test_later_entries_replace_earlier_ones_but_directories_merge(tmp_path: Path) -> None:
    dest = unpack(
        tmp_path,
        [
            file("f", b"first"),
            file("f", b"second"),
            directory("d"),
            file("d/child", b"c"),
            directory("d", mode=0o700),
            file("was-dir/x", b"x"),
            file("was-dir", b"now a file"),
            symlink("s", "f"),
            file("s", b"replaced the link"),
        ],
    )
    assert (dest / "f").read_bytes() == b"second"
    assert (dest / "d" / "child").read_bytes() == b"c"
    assert stat.S_IMODE((dest / "d").stat().st_mode) == 0o700
    assert (dest / "was-dir").read_bytes() == b"now a file"
    assert not (dest / "s").is_symlink() and (dest / "s").read_bytes() == b"replaced the link"
    assert (dest / "f").read_bytes() == b"second"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a", "a"), ("./a/b/", "a/b"), ("/etc/x", "etc/x"), ("//x", "x"), ("/../x", "x"), ("a/../b", "b"),
     (".", ""), ("/", "")],
)
def test_names_are_cleaned_into_the_root(name: str, expected: str) -> None:
    assert clean_name(name) == expected


@pytest.mark.parametrize("name", ["../evil", "a/../../evil", "..", "./../x"])
def test_names_climbing_out_are_refused(tmp_path: Path, outside: Path, name: str) -> None:
    with pytest.raises(InvalidParameter, match="outside of the layer"):
        unpack(tmp_path, [file(name, b"evil")])
    assert snapshot(outside) == {"sentinel": b"untouched"}
    assert not (tmp_path / "evil").exists()


def test_absolute_names_are_contained(tmp_path: Path, outside: Path) -> None:
    dest = unpack(tmp_path, [file(str(outside / "sentinel"), b"evil")])
    assert (outside / "sentinel").read_bytes() == b"untouched"
    assert (dest / str(outside).lstrip("/") / "sentinel").read_bytes() == b"evil"


def test_relative_symlinks_escaping_the_root_are_refused(tmp_path: Path, outside: Path) -> None:
    with pytest.raises(InvalidParameter, match="invalid symlink"):
        unpack(tmp_path, [directory("a"), symlink("a/link", "../../outside")])


def test_absolute_symlinks_are_kept_and_resolved_inside_the_root(tmp_path: Path, outside: Path) -> None:
    dest = unpack(tmp_path, [symlink("link", str(outside)), file("link/sentinel", b"evil")])
    assert (outside / "sentinel").read_bytes() == b"untouched"
    assert os.readlink(dest / "link") == str(outside)
    assert (dest / str(outside).lstrip("/") / "sentinel").read_bytes() == b"evil"


def test_relative_symlink_inside_the_root_is_followed_inside(tmp_path: Path) -> None:
    dest = unpack(tmp_path, [directory("sub"), symlink("sub/up", ".."), file("sub/up/x", b"x")])
    assert (dest / "x").read_bytes() == b"x"


def test_a_symlink_is_never_written_through(tmp_path: Path, outside: Path) -> None:
    dest = unpack(tmp_path, [symlink("f", str(outside / "sentinel")), file("f", b"evil")])
    assert (outside / "sentinel").read_bytes() == b"untouched"
    assert not (dest / "f").is_symlink() and (dest / "f").read_bytes() == b"evil"


def test_hardlinks_out_of_the_root_are_refused(tmp_path: Path, outside: Path) -> None:
    with pytest.raises(InvalidParameter, match="invalid hardlink"):
        unpack(tmp_path, [hardlink("hl", "../outside/sentinel")], name="one")
    # An absolute link target names a path inside the root, where there is no such file.
    with pytest.raises(InvalidParameter, match="invalid hardlink"):
        unpack(tmp_path, [hardlink("hl", str(outside / "sentinel"))], name="two")
    assert (outside / "sentinel").stat().st_nlink == 1


def test_hardlink_through_a_symlink_resolves_inside_the_root(tmp_path: Path) -> None:
    dest = unpack(tmp_path, [file("etc/passwd", b"inside"), symlink("root", "/"), hardlink("hl", "root/etc/passwd")])
    assert (dest / "hl").stat().st_ino == (dest / "etc" / "passwd").stat().st_ino
    assert (dest / "hl").stat().st_ino != os.stat("/etc/passwd").st_ino


def test_symlink_loops_are_an_error_not_a_hang(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter, match="too many levels of symbolic links"):
        unpack(tmp_path, [symlink("a", "b"), symlink("b", "a"), file("a/x", b"x")])


def test_corrupt_and_truncated_tars_are_refused(tmp_path: Path) -> None:
    good = tar_bytes([file("big", os.urandom(100_000))])
    (tmp_path / "bad.tar").write_bytes(b"this is not a tar archive at all" * 40)
    (tmp_path / "short.tar").write_bytes(good[:20_000])
    for name in ("bad.tar", "short.tar"):
        dest = tmp_path / f"dest-{name}"
        dest.mkdir()
        with pytest.raises(InvalidParameter, match="invalid tar archive"):
            unpack_layer(tmp_path / name, dest, RecordingFsOps())


def test_an_empty_stream_is_an_empty_layer(tmp_path: Path) -> None:
    (tmp_path / "empty.tar").write_bytes(b"")
    (tmp_path / "d").mkdir()
    assert unpack_layer(tmp_path / "empty.tar", tmp_path / "d", RecordingFsOps()) == []


def test_unsupported_entry_types_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter, match="unhandled tar header type"):
        unpack(tmp_path, [Entry("vol", b"V")])


# -- the layer store ----------------------------------------------------------------------


def read_all(reader: object) -> bytes:
    out = b""
    while chunk := reader.read(5000):  # type: ignore[attr-defined]
        out += chunk
    return out


def test_layer_tar_is_rebuilt_byte_for_byte(tmp_path: Path) -> None:
    entries = [
        directory("bin"),
        file("bin/busybox", os.urandom(70_000), mode=0o755),
        symlink("bin/sh", "busybox"),
        hardlink("bin/hl", "bin/busybox", mode=0o755),
        file("a" * 150 + "/long", b"long name"),
        file("dup", b"first version"),
        file("dup", b"second"),
        file("etc/.wh.gone"),
        file("x", b"xattr", pax={"SCHILY.xattr.user.a": "1"}),
        file("replaced/child", b"gone later"),
        file("replaced", b"file now"),
        file("empty"),
    ]
    for fmt in (tarfile.PAX_FORMAT, tarfile.GNU_FORMAT):
        raw = tar_bytes(entries, fmt)
        store = LayerStore(tmp_path / f"layers-{fmt}", RecordingFsOps())
        (tmp_path / "in.tar").write_bytes(raw)
        layer = store.register(tmp_path / "in.tar", digest(raw))
        assert layer.chain_id == digest(raw) and layer.tar_size == len(raw)
        assert read_all(store.tar_reader(layer.chain_id)) == raw


def test_registration_is_idempotent_and_chains_stack(tmp_path: Path) -> None:
    store = LayerStore(tmp_path / "layers", RecordingFsOps())
    base, top = tar_bytes([file("a", b"a")]), tar_bytes([file("b", b"b")])
    (tmp_path / "base.tar").write_bytes(base)
    (tmp_path / "top.tar").write_bytes(top)
    first = store.register(tmp_path / "base.tar", digest(base))
    assert store.register(tmp_path / "base.tar", digest(base)) == first
    upper = store.register(tmp_path / "top.tar", digest(top), first.chain_id)
    assert upper.parent == first.chain_id and upper.chain_id != digest(top)
    assert sorted(store.chain_ids()) == sorted([first.chain_id, upper.chain_id])
    assert (store.diff_dir(upper.chain_id) / "b").read_bytes() == b"b"


def test_size_counts_files_and_symlink_targets_once_per_inode(tmp_path: Path) -> None:
    raw = tar_bytes([file("f", b"12345"), hardlink("h", "f"), symlink("s", "abc"), directory("d")])
    (tmp_path / "l.tar").write_bytes(raw)
    layer = LayerStore(tmp_path / "layers", RecordingFsOps()).register(tmp_path / "l.tar", digest(raw))
    assert layer.size == 5 + 3


def test_a_failed_registration_leaves_nothing(tmp_path: Path) -> None:
    store = LayerStore(tmp_path / "layers", RecordingFsOps())
    raw = tar_bytes([file("../evil", b"x")])
    (tmp_path / "l.tar").write_bytes(raw)
    with pytest.raises(InvalidParameter):
        store.register(tmp_path / "l.tar", digest(raw))
    assert list((tmp_path / "layers").iterdir()) == []


def test_leftovers_of_a_crash_are_cleaned(tmp_path: Path) -> None:
    store = LayerStore(tmp_path / "layers", RecordingFsOps())
    (tmp_path / "layers" / ".tmp-abc" / "diff").mkdir(parents=True)
    (tmp_path / "layers" / ".del-def").mkdir()
    store.cleanup()
    assert list((tmp_path / "layers").iterdir()) == []


def test_a_modified_layer_does_not_export_silently(tmp_path: Path) -> None:
    store = LayerStore(tmp_path / "layers", RecordingFsOps())
    raw = tar_bytes([file("f", b"original!")])
    (tmp_path / "l.tar").write_bytes(raw)
    layer = store.register(tmp_path / "l.tar", digest(raw))
    (store.diff_dir(layer.chain_id) / "f").write_bytes(b"tampered!")  # same size
    with pytest.raises(System, match="failed to verify layer data"):
        read_all(store.tar_reader(layer.chain_id))
    (store.diff_dir(layer.chain_id) / "f").write_bytes(b"short")
    with pytest.raises(System, match="layer content changed"):
        read_all(store.tar_reader(layer.chain_id))


def test_gzip_is_not_the_unpackers_business(tmp_path: Path) -> None:
    # The unpacker takes uncompressed tars only; compression is handled before it.
    (tmp_path / "l.tar.gz").write_bytes(gzip.compress(tar_bytes([file("f")])))
    (tmp_path / "d").mkdir()
    with pytest.raises(InvalidParameter):
        unpack_layer(tmp_path / "l.tar.gz", tmp_path / "d", RecordingFsOps())
