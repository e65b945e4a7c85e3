"""The multiplexed-stream demuxer, the progress display and the detach-key matcher."""

from __future__ import annotations

import io
import socket
import threading
from typing import Any

import pytest

from sangja.cli.errors import StreamError
from sangja.cli.hijack import HijackedIO
from sangja.cli.jsonstream import display, render_progress
from sangja.cli.stdcopy import FrameDemuxer, frame, write_frames
from sangja.cli.terminal import EscapeMatcher, parse_detach_keys


def test_demuxer_handles_frames_split_at_every_byte() -> None:
    data = frame(1, b"hello ") + frame(2, b"oops\n") + frame(1, b"") + frame(1, b"world\n" * 1000)
    demux = FrameDemuxer()
    frames = []
    for i in range(len(data)):
        frames += demux.feed(data[i:i + 1])
    assert frames == [(1, b"hello "), (2, b"oops\n"), (1, b""), (1, b"world\n" * 1000)]
    assert demux.pending == 0


def test_demuxer_keeps_partial_frames_for_the_next_feed() -> None:
    demux = FrameDemuxer()
    data = frame(1, b"abcdef")
    assert demux.feed(data[:10]) == []
    assert demux.pending == 10
    assert demux.feed(data[10:]) == [(1, b"abcdef")]


def test_write_frames_routes_streams_and_raises_on_system_error() -> None:
    out, err = io.BytesIO(), io.BytesIO()
    write_frames([(0, b"in"), (1, b"out"), (2, b"err")], out, err)
    assert out.getvalue() == b"inout" and err.getvalue() == b"err"
    with pytest.raises(StreamError, match="error from daemon in stream: boom"):
        write_frames([(3, b"boom")], out, err)


def test_demuxer_rejects_garbage_headers() -> None:
    with pytest.raises(StreamError, match="Unrecognized input header: 9"):
        FrameDemuxer().feed(b"\x09\x00\x00\x00\x00\x00\x00\x01x")


PULL: list[dict[str, Any]] = [
    {"status": "Pulling from library/busybox", "id": "latest"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "a1b2"},
    {"status": "Downloading", "progressDetail": {"current": 100, "total": 1000}, "id": "a1b2"},
    {"status": "Download complete", "progressDetail": {}, "id": "a1b2"},
    {"status": "Pull complete", "progressDetail": {}, "id": "a1b2"},
    {"status": "Digest: sha256:abc"},
    {"status": "Status: Downloaded newer image for busybox:latest"},
]


def test_progress_off_a_terminal_prints_only_status_lines() -> None:
    out = io.BytesIO()
    display(PULL, out, is_terminal=False)
    assert out.getvalue().decode() == (
        "latest: Pulling from library/busybox\n"
        "a1b2: Pulling fs layer\n"
        "a1b2: Download complete\n"
        "a1b2: Pull complete\n"
        "Digest: sha256:abc\n"
        "Status: Downloaded newer image for busybox:latest\n"
    )


def test_progress_on_a_terminal_redraws_lines_in_place() -> None:
    out = io.BytesIO()
    display(PULL[:3], out, is_terminal=True, width=80)
    text = out.getvalue().decode()
    assert "\x1b[1A" in text and "\x1b[2K\r" in text and "\x1b[1B" in text
    assert "a1b2: Downloading     100B/1kB" in text  # "%8v" pads the size to 8 columns


def test_stream_messages_and_errors() -> None:
    out = io.BytesIO()
    display([{"stream": "Loaded image: busybox:latest\n"}], out, is_terminal=False)
    assert out.getvalue() == b"Loaded image: busybox:latest\n"
    with pytest.raises(StreamError, match=r"^manifest unknown$"):
        display([{"errorDetail": {"message": "manifest unknown"}, "error": "manifest unknown"}], out, False)


def test_progress_bar_only_on_wide_terminals() -> None:
    p = {"current": 500, "total": 1000}
    assert render_progress(p, 80) == "    500B/1kB"
    assert render_progress(p, 120).startswith("[" + "=" * 25 + ">" + " " * 25 + "] ")


def test_detach_keys() -> None:
    assert parse_detach_keys("ctrl-p,ctrl-q") == b"\x10\x11"
    assert parse_detach_keys("ctrl-a,x") == b"\x01x"
    with pytest.raises(ValueError, match="Unknown character: 'ctrl-1'"):
        parse_detach_keys("ctrl-1")
    m = EscapeMatcher(b"\x10\x11")
    assert m.feed(b"ab\x10") == (b"ab", False)
    assert m.feed(b"c") == (b"\x10c", False)  # not the sequence: the held byte is forwarded
    assert m.feed(b"x\x10") == (b"x", False)
    assert m.feed(b"\x11rest") == (b"", True)


def test_hijacked_io_uses_bytes_that_came_with_the_101_and_half_closes_without_stdin() -> None:
    ours, theirs = socket.socketpair()
    first = frame(1, b"early ")
    theirs.sendall(frame(2, b"warn\n") + frame(1, b"late\n"))
    out, err = io.BytesIO(), io.BytesIO()

    def daemon_side() -> None:
        assert theirs.recv(1) == b""  # the client half-closed its side at once
        theirs.close()

    t = threading.Thread(target=daemon_side)
    t.start()
    HijackedIO(ours, first, tty=False, stdout=out, stderr=err).stream()
    t.join(5)
    assert out.getvalue() == b"early late\n" and err.getvalue() == b"warn\n"
