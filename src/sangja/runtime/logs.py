"""Container logs: conmon's k8s-file format, rotated Docker-style by the daemon.

Each physical line conmon writes is
    <RFC 3339 timestamp with ns and offset> <stdout|stderr> <F|P> <payload>\\n
F ends a line of the container's output (conmon removed its newline), P is a chunk of a
longer line (or output without a newline yet). A `LogEntry` is one logical line: the P
chunks of a stream joined up to and including its next F, with "\\n" put back; output
that never got its newline (the process exited mid-line) is an entry without "\\n".
Its time is that of the first chunk.

Files, oldest first: <log>.N ... <log>.1, then <log> itself (the one conmon writes).
Rotation renames and then asks conmon to reopen (CONMON-NOTES §2), so no line is lost.
A line that has no "\\n" yet is being written: readers leave it for later.
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import os
import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple

from sangja.errors import SangjaError

CHUNK = 1 << 16
FOLLOW_POLL = 0.1            # seconds between checks for new output while following
FOLLOW_MAX_READ = 1 << 20    # bytes read per step before yielding to the event loop

_TS = re.compile(
    rb"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(?:[Zz]|([+-])(\d{2}):?(\d{2}))"
)


@dataclass(frozen=True, slots=True)
class LogEntry:
    stream: str       # "stdout" or "stderr"
    time_ns: int      # nanoseconds since the epoch (UTC)
    data: bytes       # the whole line, with its "\n" when it had one


class RawLine(NamedTuple):
    """One physical line of the file."""

    time_ns: int
    stream: str
    partial: bool
    payload: bytes


_SECONDS_CACHE: dict[bytes, int] = {}


def parse_timestamp(ts: bytes) -> int:
    """RFC 3339 (any fraction up to ns, "Z" or ±hh:mm) → ns since the epoch. ValueError if not."""
    # Fast path for conmon's own fixed layout, 2026-11-28T22:30:28.708109518+00:00: lines of
    # the same second share everything but the fraction, so the seconds are cached.
    if len(ts) == 35 and ts[19] == 0x2E and ts[29] in (0x2B, 0x2D) and ts[20:29].isdigit():
        key = ts[:19] + ts[29:]
        secs = _SECONDS_CACHE.get(key)
        if secs is None:
            if len(_SECONDS_CACHE) > 4096:
                _SECONDS_CACHE.clear()
            secs = _SECONDS_CACHE[key] = _parse_slow(key) // 1_000_000_000
        return secs * 1_000_000_000 + int(ts[20:29])
    return _parse_slow(ts)


def _parse_slow(ts: bytes) -> int:
    m = _TS.fullmatch(ts)
    if m is None:
        raise ValueError(f"not an RFC 3339 timestamp: {ts[:40]!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac = m.group(7) or b""
    secs = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    if m.group(8):
        offset = int(m.group(9)) * 3600 + int(m.group(10)) * 60
        secs -= offset if m.group(8) == b"+" else -offset
    return secs * 1_000_000_000 + (int(frac.ljust(9, b"0")) if frac else 0)


def parse_line(line: bytes) -> RawLine | None:
    """One physical line (without its "\\n"); None if it isn't k8s-file."""
    parts = line.split(b" ", 3)
    if len(parts) < 3:
        return None
    ts, stream, tag = parts[0], parts[1], parts[2]
    if stream not in (b"stdout", b"stderr") or tag not in (b"F", b"P"):
        return None
    try:
        t = parse_timestamp(ts)
    except ValueError:
        return None
    return RawLine(t, stream.decode(), tag == b"P", parts[3] if len(parts) == 4 else b"")


class Assembler:
    """Joins P chunks into entries, per stream (stdout and stderr interleave in the file)."""

    def __init__(self) -> None:
        self._pending: dict[str, tuple[int, list[bytes]]] = {}

    def feed(self, raw: RawLine) -> LogEntry | None:
        if raw.partial:
            t, chunks = self._pending.setdefault(raw.stream, (raw.time_ns, []))
            chunks.append(raw.payload)
            return None
        t, chunks = self._pending.pop(raw.stream, (raw.time_ns, []))
        return LogEntry(raw.stream, t, b"".join(chunks) + raw.payload + b"\n")

    def flush(self) -> list[LogEntry]:
        """Entries whose line never got its newline, oldest first."""
        entries = [LogEntry(s, t, b"".join(c)) for s, (t, c) in self._pending.items()]
        self._pending.clear()
        return sorted(entries, key=lambda e: e.time_ns)


