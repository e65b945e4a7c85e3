"""zstd layer streams (image/compression.py): one or several frames, skippable frames, and
truncated or corrupt data refused like a broken gzip stream."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest
import zstandard

from sangja.errors import InvalidParameter
from sangja.image.compression import detect, inflate_to

TAR = os.urandom(200_000) + b"layer" * 400_000


def _frames(data: bytes, n: int) -> bytes:
    step = len(data) // n + 1
    c = zstandard.ZstdCompressor(level=3)
    return b"".join(c.compress(data[i : i + step]) for i in range(0, len(data), step))


@pytest.mark.parametrize("frames", [1, 3])
def test_zstd_frames_inflate_with_both_digests(tmp_path: Path, frames: int) -> None:
    blob = _frames(TAR, frames)
    got = inflate_to(io.BytesIO(blob), tmp_path / "out")
    assert got.compression == "zstd"
    assert got.diff_id == "sha256:" + hashlib.sha256(TAR).hexdigest() and got.size == len(TAR)
    assert got.blob_digest == "sha256:" + hashlib.sha256(blob).hexdigest() and got.blob_size == len(blob)
    assert (tmp_path / "out").read_bytes() == TAR


def test_a_streamed_zstd_frame_and_a_skippable_frame(tmp_path: Path) -> None:
    out = io.BytesIO()
    with zstandard.ZstdCompressor().stream_writer(out, closefd=False) as w:   # no content size in the header
        w.write(TAR)
    skippable = b"\x50\x2a\x4d\x18" + (3).to_bytes(4, "little") + b"xyz"
    assert detect(skippable) == "zstd"
    got = inflate_to(io.BytesIO(skippable + out.getvalue()), tmp_path / "out")
    assert got.size == len(TAR) and got.compression == "zstd"


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_broken_zstd_is_refused(tmp_path: Path, damage: str) -> None:
    blob = bytearray(_frames(TAR, 2))
    if damage == "truncated":
        blob = blob[: len(blob) // 2]
    else:
        blob[4] = 0xFF      # the frame header descriptor: reserved bit set (literal bytes are not checked
                            # by zstd without a checksum; the diff ID check catches those)
    with pytest.raises(InvalidParameter, match="invalid zstd layer data"):
        inflate_to(io.BytesIO(bytes(blob)), tmp_path / "out")
