"""`cp`'s view of a container: path → mount resolution over the rootfs (no daemon, no root)."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from sangja.daemon.archive import check_writable, resolve_path, write_view_tar
from sangja.daemon.archive_split import split_by_mount
from sangja.daemon.container_view import ContainerView, MountEntry, container_mounts, with_tmpfs_sources
from sangja.errors import InvalidParameter


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    root, vol, bind, host = (tmp_path / n for n in ("root", "vol", "bind", "host"))
    for p in (root / "etc", root / "data", root / "srv" / "conf", root / "var", root / "run" / "app", vol / "sub",
              bind, host / "etc"):
        p.mkdir(parents=True)
    (root / "etc" / "passwd").write_text("container\n")
    (host / "etc" / "passwd").write_text("host\n")
    (root / "data" / "hidden").write_text("under the mount\n")
    os.symlink("/run", root / "var" / "run")
    (vol / "file").write_text("in the volume\n")
    os.symlink("/etc/passwd", vol / "pw")
    os.symlink("../../../../../../../..", vol / "up")
    os.symlink("/srv", vol / "srv-link")
    (bind / "b").write_text("bound\n")
    return {"root": root, "vol": vol, "bind": bind, "host": host}


def _view(t: dict[str, Path]) -> ContainerView:
    return ContainerView(str(t["root"]), [
        MountEntry("/data", str(t["vol"])),
        MountEntry("/srv/conf/ro", str(t["bind"]), rw=False),
        MountEntry("/var/run/app/x", str(t["bind"])),     # through the rootfs link /var/run -> /run
    ])


def test_paths_in_mounts_map_to_their_sources(tree: dict[str, Path]) -> None:
    v = _view(tree)
    assert [m.destination for m in v.mounts] == ["/data", "/srv/conf/ro", "/run/app/x"]
    assert v.host_path("/data") == str(tree["vol"])
    assert v.host_path("/data/sub/f") == f"{tree['vol']}/sub/f"
    assert v.host_path("/srv/conf/ro/b") == f"{tree['bind']}/b"
    assert v.host_path("/srv/conf") == f"{tree['root']}/srv/conf"
    assert v.host_path("/") == str(tree["root"])
    assert v.resolve("/var/run/app/x/b") == "/run/app/x/b"
    assert v.host_path(v.resolve("/var/run/app/x/b")) == f"{tree['bind']}/b"
    assert v.mount_of("/datafile") is None and v.mount_of("/data") is not None
    assert [m.destination for m in v.mounts_below("/srv")] == ["/srv/conf/ro"]
    assert [m.destination for m in v.mounts_below("/")] == ["/data", "/srv/conf/ro", "/run/app/x"]


def test_links_in_a_volume_resolve_in_the_container_never_on_the_host(tree: dict[str, Path]) -> None:
    v = _view(tree)
    assert v.resolve("/data/pw") == "/etc/passwd"
    assert v.host_path(v.resolve("/data/pw")) == f"{tree['root']}/etc/passwd"    # the container's passwd
    assert v.resolve("/data/up/etc/passwd") == "/etc/passwd"                      # ".." stops at the root
    assert v.resolve("/data/srv-link/conf/ro/b") == "/srv/conf/ro/b"               # and into another mount
    assert v.resolve("/data/pw", follow_last=False) == "/data/pw"
    r = resolve_path(v, "/data/up/etc/passwd")
    assert r.host_path == f"{tree['root']}/etc/passwd"
    assert resolve_path(v, "/data/pw").host_path == f"{tree['vol']}/pw"          # a link is archived as a link


def test_deeper_mount_wins_and_destinations_resolve_through_earlier_mounts(tmp_path: Path) -> None:
    root, a, b = tmp_path / "root", tmp_path / "a", tmp_path / "b"
    for p in (root, a / "inner", b):
        p.mkdir(parents=True)
    os.symlink("/a/inner", a / "link")
    (b / "f").write_text("b\n")
    # Given deepest first: sorted by depth; the second destination is reached through a link in the first mount.
    v = ContainerView(str(root), [MountEntry("/a/link/deep", str(b)), MountEntry("/a", str(a))])
    assert [m.destination for m in v.mounts] == ["/a", "/a/inner/deep"]
    assert v.host_path(v.resolve("/a/link/deep/f")) == f"{b}/f"
    assert v.host_path("/a/inner") == f"{a}/inner"


def test_writes_follow_moby_read_only_rules(tree: dict[str, Path]) -> None:
    v = _view(tree)
    check_writable(v, "/data/sub", readonly_rootfs=True)          # a volume on a read-only rootfs: fine
    with pytest.raises(InvalidParameter, match=r"^mounted volume is marked read-only$"):
        check_writable(v, "/srv/conf/ro", readonly_rootfs=False)
    with pytest.raises(InvalidParameter, match=r"^container rootfs is marked read-only$"):
        check_writable(v, "/srv/conf", readonly_rootfs=True)
    check_writable(v, "/srv/conf", readonly_rootfs=False)
    # A --tmpfs is no MountPoint for moby: a read-only rootfs refuses it.
    t = ContainerView(str(tree["root"]), [MountEntry("/tmp", str(tree["bind"]), rw=True, mount_point=False)])
    with pytest.raises(InvalidParameter, match="rootfs is marked read-only"):
        check_writable(t, "/tmp", readonly_rootfs=True)


def test_record_mounts_and_tmpfs_of_a_running_container(tree: dict[str, Path]) -> None:
    mps = [
        {"Type": "volume", "Name": "v1", "Destination": "/data", "RW": True},
        {"Type": "bind", "Source": str(tree["bind"]), "Destination": "/srv/conf/ro", "RW": False},
        {"Type": "tmpfs", "Source": "", "Destination": "/scratch", "RW": True},
    ]
    sources = {"v1": str(tree["vol"])}
    stopped = container_mounts(mps, {"/tmp": "size=1m"}, 0, sources.__getitem__)
    assert [(m.destination, m.source, m.rw) for m in stopped] == [
        ("/data", str(tree["vol"]), True), ("/srv/conf/ro", str(tree["bind"]), False)]
    running = container_mounts(mps, {"/tmp": "ro,size=1m"}, 4242, sources.__getitem__)
    v = with_tmpfs_sources(str(tree["root"]), running, 4242)
    by_dest = {m.destination: m for m in v.mounts}
    assert by_dest["/scratch"].source == "/proc/4242/root/scratch" and by_dest["/scratch"].mount_point
    assert by_dest["/tmp"].source == "/proc/4242/root/tmp" and not by_dest["/tmp"].rw
    assert not by_dest["/tmp"].mount_point


def test_a_directory_archive_holds_what_is_mounted_below_it(tree: dict[str, Path]) -> None:
    v = _view(tree)
    out = io.BytesIO()
    write_view_tar(v, resolve_path(v, "/"), ".", out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tf:
        names = tf.getnames()
        assert "./data/file" in names and "./data/hidden" not in names     # the volume, not the dir under it
        assert "./srv/conf/ro/b" in names and "./run/app/x/b" in names
        f = tf.extractfile("./data/file")
        assert f is not None and f.read() == b"in the volume\n"
    out = io.BytesIO()
    write_view_tar(v, resolve_path(v, "/data"), "data", out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tf:
        assert sorted(tf.getnames()) == ["data", "data/file", "data/pw", "data/srv-link", "data/sub", "data/up"]


def _tar(path: Path, entries: list[tuple[str, bytes | None]]) -> None:
    with tarfile.open(path, "w") as tf:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tf.addfile(info)
            else:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))


def _names(path: Path) -> list[str]:
    with tarfile.open(path) as tf:
        return tf.getnames()


def test_a_tar_is_split_by_the_mounts_below_the_extraction_point(tree: dict[str, Path], tmp_path: Path) -> None:
    v = ContainerView(str(tree["root"]), [MountEntry("/data", str(tree["vol"])),
                                          MountEntry("/data/sub/deep", str(tree["bind"]))])
    tar = tmp_path / "in.tar"
    _tar(tar, [("top", b"t"), ("data", None), ("data/a", b"a"), ("./data/sub/deep/b", b"b"), ("etc/x", b"x")])
    with split_by_mount(tar, v, "/") as parts:
        got = {host: _names(p) for host, p in parts}
        assert got == {
            str(tree["root"]): ["top", "etc/x"],
            str(tree["vol"]): [".", "a"],
            str(tree["bind"]): ["b"],
        }
        made = [p for _, p in parts]
    assert all(not p.exists() for p in made)           # the parts are removed afterwards
    _tar(tar, [("c", b"c"), ("deep/b", b"b")])
    with split_by_mount(tar, v, "/data/sub") as parts:  # extraction inside a mount: one mount below
        assert {host: _names(p) for host, p in parts} == {f"{tree['vol']}/sub": ["c"], str(tree["bind"]): ["b"]}
    plain = ContainerView(str(tree["root"]))
    with split_by_mount(tar, plain, "/etc") as parts:   # nothing mounted below: the tar as it is
        assert parts == [(f"{tree['root']}/etc", tar)]


def test_a_split_into_a_read_only_mount_below_is_refused(tree: dict[str, Path], tmp_path: Path) -> None:
    v = ContainerView(str(tree["root"]), [MountEntry("/ro", str(tree["bind"]), rw=False)])
    tar = tmp_path / "in.tar"
    _tar(tar, [("fine", b"1")])
    with split_by_mount(tar, v, "/") as parts:
        assert [host for host, _ in parts] == [str(tree["root"])]
    _tar(tar, [("fine", b"1"), ("ro/x", b"2")])
    with pytest.raises(InvalidParameter, match="read-only file system"), split_by_mount(tar, v, "/"):
        pass
    assert sorted(os.listdir(tmp_path)) == sorted(["in.tar", "root", "vol", "bind", "host"])
