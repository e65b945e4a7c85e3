"""runtime.rootfs against a recording fake Mounter (no root needed)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from sangja.errors import System
from sangja.host.mounts import MNT_DETACH
from sangja.runtime.rootfs import MOUNT_DATA_MAX, is_mounted, mount_rootfs, unmount_rootfs


class FakeMounter:
    """Keeps a mount table; records calls; can be told the next unmount is busy."""

    def __init__(self) -> None:
        self.table: list[str] = []
        self.calls: list[tuple[str, ...]] = []
        self.busy = 0
        self.fail_mount: int | None = None
        self.seen_links: dict[str, str] = {}

    def mount(self, source: str, target: str, fstype: str, flags: int = 0, data: str = "") -> None:
        self.calls.append(("mount", source, target, fstype, data))
        if self.fail_mount is not None:
            raise OSError(self.fail_mount, os.strerror(self.fail_mount))
        # Check the fd-relative names resolve now, while the fd is open (as the kernel would).
        for part in data.split(",")[0].removeprefix("lowerdir=").split(":"):
            if part.startswith("/proc/self/fd/"):
                self.seen_links[part] = os.path.realpath(part)
        self.table.append(target)

    def unmount(self, target: str, flags: int = 0) -> None:
        self.calls.append(("unmount", target, str(flags)))
        if target not in self.table:
            raise OSError(errno.EINVAL, "not mounted")
        if self.busy and not flags & MNT_DETACH:
            self.busy -= 1
            raise OSError(errno.EBUSY, "busy")
        self.table.remove(target)

    def mountpoints(self) -> set[str]:
        return set(self.table)


def layer_dirs(tmp_path: Path, n: int, name_len: int = 8) -> list[str]:
    out = []
    for i in range(n):
        d = tmp_path / "layers" / (f"{i:04d}" + "x" * name_len) / "diff"
        d.mkdir(parents=True)
        out.append(str(d))
    return out


def test_mount_makes_dirs_and_orders_lowers_as_given(tmp_path: Path) -> None:
    m = FakeMounter()
    lowers = layer_dirs(tmp_path, 3)
    ctr = tmp_path / "ctr"
    merged = mount_rootfs(lowers, ctr, mounter=m)
    real = os.path.realpath(ctr)
    assert merged == f"{real}/merged"
    assert all((ctr / d).is_dir() for d in ("upper", "work", "merged"))
    ((_, source, target, fstype, data),) = m.calls
    assert (source, target, fstype) == ("overlay", merged, "overlay")
    assert data == f"lowerdir={':'.join(lowers)},upperdir={real}/upper,workdir={real}/work"
    assert is_mounted(merged, mounter=m)


def test_mount_is_idempotent(tmp_path: Path) -> None:
    m = FakeMounter()
    lowers = layer_dirs(tmp_path, 1)
    first = mount_rootfs(lowers, tmp_path / "ctr", mounter=m)
    assert mount_rootfs(lowers, tmp_path / "ctr", mounter=m) == first
    assert [c[0] for c in m.calls] == ["mount"]


def test_image_without_layers_gets_an_empty_lower(tmp_path: Path) -> None:
    m = FakeMounter()
    mount_rootfs([], tmp_path / "ctr", mounter=m)
    data = m.calls[0][4]
    empty = Path(os.path.realpath(tmp_path / "ctr")) / "empty"
    assert data.startswith(f"lowerdir={empty},")
    assert empty.is_dir() and not list(empty.iterdir())


def test_long_lower_lists_go_through_short_links(tmp_path: Path) -> None:
    m = FakeMounter()
    lowers = layer_dirs(tmp_path, 127, name_len=90)
    assert len(":".join(lowers)) > MOUNT_DATA_MAX
    mount_rootfs(lowers, tmp_path / "ctr", mounter=m)
    data = m.calls[0][4]
    assert len(data) <= MOUNT_DATA_MAX
    names = data.split(",")[0].removeprefix("lowerdir=").split(":")
    assert len(names) == 127
    # each short name resolved (while the fd was open) to the right layer, in order
    assert [m.seen_links[n] for n in names] == [os.path.realpath(p) for p in lowers]


def test_separators_in_paths_are_escaped(tmp_path: Path) -> None:
    m = FakeMounter()
    odd = tmp_path / "a,b:c"
    odd.mkdir()
    mount_rootfs([str(odd)], tmp_path / "ctr", mounter=m)
    assert "a\\,b\\:c" in m.calls[0][4]


def test_relative_lower_is_refused(tmp_path: Path) -> None:
    with pytest.raises(System, match="absolute"):
        mount_rootfs(["relative/dir"], tmp_path / "ctr", mounter=FakeMounter())


def test_kernel_refusal_is_a_system_error(tmp_path: Path) -> None:
    m = FakeMounter()
    m.fail_mount = errno.EINVAL
    with pytest.raises(System, match="error creating overlay mount"):
        mount_rootfs(layer_dirs(tmp_path, 1), tmp_path / "ctr", mounter=m)


def test_unmount_is_idempotent_and_detaches_when_busy(tmp_path: Path) -> None:
    m = FakeMounter()
    merged = mount_rootfs(layer_dirs(tmp_path, 1), tmp_path / "ctr", mounter=m)
    m.busy = 1
    unmount_rootfs(tmp_path / "ctr", mounter=m)
    assert not is_mounted(merged, mounter=m)
    assert m.calls[-2:] == [("unmount", merged, "0"), ("unmount", merged, str(MNT_DETACH))]
    assert (tmp_path / "ctr/upper").is_dir()      # the writable layer survives
    calls = len(m.calls)
    unmount_rootfs(tmp_path / "ctr", mounter=m)
    unmount_rootfs(tmp_path / "never-mounted", mounter=m)
    assert len(m.calls) == calls
