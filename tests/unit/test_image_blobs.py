"""The content-addressed blob store."""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path

import pytest

from sangja.errors import InvalidParameter, NotFound
from sangja.image.blobs import BlobStore


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_put_stores_by_digest_read_only(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    digest = blobs.put_bytes(b"hello")
    assert digest == sha(b"hello")
    path = tmp_path / "blobs" / "sha256" / digest[7:]
    assert path.read_bytes() == b"hello"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o444
    assert blobs.read_bytes(digest) == b"hello"
    assert blobs.exists(digest) and digest in blobs.digests()


def test_stream_with_expected_digest_and_size(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    data = os.urandom(3 << 20)
    digest, size = blobs.put_stream(io.BytesIO(data), expected=sha(data), expected_size=len(data))
    assert (digest, size) == (sha(data), len(data))


def test_a_digest_mismatch_stores_nothing(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    with pytest.raises(InvalidParameter, match="unexpected commit digest"):
        blobs.put_bytes(b"evil", expected=sha(b"good"))
    with pytest.raises(InvalidParameter, match="unexpected commit size 4, expected 5"):
        blobs.put_stream(io.BytesIO(b"good"), expected_size=5)
    assert blobs.digests() == []
    assert list((tmp_path / "ingest").iterdir()) == []


def test_putting_the_same_blob_twice_is_harmless(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    assert blobs.put_bytes(b"x") == blobs.put_bytes(b"x")
    assert len(blobs.digests()) == 1


def test_missing_and_invalid_digests(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    with pytest.raises(NotFound):
        blobs.read_bytes(sha(b"nope"))
    with pytest.raises(InvalidParameter):
        blobs.path("sha256:../../etc/passwd")
    blobs.delete(sha(b"nope"))  # deleting what is not there is fine


def test_temp_paths_live_under_ingest_and_vanish(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    with blobs.temp_path(".tar") as p:
        assert p.parent == tmp_path / "ingest"
        p.mkdir()
        (p / "f").write_bytes(b"x")
    assert not p.exists()


def test_clear_ingest_drops_leftovers_of_a_crash(tmp_path: Path) -> None:
    BlobStore(tmp_path)
    (tmp_path / "ingest" / "half-written").write_bytes(b"partial")
    BlobStore(tmp_path).clear_ingest()
    assert list((tmp_path / "ingest").iterdir()) == []
