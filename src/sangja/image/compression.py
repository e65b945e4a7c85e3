"""Detect how a layer stream is compressed and inflate it to a file, digesting both sides.

Like moby's compression.DecompressStream, detection is by magic number: gzip is inflated with
python-isal's igzip (ISA-L: ~3x faster than zlib here, and it releases the GIL, so the layers of
a pull inflate in parallel), bzip2 and xz with the standard library, zstd with
python-zstandard; anything else is taken as an uncompressed tar. isal and zstandard are
imported when a stream of theirs first comes (~1 MiB of sangjad's idle RSS otherwise: an
import of a plain tar, or a daemon that never pulls, needs neither).
"""

from __future__ import annotations

import bz2
import hashlib
import io
import lzma
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from sangja.errors import InvalidParameter

CHUNK = 1 << 20
# What a corrupt or truncated stream raises, whatever its compression.
_BAD_DATA: tuple[type[Exception], ...] = (EOFError, OSError, zlib.error, lzma.LZMAError)

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
        import zstandard

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


class InflatingReader:
    """The uncompressed form of `src` as a read()-able stream, digesting both forms.

        reader = InflatingReader(src)
        ... reader.read(n) until b"" ...
        inflated = reader.finish()     # drains both streams, then describes them

    read() raises InvalidParameter for a truncated/corrupt compressed stream; OSError with an
    errno (a real I/O error) passes through."""

    def __init__(self, src: BinaryIO) -> None:
        head = src.read(8)
        self.kind = detect(head)
        self._counter = _DigestingRaw(src, head)
        self._raw = io.BufferedReader(self._counter, CHUNK)
        reader: _Readable
        self._bad_data = _BAD_DATA
        if self.kind == "gzip":
            from isal import igzip, isal_zlib

            reader = igzip.GzipFile(fileobj=self._raw, mode="rb")  # type: ignore[no-untyped-call]
            # isal_zlib.error is declared as an instance in the stubs; it is an exception class.
            self._bad_data += (isal_zlib.error,)  # type: ignore[operator]
        elif self.kind == "bzip2":
            reader = bz2.BZ2File(self._raw, mode="rb")
        elif self.kind == "xz":
            reader = lzma.LZMAFile(self._raw, mode="rb")  # noqa: SIM115
        elif self.kind == "zstd":
            import zstandard

            reader = _ZstdReader(self._raw)
            self._bad_data += (zstandard.ZstdError,)
        else:
            reader = self._raw
        self._reader = reader
        self._hash = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1, /) -> bytes:
        try:
            data = self._reader.read(n)
        except self._bad_data as exc:
            if isinstance(exc, OSError) and exc.errno is not None:
                raise  # a real I/O error (disk full...), not bad input
            raise InvalidParameter(f"invalid {self.kind} layer data: {exc or 'unexpected end of data'}") from None
        self._hash.update(data)
        self.size += len(data)
        return data

    def finish(self) -> Inflated:
        while self.read(CHUNK):
            pass
        # Drain what the decompressor did not need, so the received digest covers everything.
        while self._raw.read(CHUNK):
            pass
        return Inflated("sha256:" + self._hash.hexdigest(), self.size, "sha256:" + self._counter.hash.hexdigest(),
                        self._counter.size, self.kind)


def inflate_to(src: BinaryIO, dest: Path, written: Callable[[int], None] | None = None) -> Inflated:
    """Write the uncompressed form of `src` to `dest` (a new file) and describe both forms;
    `written(n)` is told each time the first n bytes are in the file (it is unbuffered), so a
    reader may follow it.

    Raises InvalidParameter for a truncated/corrupt compressed stream."""
    reader = InflatingReader(src)
    total = 0
    with dest.open("xb", buffering=0) as out:
        if written is not None:
            written(0)  # the file exists
        while chunk := reader.read(CHUNK):
            view = memoryview(chunk)
            while view:
                view = view[out.write(view) or 0:]
            total += len(chunk)
            if written is not None:
                written(total)
    return reader.finish()
