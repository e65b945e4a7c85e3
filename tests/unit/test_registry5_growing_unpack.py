"""Unpacking a layer tar while it is still being written (the pull's inflate → unpack overlap):
the result is the same as unpacking the finished file, a tar cut short is refused, and an
aborted download stops the unpacking."""

from __future__ import annotations

import io
import os
import tarfile
import threading
from pathlib import Path

import pytest

from sangja.distribution.follow import Aborted, GrowingFile
from sangja.errors import InvalidParameter
from sangja.image.fsops import RecordingFsOps
from sangja.image.unpack import PayloadRef, unpack_layer


def layer_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        d = tarfile.TarInfo("data")
        d.type = tarfile.DIRTYPE
        d.mode = 0o755
        tf.addfile(d)
        for i in range(6):
            body = os.urandom(300_000 + i * 7)
            info = tarfile.TarInfo(f"data/f{i}")
            info.size = len(body)
            info.mode = 0o644
            info.mtime = 1_700_000_000 + i
            tf.addfile(info, io.BytesIO(body))
    return buf.getvalue()


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def write_slowly(path: Path, data: bytes, growing: GrowingFile, stop_at: int | None, finish: bool) -> None:
    """Write `data` in small steps, telling `growing` after each one (as inflate_to does)."""
    end = len(data) if stop_at is None else stop_at
    with path.open("xb", buffering=0) as out:
        pos = 0
        while pos < end:
            step = data[pos:min(pos + 70_001, end)]
            out.write(step)
            pos += len(step)
            growing.advance(pos)
    if finish:
        growing.finish()
    else:
        growing.abort()


def unpack_growing(tmp_path: Path, data: bytes, stop_at: int | None = None,
                   finish: bool = True) -> tuple[Path, list[PayloadRef]]:
    tar, dest = tmp_path / "layer.tar", tmp_path / "growing"
    dest.mkdir()
    growing = GrowingFile(tar)
    writer = threading.Thread(target=write_slowly, args=(tar, data, growing, stop_at, finish))
    writer.start()
    try:
        refs = unpack_layer(tar, dest, RecordingFsOps(), growing)
    finally:
        growing.abort()  # never leave the writer's reader blocked
        writer.join(timeout=30)
        growing.close()
    return dest, refs


def test_unpacking_a_growing_tar_gives_what_the_finished_tar_gives(tmp_path: Path) -> None:
    data = layer_tar()
    done = tmp_path / "done.tar"
    done.write_bytes(data)
    expected = tmp_path / "expected"
    expected.mkdir()
    refs_done = unpack_layer(done, expected, RecordingFsOps())
    got, refs = unpack_growing(tmp_path, data)
    assert snapshot(got) == snapshot(expected) and len(snapshot(got)) == 6
    assert [(r.offset, r.size, r.path) for r in refs] == [(r.offset, r.size, r.path) for r in refs_done]


def test_a_growing_tar_cut_short_is_refused(tmp_path: Path) -> None:
    data = layer_tar()
    with pytest.raises(InvalidParameter, match="invalid tar archive"):
        unpack_growing(tmp_path, data, stop_at=len(data) // 2)


def test_an_aborted_download_stops_the_unpacking(tmp_path: Path) -> None:
    data = layer_tar()
    with pytest.raises(Aborted):
        unpack_growing(tmp_path, data, stop_at=len(data) // 2, finish=False)


def test_an_empty_growing_tar_is_an_empty_layer(tmp_path: Path) -> None:
    dest, refs = unpack_growing(tmp_path, b"")
    assert refs == []
    assert list(dest.iterdir()) == []
