"""runtime.logs: k8s-file parsing, P/F joining, tail, follow across rotation, rotation naming."""

from __future__ import annotations

import asyncio
import calendar
from pathlib import Path

import pytest

from sangja.errors import Conflict
from sangja.runtime import logs
from sangja.runtime.logs import LogEntry, parse_line, parse_timestamp

T0 = calendar.timegm((2026, 11, 28, 22, 30, 28, 0, 0, 0)) * 1_000_000_000


def ts(i: int) -> str:
    """A conmon-style timestamp i microseconds after T0 (UTC, +00:00)."""
    return f"2026-11-28T22:30:28.{i:06d}000+00:00"


def line(i: int, stream: str, tag: str, payload: str) -> str:
    return f"{ts(i)} {stream} {tag} {payload}\n"


def write(path: Path, *lines: str) -> None:
    with open(path, "a") as f:
        f.write("".join(lines))


def test_timestamps() -> None:
    assert parse_timestamp(b"2026-11-28T22:30:28.708109518+00:00") == T0 + 708109518
    assert parse_timestamp(b"2026-11-29T07:30:28.708109518+09:00") == T0 + 708109518
    assert parse_timestamp(b"2026-11-28T20:00:28.5-02:30") == T0 + 500_000_000
    assert parse_timestamp(b"2026-11-28T22:30:28Z") == T0
    with pytest.raises(ValueError):
        parse_timestamp(b"yesterday")


def test_parse_line() -> None:
    raw = parse_line(b"2026-11-28T22:30:28.000000001+00:00 stderr P a b  c")
    assert raw is not None
    assert (raw.time_ns, raw.stream, raw.partial, raw.payload) == (T0 + 1, "stderr", True, b"a b  c")
    empty = parse_line(b"2026-11-28T22:30:28.000000001+00:00 stdout F ")
    assert empty is not None and empty.payload == b"" and not empty.partial
    assert parse_line(b"2026-11-28T22:30:28Z stdin F x") is None
    assert parse_line(b"garbage") is None


