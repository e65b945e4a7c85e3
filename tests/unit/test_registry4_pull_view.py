"""`sangja pull`'s output: plain status lines when stdout is not a terminal (the command run
in-process against a fake API), rich per-layer bars on a terminal (Console(force_terminal=True)
writing to a buffer)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from sangja.cli.errors import StreamError
from sangja.cli.pullview import PullView, display_pull
from tests.unit.test_cli_fake_api import Conn, FakeAPI, Request, invoke

L1, L2, L3 = "c30bcf3f7e16", "82c31ba9bd1d", "ad7862d54f92"


def _progress(status: str, ident: str, current: int, total: int) -> dict[str, Any]:
    return {"status": status, "id": ident, "progressDetail": {"current": current, "total": total},
            "progress": f"[=>   ] {current}/{total}"}


STREAM: list[dict[str, Any]] = [
    {"status": "Pulling from library/busybox", "id": "latest"},
    {"status": "Already exists", "progressDetail": {}, "id": L1},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": L2},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": L3},
    _progress("Downloading", L2, 524288, 26_900_000),
    _progress("Downloading", L3, 1048576, 2_000_000),
    {"status": "Verifying Checksum", "progressDetail": {}, "id": L3},
    {"status": "Download complete", "progressDetail": {}, "id": L3},
    _progress("Downloading", L2, 12_600_000, 26_900_000),
    _progress("Extracting", L3, 2_000_000, 2_000_000),
    {"status": "Download complete", "progressDetail": {}, "id": L2},
    {"status": "Pull complete", "progressDetail": {}, "id": L2},
    {"status": "Pull complete", "progressDetail": {}, "id": L3},
    {"status": "Digest: sha256:" + "d" * 64},
    {"status": "Status: Downloaded newer image for busybox:latest"},
]


@pytest.fixture
def api(tmp_path: Path) -> Any:
    with FakeAPI(tmp_path) as fake:
        yield fake


def _serve(stream: list[dict[str, Any]]) -> Any:
    def handler(req: Request, conn: Conn) -> None:
        conn.start_chunked()
        for msg in stream:
            conn.chunk(json.dumps(msg).encode() + b"\n")
        conn.end_chunked()
    return handler


def test_plain_lines_off_a_terminal(api: FakeAPI) -> None:
    api.on("POST", "/images/create", _serve(STREAM))
    rc, out, err = invoke(api, ["pull", "busybox"])
    assert rc == 0, err
    # docker's non-terminal output: statuses, no progress updates, no escape sequences.
    assert out == "\n".join([
        "Using default tag: latest",
        "latest: Pulling from library/busybox",
        f"{L1}: Already exists",
        f"{L2}: Pulling fs layer",
        f"{L3}: Pulling fs layer",
        f"{L3}: Verifying Checksum",
        f"{L3}: Download complete",
        f"{L2}: Download complete",
        f"{L2}: Pull complete",
        f"{L3}: Pull complete",
        "Digest: sha256:" + "d" * 64,
        "Status: Downloaded newer image for busybox:latest",
        "docker.io/library/busybox:latest",
    ]) + "\n"
    assert "\x1b" not in out
    assert api.routed("/images/create")[0].query == {"fromImage": "docker.io/library/busybox", "tag": "latest"}


def test_an_error_line_ends_the_plain_pull(api: FakeAPI) -> None:
    api.on("POST", "/images/create", _serve([*STREAM[:4], {"errorDetail": {"message": "boom"}, "error": "boom"}]))
    rc, out, err = invoke(api, ["pull", "busybox"])
    assert (rc, err) == (1, "boom\n")
    assert f"{L3}: Pulling fs layer" in out


def _terminal(width: int = 120) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=True, width=width, color_system="standard", highlight=False), buf


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def test_terminal_rows_one_per_layer_with_bars_while_moving() -> None:
    console, _ = _terminal()
    view = PullView(console)
    for msg in STREAM[:9]:
        view.feed(msg)
    with console.capture() as cap:
        console.print(view)
    lines = [line.rstrip() for line in _plain(cap.get()).splitlines()]
    assert len(lines) == 3
    assert lines[0] == f"{L1}: Already exists"
    assert lines[1].startswith(f"{L2}: Downloading") and lines[1].endswith("12.6MB/26.9MB")
    assert "━" in lines[1]                                   # the bar
    assert lines[2] == f"{L3}: Download complete"              # no bar once it stops moving


def test_terminal_display_keeps_the_final_rows_and_prints_the_other_lines() -> None:
    console, buf = _terminal()
    display_pull(iter(STREAM), console, refresh=False)
    text = _plain(buf.getvalue())
    assert "\x1b[" in buf.getvalue()                           # drawn in place, on a terminal
    for line in ("latest: Pulling from library/busybox", "Digest: sha256:" + "d" * 64,
                 "Status: Downloaded newer image for busybox:latest"):
        assert line in text
    final = text[text.rindex(f"{L1}: Already exists"):]       # the last drawing of the rows
    assert f"{L2}: Pull complete" in final and f"{L3}: Pull complete" in final
    assert "Downloading" not in final


def test_terminal_display_raises_on_an_error_line() -> None:
    console, _ = _terminal()
    with pytest.raises(StreamError, match="pull access denied"):
        display_pull(iter([STREAM[0], {"errorDetail": {"message": "pull access denied for x"},
                                       "error": "pull access denied for x"}]), console, refresh=False)
