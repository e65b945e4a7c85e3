"""runtime.user: --user resolution against a fake rootfs, with Docker's errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sangja.errors import System
from sangja.runtime.user import lookup_user, resolve_in_root, resolve_user

PASSWD = """\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
dup:x:2000:2000::/first:/bin/sh
dup:x:2001:2001::/second:/bin/sh
broken:x:notanumber:7::/b:/bin/sh
"""
GROUP = """\
root:x:0:
wheel:x:10:root
daemon:x:1:
www-data:x:33:nobody
users:x:100:nobody,www-data
nogroup:x:65534:
"""


@pytest.fixture
def rootfs(tmp_path: Path) -> str:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text(PASSWD)
    (tmp_path / "etc/group").write_text(GROUP)
    return str(tmp_path)


def test_default_is_root_with_its_groups(rootfs: str) -> None:
    assert resolve_user(rootfs, "") == (0, 0, (0, 10))


def test_by_name(rootfs: str) -> None:
    assert resolve_user(rootfs, "nobody") == (65534, 65534, (65534, 33, 100))
    assert lookup_user(rootfs, "www-data").home == "/var/www"


def test_by_uid_with_and_without_entry(rootfs: str) -> None:
    assert resolve_user(rootfs, "33") == (33, 33, (33, 100))
    assert resolve_user(rootfs, "4242") == (4242, 0, (0,))


def test_explicit_group_replaces_supplementary_groups(rootfs: str) -> None:
    assert resolve_user(rootfs, "nobody:users") == (65534, 100, (100,))
    assert resolve_user(rootfs, "1000:1000") == (1000, 1000, (1000,))
    assert resolve_user(rootfs, "33:0") == (33, 0, (0,))
    assert resolve_user(rootfs, "4242:wheel") == (4242, 10, (10,))


def test_first_entry_wins(rootfs: str) -> None:
    assert lookup_user(rootfs, "dup").uid == 2000


def test_unknown_user_and_group(rootfs: str) -> None:
    with pytest.raises(System) as e:
        resolve_user(rootfs, "nosuch")
    assert str(e.value) == "unable to find user nosuch: no matching entries in passwd file"
    with pytest.raises(System) as e:
        resolve_user(rootfs, "root:nosuch")
    assert str(e.value) == "unable to find group nosuch: no matching entries in group file"


def test_out_of_range_ids(rootfs: str) -> None:
    with pytest.raises(System, match=r"^uids and gids must be in range 0-2147483647$"):
        resolve_user(rootfs, "2147483648")
    with pytest.raises(System, match="range"):
        resolve_user(rootfs, "0:-1")


def test_missing_files(tmp_path: Path) -> None:
    assert resolve_user(str(tmp_path), "") == (0, 0, (0,))
    assert resolve_user(str(tmp_path), "5:6") == (5, 6, (6,))
    with pytest.raises(System, match="no matching entries in passwd file"):
        resolve_user(str(tmp_path), "root")


def test_group_add(rootfs: str) -> None:
    u = lookup_user(rootfs, "daemon", group_add=("wheel", "4000", "100"))
    assert u.additional_gids == (1, 10, 4000, 100)
    with pytest.raises(System, match=r"^Unable to find group nosuch: no matching entries in group file$"):
        lookup_user(rootfs, "", group_add=("nosuch",))


def test_symlinks_stay_inside_the_rootfs(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "etc").mkdir(parents=True)
    (outside / "etc/passwd").write_text("evil:x:0:0::/:/bin/sh\n")
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "real").mkdir()
    (root / "real/passwd").write_text("app:x:1234:1234::/app:/bin/sh\n")
    # An absolute link: resolved against the rootfs, not the host.
    os.symlink("/real/passwd", root / "etc/passwd")
    assert resolve_user(str(root), "app") == (1234, 1234, (1234,))
    # ".." can't climb out of the rootfs either.
    os.remove(root / "etc/passwd")
    os.symlink("../../../outside/etc/passwd", root / "etc/passwd")
    with pytest.raises(System, match="unable to find user evil"):
        resolve_user(str(root), "evil")
    assert resolve_in_root(str(root), "/etc/passwd") == f"{root}/outside/etc/passwd"


def test_symlink_loop_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    os.symlink("/etc/group", tmp_path / "etc/passwd")
    os.symlink("/etc/passwd", tmp_path / "etc/group")
    with pytest.raises(System, match="too many links"):
        resolve_in_root(str(tmp_path), "/etc/passwd")