def log_files(live_path: Path) -> list[Path]:
    """The rotated files oldest first (path.N ... path.1), then the live file, those that exist."""
    live = Path(live_path)
    rotated: list[tuple[int, Path]] = []
    prefix = live.name + "."
    with contextlib.suppress(FileNotFoundError):
        for p in live.parent.iterdir():
            if p.name.startswith(prefix) and p.name[len(prefix):].isdigit():
                rotated.append((int(p.name[len(prefix):]), p))
    files = [p for _, p in sorted(rotated, reverse=True)]
    if live.exists():
        files.append(live)
    return files


def _open_all(paths: Iterable[Path]) -> list[BinaryIO]:
    """Open what still exists (a rotation may have renamed a file since it was listed)."""
    handles: list[BinaryIO] = []
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            handles.append(open(p, "rb"))  # noqa: SIM115 - closed by the caller
    return handles


def _complete_lines(f: BinaryIO) -> Iterator[bytes]:
    """The lines of f from its current offset that end in "\\n" (without it)."""
    rest = b""
    while True:
        block = f.read(CHUNK)
        if not block:
            break
        lines = (rest + block).split(b"\n")
        rest = lines.pop()
        yield from lines


def _in_range(e: LogEntry, since_ns: int | None, until_ns: int | None) -> bool:
    return (since_ns is None or e.time_ns >= since_ns) and (until_ns is None or e.time_ns <= until_ns)


def read_entries(live_path: Path, since_ns: int | None = None, until_ns: int | None = None) -> Iterator[LogEntry]:
    """Every entry of every file, oldest first; `since_ns`/`until_ns` are inclusive bounds."""
    handles = _open_all(log_files(live_path))
    try:
        asm = Assembler()
        for f in handles:
            for line in _complete_lines(f):
                raw = parse_line(line)
                entry = asm.feed(raw) if raw else None
                if entry is not None:
                    if until_ns is not None and entry.time_ns > until_ns:
                        return
                    if _in_range(entry, since_ns, until_ns):
                        yield entry
        for entry in asm.flush():
            if _in_range(entry, since_ns, until_ns):
                yield entry
    finally:
        for f in handles:
            f.close()


def _lines_backwards(f: BinaryIO) -> Iterator[bytes]:
    """Complete lines of f (without "\\n"), last first; an unterminated last line is skipped."""
    pos = f.seek(0, os.SEEK_END)
    buf = b""
    found_end = False          # passed the last "\n" (what follows it is still being written)
    while pos > 0:
        size = min(CHUNK, pos)
        pos -= size
        f.seek(pos)
        buf = f.read(size) + buf
        if not found_end:
            cut = buf.rfind(b"\n")
            if cut < 0:
                buf = b""
                continue
            buf = buf[:cut]
            found_end = True
        lines = buf.split(b"\n")
        buf = lines.pop(0)     # may continue in the block before
        yield from reversed(lines)
    if found_end:
        yield buf


def tail_entries(live_path: Path, n: int, since_ns: int | None = None,
                 until_ns: int | None = None) -> list[LogEntry]:
    """The last `n` entries (all for n < 0), then filtered by since/until like Docker does.

    Reads backwards from the end and stops once the last n entries are complete (every
    chunk of a long line found), so a big log costs only its tail.
    """
    if n < 0:
        return list(read_entries(live_path, since_ns, until_ns))
    if n == 0:
        return []
    handles = _open_all(log_files(live_path))
    try:
        collected: list[RawLine] = []
        started: set[str] = set()
        incomplete: set[str] = set()   # streams whose newest wanted entry may have more chunks
        closers = 0
        done = False
        for f in reversed(handles):
            for line in _lines_backwards(f):
                raw = parse_line(line)
                if raw is None:
                    continue
                collected.append(raw)
                if not raw.partial or raw.stream not in started:
                    # This line closes an entry: an F, or the unfinished last line of a stream.
                    # It also completes the later entry of the same stream.
                    incomplete.discard(raw.stream)
                    started.add(raw.stream)
                    if closers < n:
                        incomplete.add(raw.stream)
                    closers += 1
                if closers >= n and not incomplete:
                    done = True
                    break
            if done:
                break
        asm = Assembler()
        entries = [e for e in (asm.feed(r) for r in reversed(collected)) if e is not None]
        entries += asm.flush()
        return [e for e in entries[-n:] if _in_range(e, since_ns, until_ns)]
    finally:
        for f in handles:
            f.close()


def _ends_before(f: BinaryIO, since_ns: int) -> bool:
    """Does every entry of f end before since_ns, with no line left open at its end?

    Then following can skip the file (a line open at the end would continue in the next one).
    """
    last: dict[str, RawLine] = {}
    for n, line in enumerate(_lines_backwards(f)):
        raw = parse_line(line)
        if raw is not None:
            last.setdefault(raw.stream, raw)
        if len(last) == 2 or n >= 1000:
            break
    f.seek(0)
    return bool(last) and all(not r.partial and r.time_ns < since_ns for r in last.values())


