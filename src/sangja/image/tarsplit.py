"""Rebuild a layer's original tar, byte for byte, from its unpacked directory.

`docker save` must produce layer tars whose sha256 is the layer's diff ID, but keeping every
layer tar next to its unpacked copy would double the disk used. Like Docker's tar-split,
the store keeps only what the directory cannot give back: every byte of the tar that is not
a regular file's content (headers, padding, the end marker, and any payload whose file was
later replaced), plus, for each payload, the path of the file that holds it.

Index file (gzip-compressed):   b"SJTS1\\n" then records
    b"R" <u64 length> <bytes>                     raw tar bytes
    b"F" <u64 size> <u32 len> <path bytes>        `size` bytes from the file at <path>
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from sangja.errors import System
from sangja.image.unpack import PayloadRef

MAGIC = b"SJTS1\n"
CHUNK = 1 << 20


def write_index(tar_path: Path, refs: list[PayloadRef], index_path: Path) -> int:
    """Write the index of `tar_path` given where its payloads now live; return the tar's size."""
    total = os.path.getsize(tar_path)
    with tar_path.open("rb") as tar, gzip.open(index_path, "wb", compresslevel=6) as out:
        out.write(MAGIC)
        pos = 0
        for ref in sorted((r for r in refs if r.path is not None), key=lambda r: r.offset):
            assert ref.path is not None
            if ref.offset < pos:
                continue
            _copy_raw(tar, out, pos, ref.offset - pos)
            path = os.fsencode(ref.path)
            out.write(b"F" + struct.pack(">QI", ref.size, len(path)) + path)
            pos = ref.offset + ref.size
        _copy_raw(tar, out, pos, total - pos)
        out.flush()
    return total


def _copy_raw(tar: BinaryIO, out: gzip.GzipFile, start: int, length: int) -> None:
    if length <= 0:
        return
    out.write(b"R" + struct.pack(">Q", length))
    tar.seek(start)
    remaining = length
    while remaining:
        chunk = tar.read(min(remaining, CHUNK))
        if not chunk:
            raise System(f"layer tar shrank while indexing (at offset {start + length - remaining})")
        out.write(chunk)
        remaining -= len(chunk)


def _read_exact(f: BinaryIO | gzip.GzipFile, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise System("layer tar index is truncated")
    return data


def iter_tar(index_path: Path, layer_dir: Path) -> Iterator[bytes]:
    """Yield the original tar's bytes, in order. Raises System when a file no longer has the
    size it was unpacked with (the layer directory was modified)."""
    with gzip.open(index_path, "rb") as idx:
        if idx.read(len(MAGIC)) != MAGIC:
            raise System(f"{index_path}: not a layer tar index")
        while kind := idx.read(1):
            if kind == b"R":
                (length,) = struct.unpack(">Q", _read_exact(idx, 8))
                while length:
                    chunk = _read_exact(idx, min(length, CHUNK))
                    length -= len(chunk)
                    yield chunk
            elif kind == b"F":
                size, plen = struct.unpack(">QI", _read_exact(idx, 12))
                rel = os.fsdecode(_read_exact(idx, plen))
                yield from _file_bytes(layer_dir / rel, size)
            else:
                raise System(f"{index_path}: corrupt layer tar index")


def _file_bytes(path: Path, size: int) -> Iterator[bytes]:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise System(f"layer content changed: cannot read {path}: {exc.strerror}") from None
    try:
        remaining = size
        while remaining:
            chunk = os.read(fd, min(remaining, CHUNK))
            if not chunk:
                raise System(f"layer content changed: {path} is shorter than when it was unpacked")
            remaining -= len(chunk)
            yield chunk
    finally:
        os.close(fd)


class VerifiedTarReader:
    """A read()-able view of the rebuilt tar that checks its length and digest at the end.

    Feeds tarfile.addfile (which reads exactly `size` bytes); raises System on a tar shorter or
    longer than recorded or whose digest is not the diff ID, so damage never leaves silently."""

    def __init__(self, chunks: Iterator[bytes], size: int, diff_id: str) -> None:
        self._chunks = chunks
        self._buf = bytearray()
        self._size = size
        self._done = 0
        self._eof = False
        self._verified = False
        self._hash = hashlib.sha256()
        self._diff_id = diff_id

    def _fill(self, n: int) -> None:
        while not self._eof and (n < 0 or len(self._buf) < n):
            chunk = next(self._chunks, None)
            if chunk is None:
                self._eof = True
            else:
                self._buf += chunk

    def read(self, n: int = -1) -> bytes:
        self._fill(n)
        if n < 0 or n >= len(self._buf):
            out = bytes(self._buf)
            self._buf.clear()
        else:
            out = bytes(self._buf[:n])
            del self._buf[:n]
        self._hash.update(out)
        self._done += len(out)
        if self._done > self._size:
            raise System(f"failed to verify layer data for: {self._diff_id}: tar is longer than recorded")
        if self._done == self._size and not self._verified:
            self._fill(1)
            if self._buf:
                raise System(f"failed to verify layer data for: {self._diff_id}: tar is longer than recorded")
            self._verified = True
            actual = "sha256:" + self._hash.hexdigest()
            if actual != self._diff_id:
                raise System(f"failed to verify layer data for: {self._diff_id} (got {actual})")
        if not out and n != 0 and self._done < self._size:
            raise System(f"failed to verify layer data for: {self._diff_id}: tar is shorter than recorded")
        return out
