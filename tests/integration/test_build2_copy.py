"""The COPY helpers of the classic builder on a real file system, as root: without --chown the
copied files and the directories made for them belong to root (docker's rule), which only
root can do (moved here from tests/unit)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sangja.builder.context import Owner, copy_sources, find_sources, source_checksum
from sangja.errors import InvalidParameter
from tests.support.prereq import require_root

pytestmark = pytest.mark.root


def test_copy_semantics_and_checksums(tmp_path: Path) -> None:
    require_root()
    ctx, root = tmp_path / "ctx", tmp_path / "root"
    (ctx / "dir" / "sub").mkdir(parents=True)
    root.mkdir()
    (ctx / "a.txt").write_text("a")
    (ctx / "dir" / "sub" / "b.txt").write_text("b")
    files = find_sources(ctx, ["a.txt"], "COPY")
    copy_sources(files, str(root), "renamed.txt", "/work", Owner(), 0o600)
    assert (root / "work" / "renamed.txt").read_text() == "a"
    assert (root / "work" / "renamed.txt").stat().st_mode & 0o777 == 0o600
    copy_sources(find_sources(ctx, ["dir"], "COPY"), str(root), "/d", "/", Owner(), None)
    assert (root / "d" / "sub" / "b.txt").read_text() == "b"       # a directory's contents
    copy_sources(find_sources(ctx, ["*.txt", "../dir"], "COPY"), str(root), "/m/", "/", Owner(), None)
    assert (root / "m" / "a.txt").exists() and (root / "m" / "sub" / "b.txt").exists()
    with pytest.raises(InvalidParameter, match="file not found in build context"):
        find_sources(ctx, ["nope"], "COPY")
    before = source_checksum(find_sources(ctx, ["dir"], "COPY"))
    (ctx / "dir" / "sub" / "b.txt").write_text("changed")
    assert source_checksum(find_sources(ctx, ["dir"], "COPY")) != before
    assert before.startswith("dir:") and source_checksum(files).startswith("file:")
