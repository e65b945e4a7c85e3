"""Docker's multiplexed stream (stdcopy): 8-byte headers [stream, 0, 0, 0, uint32 BE size] + payload.

`FrameDemuxer.feed(data)` accepts bytes in any split and returns the complete frames
as (stream, payload) pairs; a partial frame waits for the next feed. Streams: 0 stdin
and 1 stdout (both written to stdout), 2 stderr, 3 a daemon error (StreamError).
"""

from __future__ import annotations

from sangja.cli.errors import StreamError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO

STDIN, STDOUT, STDERR, SYSTEMERR = 0, 1, 2, 3
HEADER_LEN = 8


class FrameDemuxer:
    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        buf = self._buf
        buf += data
        frames: list[tuple[int, bytes]] = []
        pos = 0
        while len(buf) - pos >= HEADER_LEN:
            stream = buf[pos]
            if stream > SYSTEMERR:
                raise StreamError(f"Unrecognized input header: {stream}")
            size = int.from_bytes(buf[pos + 4:pos + 8], "big")
            end = pos + HEADER_LEN + size
            if len(buf) < end:
                break
            frames.append((stream, bytes(buf[pos + HEADER_LEN:end])))
            pos = end
        del buf[:pos]
        return frames

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame still buffered."""
        return len(self._buf)


def write_frames(frames: list[tuple[int, bytes]], stdout: BinaryIO, stderr: BinaryIO) -> None:
    """Write demuxed frames to the right stream; a SYSTEMERR frame raises StreamError."""
    for stream, payload in frames:
        if stream == SYSTEMERR:
            raise StreamError(f"error from daemon in stream: {payload.decode(errors='replace')}")
        target = stderr if stream == STDERR else stdout
        target.write(payload)
    if frames:
        stdout.flush()
        stderr.flush()


def frame(stream: int, payload: bytes) -> bytes:
    """Encode one frame (used by tests and fakes)."""
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload
