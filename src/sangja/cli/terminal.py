"""The controlling terminal: raw mode, its size, and the detach escape sequence."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any


def get_size(fd: int) -> tuple[int, int] | None:
    """(rows, columns) of the terminal on fd, or None when fd is not a terminal."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return None
    return size.lines, size.columns


class RawMode:
    """Context manager: put the terminal on fd in raw mode; restore it on every exit path."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._saved: list[Any] | None = None

    def __enter__(self) -> RawMode:
        import termios
        import tty

        try:
            self._saved = termios.tcgetattr(self.fd)
        except termios.error:
            return self
        tty.setraw(self.fd, termios.TCSANOW)
        return self

    def restore(self) -> None:
        if self._saved is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
            self._saved = None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.restore()


DEFAULT_DETACH_KEYS = b"\x10\x11"  # ctrl-p, ctrl-q


def parse_detach_keys(text: str) -> bytes:
    """moby/term ToBytes: "ctrl-p,ctrl-q" → b"\\x10\\x11"; ValueError for unknown keys."""
    out = bytearray()
    for key in text.split(","):
        if len(key) == 1:
            out.append(ord(key))
            continue
        low = key.lower()
        if low.startswith("ctrl-") and len(low) == 6:
            c = low[5]
            if "a" <= c <= "z":
                out.append(ord(c) - ord("a") + 1)
                continue
            special = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}
            if c in special:
                out.append(special[c])
                continue
        raise ValueError(f"Unknown character: '{key}'")
    return bytes(out)


class EscapeMatcher:
    """term.NewEscapeProxy: hold back bytes that may start the escape sequence.

    feed(data) returns (bytes to forward, True when the whole sequence was typed).
    """

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.matched = 0

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        out = bytearray()
        for b in data:
            if b == self.keys[self.matched]:
                self.matched += 1
                if self.matched == len(self.keys):
                    return bytes(out), True
                continue
            if self.matched:
                out += self.keys[: self.matched]
                self.matched = 0
                if b == self.keys[0]:
                    self.matched = 1
                    continue
            out.append(b)
        return bytes(out), False
