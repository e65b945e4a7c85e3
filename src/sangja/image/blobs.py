"""The content-addressed blob store (image configs, and scratch space for incoming data).

Layout, like containerd's content store:

    <root>/blobs/sha256/<hex>    committed blobs, read-only (0444), named by their digest
    <root>/ingest/<random>       data being written; removed on commit, abort or restart

A blob is written to ingest/, its size and digest checked, fsynced and only then renamed into
place. A mismatch raises InvalidParameter and stores nothing. The ingest directory also holds
the store's other temporary files (request bodies, decompressed layers), so they live on the
same filesystem as their destination and are cleaned by the same rule.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from sangja.errors import InvalidParameter, NotFound
from sangja.image.fsutil import fsync_dir, remove_tree
from sangja.image.ids import is_sha256_digest

CHUNK = 1 << 20


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.blob_dir = root / "blobs" / "sha256"
        self.ingest_dir = root / "ingest"
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        self.ingest_dir.mkdir(parents=True, exist_ok=True)

    def clear_ingest(self) -> None:
        """Drop everything a previous run left half-written. Call only when nothing is in flight."""
        for entry in self.ingest_dir.iterdir():
            remove_tree(entry)

    def path(self, digest: str) -> Path:
        if not is_sha256_digest(digest):
            raise InvalidParameter(f"invalid digest {digest!r}")
        return self.blob_dir / digest[7:]

    def exists(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def read_bytes(self, digest: str) -> bytes:
        try:
            return self.path(digest).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"blob {digest} not found") from None

    def digests(self) -> list[str]:
        return ["sha256:" + p.name for p in self.blob_dir.iterdir() if len(p.name) == 64]

    def delete(self, digest: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(digest))

    @contextlib.contextmanager
    def temp_path(self, suffix: str = "") -> Iterator[Path]:
        """A fresh path under ingest/, removed (file or tree) when the block ends."""
        path = self.ingest_dir / f"{uuid.uuid4().hex}{suffix}"
        try:
            yield path
        finally:
            remove_tree(path)

    def put_bytes(self, data: bytes, expected: str | None = None) -> str:
        digest, _ = self.put_stream(io.BytesIO(data), expected, len(data))
        return digest

    def put_stream(
        self, src: BinaryIO, expected: str | None = None, expected_size: int | None = None
    ) -> tuple[str, int]:
        """Copy `src` into the store; return (digest, size). With `expected`/`expected_size`
        the content must match or nothing is stored."""
        with self.temp_path() as tmp:
            h = hashlib.sha256()
            size = 0
            with tmp.open("wb") as out:
                while chunk := src.read(CHUNK):
                    h.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            digest = "sha256:" + h.hexdigest()
            self._check(digest, size, expected, expected_size)
            self._commit(tmp, digest)
        return digest, size

    def commit_file(self, tmp: Path, digest: str) -> None:
        """Move an ingest file whose digest the caller computed into place (the caller checked it)."""
        self._commit(tmp, digest)

    @staticmethod
    def _check(digest: str, size: int, expected: str | None, expected_size: int | None) -> None:
        if expected_size is not None and size != expected_size:
            raise InvalidParameter(f"unexpected commit size {size}, expected {expected_size}")
        if expected is not None and digest != expected:
            raise InvalidParameter(f"unexpected commit digest {digest}, expected {expected}")

    def _commit(self, tmp: Path, digest: str) -> None:
        target = self.path(digest)
        if target.exists():
            # Same digest, same content: the first writer wins and this copy is dropped.
            return
        os.chmod(tmp, 0o444)
        os.rename(tmp, target)
        fsync_dir(self.blob_dir)
