"""Detect how a layer stream is compressed and inflate it to a file, digesting both sides.

Like moby's compression.DecompressStream, detection is by magic number: gzip, bzip2 and xz are
inflated with the standard library, zstd with python-zstandard; anything else is taken as an
uncompressed tar.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import zstandard

from sangja.errors import InvalidParameter

CHUNK = 1 << 20

_MAGIC = (
    (b"\x1f\x8b\x08", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)


def detect(head: bytes) -> str:
    """"gzip", "bzip2", "xz", "zstd" or "none" from the first bytes of a stream."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if len(head) >= 4 and head[1:4] == b"\x2a\x4d\x18" and 0x50 <= head[0] <= 0x5F:
        return "zstd"  # a zstd skippable frame
    return "none"


class _Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class _DigestingRaw(io.RawIOBase):
    """Reads from `src` (after `head`, bytes already taken from it), hashing and counting
    every byte that passes."""

    def __init__(self, src: BinaryIO, head: bytes) -> None:
        self._src = src
        self._head = head
        self.hash = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        view = memoryview(buf).cast("B")
        if self._head:
            data, self._head = self._head[: len(view)], self._head[len(view) :]
        else:
            data = self._src.read(len(view))
        n = len(data)
        view[:n] = data
        self.hash.update(data)
        self.size += n
        return n


class _ZstdReader:
    """zstd frames (one or several, concatenated) from `src`, decoded as a stream. A stream that
    ends inside a frame raises EOFError, as gzip does (python-zstandard's stream_reader would
    end quietly)."""

    def __init__(self, src: _Readable) -> None:
        self._src = src
        self._dctx = zstandard.ZstdDecompressor()
        self._obj = self._dctx.decompressobj()
        self._in_frame = False

    def read(self, n: int = -1, /) -> bytes:
        while True:
            data = self._src.read(CHUNK)
            if not data:
                if self._in_frame:
                    raise EOFError("unexpected end of data")
                return b""
            out = bytearray()
            while data:
                self._in_frame = True
                out += self._obj.decompress(data)
                if not self._obj.eof:
                    break
                # One frame done; whatever follows it starts the next one.
                data = self._obj.unused_data
                self._obj = self._dctx.decompressobj()
                self._in_frame = False
            if out:
                return bytes(out)


@dataclass(frozen=True)
class Inflated:
    diff_id: str          # sha256 of the uncompressed tar
    size: int             # bytes of the uncompressed tar
    blob_digest: str      # sha256 of the stream as received
    blob_size: int
    compression: str


def inflate_to(src: BinaryIO, dest: Path) -> Inflated:
    """Write the uncompressed form of `src` to `dest` (a new file) and describe both forms.

    Raises InvalidParameter for a truncated/corrupt compressed stream."""
    head = src.read(8)
    kind = detect(head)
    counter = _DigestingRaw(src, head)
    raw = io.BufferedReader(counter, CHUNK)
    reader: _Readable
    if kind == "gzip":
        reader = gzip.GzipFile(fileobj=raw, mode="rb")
    elif kind == "bzip2":
        reader = bz2.BZ2File(raw, mode="rb")
    elif kind == "xz":
        reader = lzma.LZMAFile(raw, mode="rb")  # noqa: SIM115
    elif kind == "zstd":
        reader = _ZstdReader(raw)
    else:
        reader = raw
    h = hashlib.sha256()
    size = 0
    try:
        with dest.open("xb") as out:
            while chunk := reader.read(CHUNK):
                h.update(chunk)
                out.write(chunk)
                size += len(chunk)
    except (EOFError, OSError, zlib.error, lzma.LZMAError, zstandard.ZstdError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise  # a real I/O error (disk full...), not bad input
        raise InvalidParameter(f"invalid {kind} layer data: {exc or 'unexpected end of data'}") from None
    # Drain what the decompressor did not need, so the received digest covers everything.
    while raw.read(CHUNK):
        pass
    return Inflated("sha256:" + h.hexdigest(), size, "sha256:" + counter.hash.hexdigest(), counter.size, kind)
