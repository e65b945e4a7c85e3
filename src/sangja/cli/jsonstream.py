"""Display a JSON-message progress stream (pull, load, import) like docker's jsonmessage.

On a terminal, each line with an `id` and progress is redrawn in place (cursor up/down,
erase line) and progress bars appear when the terminal is wider than 110 columns.
Elsewhere only status lines are printed: progress updates with a current/total are
skipped. An `{"error": ...}` line stops the display with StreamError.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable

from sangja.cli.errors import StreamError
from sangja.cli.units import go_duration_string, human_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, BinaryIO


def render_progress(p: dict[str, Any], width: int, now: float | None = None) -> str:
    """jsonmessage.RenderTUIProgress."""
    current = int(p.get("current") or 0)
    total = int(p.get("total") or 0)
    units = p.get("units") or ""
    if current <= 0 and total <= 0:
        return ""
    if total <= 0:
        return f"{human_size(current):>8}" if not units else f"{current} {units}"
    percentage = min(int(current / total * 100) // 2, 50)
    bar = ""
    if width > 110:
        bar = "[" + "=" * percentage + ">" + " " * max(50 - percentage, 0) + "] "
    numbers = ""
    if not p.get("hidecounts"):
        if not units:
            numbers = f"{human_size(current):>8}/{human_size(total)}" if current <= total else \
                f"{human_size(current):>8}"
        else:
            numbers = f"{current}/{total} {units}" if current <= total else f"{current} {units}"
    left = ""
    start = int(p.get("start") or 0)
    if width > 50 and current > 0 and start > 0 and percentage < 50:
        elapsed = (time.time() if now is None else now) - start
        left = " " + go_duration_string((total - current) * (elapsed / current))
    return bar + numbers + left


def _display_one(msg: dict[str, Any], out: list[str], is_terminal: bool, width: int) -> None:
    progress = msg.get("progressDetail")
    stream = msg.get("stream") or ""
    endl = ""
    if is_terminal and not stream and progress is not None:
        out.append("\x1b[2K\r")
        endl = "\r"
    elif progress is not None and (int(progress.get("current") or 0) > 0 or int(progress.get("total") or 0) > 0):
        return
    if msg.get("id"):
        out.append(f"{msg['id']}: ")
    if progress is not None and is_terminal:
        out.append(f"{msg.get('status', '')} {render_progress(progress, width)}{endl}")
    elif stream:
        out.append(f"{stream}{endl}")
    else:
        out.append(f"{msg.get('status', '')}{endl}\n")


def stream_error(msg: dict[str, Any]) -> StreamError | None:
    """The error a stream message carries ("error"/"errorDetail", dockerd's JSONError), if any."""
    if "error" not in msg and "errorDetail" not in msg:
        return None
    detail = msg.get("errorDetail") or {}
    code = detail.get("code")
    return StreamError(str(detail.get("message") or msg.get("error") or "unknown error"),
                       code=code if isinstance(code, int) else 0)


def display(
    messages: Iterable[dict[str, Any]],
    out: BinaryIO,
    is_terminal: bool,
    width: int = 200,
    on_aux: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """displayJSONMessagesStream over decoded messages; raises StreamError on an error line."""
    ids: dict[str, int] = {}
    for msg in messages:
        error = stream_error(msg)
        if error is not None:
            raise error
        if msg.get("aux") is not None:
            if on_aux is not None:
                on_aux(msg)
            continue
        parts: list[str] = []
        diff = 0
        ident = msg.get("id")
        if ident and msg.get("progressDetail") is not None:
            if ident not in ids:
                ids[ident] = len(ids)
                if is_terminal:
                    parts.append("\n")
            diff = len(ids) - ids[ident]
            if is_terminal and diff:
                parts.append(f"\x1b[{diff}A")
        else:
            ids = {}
        _display_one(msg, parts, is_terminal, width)
        if ident and is_terminal and diff:
            parts.append(f"\x1b[{diff}B")
        out.write("".join(parts).encode())
        out.flush()


def decode_lines(lines: Iterable[bytes]) -> Iterable[dict[str, Any]]:
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            yield json.loads(line)
        except ValueError:
            raise StreamError(f"invalid character in progress stream: {line[:80]!r}") from None


def terminal_width(stream: BinaryIO) -> int:
    import os

    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 200