def test_partial_chunks_are_joined_per_stream(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    write(log,
          line(1, "stdout", "P", "hel"),
          line(2, "stderr", "F", "err"),
          line(3, "stdout", "P", "lo "),
          line(4, "stdout", "F", "world"),
          line(5, "stdout", "F", ""),
          line(6, "stderr", "P", "no newline"))
    entries = list(logs.read_entries(log))
    assert entries == [
        LogEntry("stderr", T0 + 2000, b"err\n"),
        LogEntry("stdout", T0 + 1000, b"hello world\n"),
        LogEntry("stdout", T0 + 5000, b"\n"),
        LogEntry("stderr", T0 + 6000, b"no newline"),
    ]


def test_unterminated_last_line_is_left_for_later(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    write(log, line(1, "stdout", "F", "a"), f"{ts(2)} stdout F half-writt")
    assert [e.data for e in logs.read_entries(log)] == [b"a\n"]
    assert [e.data for e in logs.tail_entries(log, 5)] == [b"a\n"]


def test_since_and_until(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    write(log, *(line(i, "stdout", "F", str(i)) for i in range(10)))
    got = [e.data for e in logs.read_entries(log, since_ns=T0 + 3000, until_ns=T0 + 5000)]
    assert got == [b"3\n", b"4\n", b"5\n"]


def test_rotated_files_are_read_oldest_first(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    write(tmp_path / "ctr.log.2", line(1, "stdout", "F", "one"))
    write(tmp_path / "ctr.log.1", line(2, "stdout", "P", "tw"))
    write(log, line(3, "stdout", "F", "o"))
    (tmp_path / "ctr.log.x").write_text("not a rotation")
    (tmp_path / "other.log.1").write_text("not ours")
    assert logs.log_files(log) == [tmp_path / "ctr.log.2", tmp_path / "ctr.log.1", log]
    assert [e.data for e in logs.read_entries(log)] == [b"one\n", b"two\n"]


def test_tail(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    write(tmp_path / "ctr.log.1", *(line(i, "stdout", "F", f"old{i}") for i in range(3)))
    write(log, *(line(10 + i, "stderr" if i % 2 else "stdout", "F", f"new{i}") for i in range(4)))
    assert [e.data for e in logs.tail_entries(log, 2)] == [b"new2\n", b"new3\n"]
    assert [e.data for e in logs.tail_entries(log, 5)] == [b"old2\n", b"new0\n", b"new1\n", b"new2\n", b"new3\n"]
    assert len(logs.tail_entries(log, 100)) == 7
    assert logs.tail_entries(log, 0) == []
    assert len(logs.tail_entries(log, -1)) == 7
    # tail first, then the time filter (as docker logs --tail --since does)
    assert [e.data for e in logs.tail_entries(log, 3, since_ns=T0 + 13000)] == [b"new3\n"]


def test_tail_joins_long_lines_across_many_chunks_and_blocks(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    big = "x" * 8192
    write(log, line(1, "stdout", "F", "first"))
    # a 10-chunk line interleaved with stderr, bigger than the backwards read block
    for i in range(10):
        write(log, line(2 + i, "stdout", "P", big), line(2 + i, "stderr", "F", f"e{i}"))
    write(log, line(20, "stdout", "F", "end"))
    (last,) = logs.tail_entries(log, 1)
    assert last.stream == "stdout" and last.data == (big * 10 + "end\n").encode()
    assert last.time_ns == T0 + 2000
    two = logs.tail_entries(log, 2)
    assert [e.data for e in two] == [b"e9\n", (big * 10 + "end\n").encode()]
    assert logs.tail_entries(log, 12)[0].data == b"first\n"


def test_rotation_naming(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    reopened: list[int] = []

    def fill(text: str) -> None:
        log.write_text(text * 10)

    fill("a")
    assert not logs.rotate_if_needed(log, 11, 3, lambda: reopened.append(1))
    assert logs.rotate_if_needed(log, 10, 3, lambda: reopened.append(1))
    assert not log.exists() and (tmp_path / "ctr.log.1").read_text() == "a" * 10
    fill("b")
    logs.rotate_if_needed(log, 10, 3, lambda: reopened.append(1))
    fill("c")
    logs.rotate_if_needed(log, 10, 3, lambda: reopened.append(1))
    fill("d")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ctr.log", "ctr.log.1", "ctr.log.2"]
    assert (tmp_path / "ctr.log.2").read_text() == "b" * 10
    assert (tmp_path / "ctr.log.1").read_text() == "c" * 10
    assert len(reopened) == 3


def test_rotation_with_one_file_drops_the_content(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    log.write_text("z" * 20)
    assert logs.rotate_if_needed(log, 10, 1, lambda: None)
    assert list(tmp_path.iterdir()) == []
    assert not logs.rotate_if_needed(log, 10, 1, lambda: None)   # no file: nothing to do
    log.write_text("z" * 20)
    assert not logs.rotate_if_needed(log, 0, 3, lambda: None)    # max-size unset


def test_rotation_survives_a_gone_container(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    log.write_text("z" * 20)

    def reopen() -> None:
        raise Conflict("Container x is not running")

    assert logs.rotate_if_needed(log, 10, 2, reopen)
    assert (tmp_path / "ctr.log.1").exists()


async def collect(agen: object, into: list[LogEntry]) -> None:
    async for e in agen:  # type: ignore[attr-defined]
        into.append(e)


async def wait_for(cond: object, what: str) -> None:
    for _ in range(500):
        if cond():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def test_follow_reads_history_then_new_lines_and_ends_on_stop(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    write(tmp_path / "ctr.log.1", line(1, "stdout", "F", "rotated"))
    write(log, line(2, "stdout", "F", "live"))
    stop = asyncio.Event()
    got: list[LogEntry] = []
    task = asyncio.create_task(collect(logs.follow(log, stop, poll_interval=0.01), got))
    await wait_for(lambda: len(got) == 2, "history")
    write(log, line(3, "stderr", "P", "par"), line(4, "stderr", "F", "tial"))
    await wait_for(lambda: len(got) == 3, "a new line")
    write(log, line(5, "stdout", "P", "unfinished"))
    stop.set()
    await asyncio.wait_for(task, 5)
    assert [e.data for e in got] == [b"rotated\n", b"live\n", b"partial\n", b"unfinished"]


async def test_follow_across_rotation_loses_nothing(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    write(log, line(1, "stdout", "F", "before"))
    stop = asyncio.Event()
    got: list[LogEntry] = []
    task = asyncio.create_task(collect(logs.follow(log, stop, poll_interval=0.01), got))
    await wait_for(lambda: len(got) == 1, "first line")
    # what conmon does: it keeps writing the renamed file until it reopens
    old = open(log, "a")  # noqa: SIM115
    logs.rotate_if_needed(log, 1, 3, lambda: None)
    old.write(line(2, "stdout", "F", "late in old file"))
    old.flush()
    await asyncio.sleep(0.05)
    old.close()
    write(log, line(3, "stdout", "F", "new file"))
    await wait_for(lambda: len(got) == 3, "lines after rotation")
    stop.set()
    await asyncio.wait_for(task, 5)
    assert [e.data for e in got] == [b"before\n", b"late in old file\n", b"new file\n"]


async def test_follow_since_and_missing_file(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    stop = asyncio.Event()
    got: list[LogEntry] = []
    task = asyncio.create_task(collect(logs.follow(log, stop, since_ns=T0 + 2000, poll_interval=0.01), got))
    await asyncio.sleep(0.03)
    write(log, line(1, "stdout", "F", "old"), line(2, "stdout", "F", "new"))
    await wait_for(lambda: len(got) == 1, "the file to appear")
    stop.set()
    await asyncio.wait_for(task, 5)
    assert [e.data for e in got] == [b"new\n"]


async def test_follow_after_truncation_starts_over(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    write(log, line(1, "stdout", "F", "aaaaaaaaaaaaaaaaaaaa"))
    stop = asyncio.Event()
    got: list[LogEntry] = []
    task = asyncio.create_task(collect(logs.follow(log, stop, poll_interval=0.01), got))
    await wait_for(lambda: len(got) == 1, "first line")
    with open(log, "r+") as f:
        f.truncate(0)
    write(log, line(2, "stdout", "F", "b"))
    await wait_for(lambda: len(got) == 2, "line after truncation")
    stop.set()
    await asyncio.wait_for(task, 5)
    assert got[1].data == b"b\n"


async def test_follow_since_skips_old_files_but_not_a_line_split_across_them(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    write(tmp_path / "ctr.log.2", line(1, "stdout", "F", "old"))
    write(tmp_path / "ctr.log.1", line(2, "stdout", "F", "older"), line(3, "stdout", "P", "split "))
    write(log, line(8, "stdout", "F", "line"), line(9, "stdout", "F", "new"))
    stop = asyncio.Event()
    stop.set()
    got = [e async for e in logs.follow(log, stop, since_ns=T0 + 5000)]
    # "split line" started before since: it is left out whole, not yielded as a truncated "line"
    assert [e.data for e in got] == [b"new\n"]