class _Reader:
    """Incremental reader of one open file: complete lines from a remembered offset."""

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        self.offset = 0
        self.ino = os.fstat(f.fileno()).st_ino

    def read_lines(self, limit: int) -> tuple[list[bytes], bool]:
        """New complete lines (at most ~limit bytes of them); True if more may be waiting."""
        self.f.seek(self.offset)
        data = self.f.read(limit)
        end = data.rfind(b"\n")
        if end < 0:
            return [], False
        self.offset += end + 1
        return data[:end].split(b"\n"), len(data) == limit

    def truncated(self) -> bool:
        return os.fstat(self.f.fileno()).st_size < self.offset


async def follow(live_path: Path, stop: asyncio.Event, since_ns: int | None = None,
                 poll_interval: float = FOLLOW_POLL) -> AsyncIterator[LogEntry]:
    """Every entry (from the oldest rotated file on, at or after `since_ns`), then new ones as
    they are written, across rotations; ends once `stop` is set and all written is read.

    Rotation: when the path names a new file, the old one is read to its end first, but only
    switched away from once the new file has data (then conmon has reopened, so nothing more
    goes to the old one) or `stop` is set. An in-place truncation restarts at offset 0.
    """
    live = Path(live_path)
    asm = Assembler()

    def convert(lines: list[bytes]) -> list[LogEntry]:
        out = []
        for line in lines:
            raw = parse_line(line)
            entry = asm.feed(raw) if raw else None
            if entry is not None and (since_ns is None or entry.time_ns >= since_ns):
                out.append(entry)
        return out

    # All opened up front, so a rotation from now on can't slip a file past us.
    handles = _open_all(p for p in log_files(live) if p != live)
    current: _Reader | None = None
    with contextlib.suppress(FileNotFoundError):
        current = _Reader(open(live, "rb"))  # noqa: SIM115 - closed in finally
    try:
        for f in handles:                      # rotated files: read once, completely
            if since_ns is not None and _ends_before(f, since_ns):
                continue
            r = _Reader(f)
            more = True
            while more:
                lines, more = r.read_lines(FOLLOW_MAX_READ)
                for e in convert(lines):
                    yield e
                await asyncio.sleep(0)
        while True:
            stopping = stop.is_set()           # sampled before reading: a final pass follows it
            if current is None:
                with contextlib.suppress(FileNotFoundError):
                    current = _Reader(open(live, "rb"))  # noqa: SIM115 - closed in finally
            if current is not None:
                more = True
                while more:
                    lines, more = current.read_lines(FOLLOW_MAX_READ)
                    for e in convert(lines):
                        yield e
                    if more:
                        await asyncio.sleep(0)
                if current.truncated():
                    current.offset = 0
                    continue
                try:
                    st = os.stat(live)
                    rotated = st.st_ino != current.ino
                    new_has_data = st.st_size > 0
                except FileNotFoundError:
                    rotated, new_has_data = True, False
                if rotated and (new_has_data or stopping):
                    current.f.close()
                    current = None
                    if new_has_data:
                        continue               # read the new file right away
            if stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll_interval)
        for e in asm.flush():
            if since_ns is None or e.time_ns >= since_ns:
                yield e
    finally:
        for f in handles:
            f.close()
        if current is not None:
            current.f.close()


def rotate_if_needed(live_path: Path, max_size: int, max_file: int, reopen: Callable[[], None]) -> bool:
    """Rotate like Docker's json-file driver when the live file has reached `max_size` bytes.

    max_file ≥ 2: delete path.(max_file-1), rename path.i → path.(i+1), the live file →
    path.1, then `reopen()` (conmon starts a new file; until then it writes on into path.1,
    so nothing is lost). max_file = 1: the content is dropped (Docker truncates): rename,
    reopen, delete. Returns True if it rotated. A `reopen` failing with a SangjaError
    (the container is gone) is ignored: nothing writes to the log any more.
    """
    live = Path(live_path)
    if max_size <= 0:
        return False
    try:
        if live.stat().st_size < max_size:
            return False
    except FileNotFoundError:
        return False

    def rotated(i: int) -> Path:
        return live.with_name(f"{live.name}.{i}")

    if max_file <= 1:
        os.replace(live, rotated(1))
        _reopen(reopen)
        with contextlib.suppress(FileNotFoundError):
            rotated(1).unlink()
        return True
    with contextlib.suppress(FileNotFoundError):
        rotated(max_file - 1).unlink()
    for i in range(max_file - 2, 0, -1):
        with contextlib.suppress(FileNotFoundError):
            os.replace(rotated(i), rotated(i + 1))
    os.replace(live, rotated(1))
    _reopen(reopen)
    return True


def _reopen(reopen: Callable[[], None]) -> None:
    with contextlib.suppress(SangjaError):
        reopen()
