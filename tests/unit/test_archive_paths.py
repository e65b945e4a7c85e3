"""Pure parts of `cp` and the archive endpoints: path resolution inside a root, Go file modes,
and the CLI's naming rules (no daemon, no root)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sangja.cli.commands.cp import _copy_plan, _rebased, split_cp_arg
from sangja.cli.errors import CLIError
from sangja.daemon.archive import absolute_path, go_file_mode, resolve_path


def test_absolute_path_keeps_trailing_dot_and_separator() -> None:
    assert absolute_path("etc/passwd") == "/etc/passwd"
    assert absolute_path("/a/../b/") == "/b/"
    assert absolute_path("/a/b/.") == "/a/b/."
    assert absolute_path("../../etc") == "/etc"
    assert absolute_path("/") == "/"


def test_resolve_path_follows_links_inside_the_root_only(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "srv" / "etc").mkdir(parents=True)
    os.symlink("/srv/etc", root / "srv" / "abs")
    os.symlink("../../../../..", root / "srv" / "up")
    os.symlink("/etc/passwd", root / "srv" / "pw")
    r = resolve_path(str(root), "/srv/abs/app.conf")
    assert r.host_path == f"{root}/srv/etc/app.conf"
    r = resolve_path(str(root), "/srv/up/etc/passwd")
    assert r.host_path == f"{root}/etc/passwd"          # never the host's /etc/passwd
    r = resolve_path(str(root), "/srv/pw")
    assert r.host_path == f"{root}/srv/pw"              # the last element is not followed
    assert resolve_path(str(root), "/srv/etc/.").host_path == f"{root}/srv/etc/."


def test_go_file_modes() -> None:
    assert go_file_mode(stat.S_IFDIR | 0o755) == (1 << 31) | 0o755
    assert go_file_mode(stat.S_IFLNK | 0o777) == (1 << 27) | 0o777
    assert go_file_mode(stat.S_IFREG | 0o4755) == (1 << 23) | 0o755
    assert go_file_mode(stat.S_IFCHR | 0o666) == (1 << 26) | (1 << 21) | 0o666


def test_cp_argument_split() -> None:
    assert split_cp_arg("web:/etc") == ("web", "/etc")
    assert split_cp_arg("/abs:path") == ("", "/abs:path")
    assert split_cp_arg("./rel:x") == ("", "./rel:x")
    assert split_cp_arg("-") == ("", "-")


def test_cp_rebase_names() -> None:
    assert _rebased("app", "app", "copy") == "copy"
    assert _rebased("app/main", "app", "copy") == "copy/main"
    assert _rebased("other/x", "app", "copy") is None
    assert _rebased("./x", ".", "dst") == "dst/x"


def test_cp_copy_plan(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("x")
    # into an existing directory: keep the name
    assert _copy_plan("app", True, False, str(tmp_path / "dir"), "") == (str(tmp_path / "dir"), "app", "")
    # to a new path: take its name
    assert _copy_plan("app", True, False, str(tmp_path / "new"), "") == (str(tmp_path), "app", "new")
    # a file over a file: replace it
    assert _copy_plan("f", False, False, str(tmp_path / "file"), "") == (str(tmp_path), "f", "file")
    with pytest.raises(CLIError, match="cannot copy a directory to a file"):
        _copy_plan("app", True, False, str(tmp_path / "file"), "")
    with pytest.raises(CLIError, match="no such directory"):
        _copy_plan("f", False, False, str(tmp_path / "missing" / "x"), "")
