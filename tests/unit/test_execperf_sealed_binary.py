"""host/sealed_binary.py: the sealed in-memory copy runc is executed from (no root)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from sangja.host import sealed_binary


def _fake_runc(tmp_path: Path, prog: str = "true") -> Path:
    """A binary named runc: a copy of true or false (runc itself is not needed here)."""
    path = tmp_path / "runc"
    src = shutil.which(prog)
    assert src is not None
    shutil.copy2(src, path.with_suffix(".tmp"))
    os.replace(path.with_suffix(".tmp"), path)  # a new inode, as a package upgrade makes
    return path


def test_the_copy_is_sealed_like_runc_seals_its_own(tmp_path: Path) -> None:
    path = _fake_runc(tmp_path)
    fd = sealed_binary.copy_sealed(str(path))
    try:
        assert sealed_binary.seals(fd) == sealed_binary.RUNC_SEALS
        assert os.pread(fd, path.stat().st_size + 1, 0) == path.read_bytes()
        with pytest.raises(PermissionError):
            os.pwrite(fd, b"\0", 0)
        with pytest.raises(PermissionError):
            os.ftruncate(fd, 0)
        assert os.get_inheritable(fd) is False
    finally:
        os.close(fd)


def test_runs_from_the_copy_and_follows_an_upgrade(tmp_path: Path) -> None:
    path = _fake_runc(tmp_path, "true")
    copy = sealed_binary.SealedBinary(str(path))
    try:
        exe = copy.executable()
        assert exe.startswith(f"/proc/{os.getpid()}/fd/")
        assert os.readlink(exe).startswith("/memfd:runc")
        assert subprocess.run([str(path)], executable=exe, check=False).returncode == 0
        assert copy.executable() == exe  # unchanged file: the same copy
        _fake_runc(tmp_path, "false")  # "upgraded"
        new = copy.executable()
        assert subprocess.run([str(path)], executable=new, check=False).returncode == 1
    finally:
        copy.close()


def test_only_runc_and_only_an_existing_file(tmp_path: Path) -> None:
    crun = tmp_path / "crun"
    shutil.copy2(_fake_runc(tmp_path), crun)
    assert sealed_binary.runtime_executable(str(crun)) == str(crun)
    missing = tmp_path / "gone" / "runc"
    assert sealed_binary.runtime_executable(str(missing)) == str(missing)
    path = _fake_runc(tmp_path)
    exe = sealed_binary.runtime_executable(str(path))
    try:
        assert exe != str(path) and os.readlink(exe).startswith("/memfd:runc")
    finally:
        sealed_binary._copies.pop(str(path)).close()


def test_a_copy_that_cannot_be_made_falls_back_to_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _fake_runc(tmp_path)

    def refuse(_path: str) -> int:
        raise OSError("no memfd here")

    monkeypatch.setattr(sealed_binary, "copy_sealed", refuse)
    assert sealed_binary.SealedBinary(str(path)).executable() == str(path)
