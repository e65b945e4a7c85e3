"""The Dockerfile word processor: quote removal and variable expansion (BuildKit's shell.Lex).

    process_word('"$HOME"/x', env)   → "/root/x"          one word, quotes removed
    process_words("80 $PORTS", env)  → ["80", "8080", …]  split on unquoted whitespace

Supported: '…' (literal), "…" (with $ and \\ escapes for ", $, \\), \\ escapes, $NAME, ${NAME},
${NAME:-word} ${NAME-word} ${NAME:+word} ${NAME+word} ${NAME:?msg} ${NAME?msg},
${NAME#pat} ${NAME##pat} ${NAME%pat} ${NAME%%pat} (shell patterns with * and ?).
Errors raise InvalidParameter with BuildKit's wording.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from sangja.errors import InvalidParameter

_EOF = ""
_SPECIAL_PARAMS = set("@*#?-$!0")


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else _EOF

    def next(self) -> str:
        ch = self.peek()
        if ch:
            self.pos += 1
        return ch


class _Words:
    """Collects the whitespace-separated words of an expansion (for process_words)."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.buf: list[str] = []
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if ch.isspace():
            if self.in_word and self.buf:
                self.words.append("".join(self.buf))
                self.buf = []
                self.in_word = False
        else:
            self.add_raw(ch)

    def add_raw(self, s: str) -> None:
        self.buf.append(s)
        self.in_word = True

    def done(self) -> list[str]:
        if self.buf:
            self.words.append("".join(self.buf))
            self.buf = []
        return self.words


class _Lexer:
    def __init__(self, text: str, env: Mapping[str, str], escape: str = "\\") -> None:
        self.s = _Scanner(text)
        self.env = env
        self.escape = escape

    def process(self, stop: str = _EOF, raw_escapes: bool = False) -> tuple[str, list[str]]:
        result: list[str] = []
        words = _Words()
        while self.s.peek() != _EOF:
            ch = self.s.peek()
            if stop and ch == stop:
                self.s.next()
                return "".join(result), words.done()
            if ch == "$":
                value = self._dollar()
                result.append(value)
                for c in value:
                    words.add_char(c)
            elif ch == "'":
                value = self._single_quote()
                result.append(value)
                words.add_raw(value)
            elif ch == '"':
                value = self._double_quote()
                result.append(value)
                words.add_raw(value)
            else:
                ch = self.s.next()
                if ch == self.escape:
                    if raw_escapes:
                        words.add_raw(ch)
                        result.append(ch)
                    ch = self.s.next()
                    if ch == _EOF:
                        break
                    words.add_raw(ch)
                else:
                    words.add_char(ch)
                result.append(ch)
        if stop:
            raise InvalidParameter(f"unexpected end of statement while looking for matching {stop}")
        return "".join(result), words.done()

    def _single_quote(self) -> str:
        self.s.next()
        out: list[str] = []
        while True:
            ch = self.s.next()
            if ch == _EOF:
                raise InvalidParameter("unexpected end of statement while looking for matching single-quote")
            if ch == "'":
                return "".join(out)
            out.append(ch)

    def _double_quote(self) -> str:
        self.s.next()
        out: list[str] = []
        while True:
            ch = self.s.peek()
            if ch == _EOF:
                raise InvalidParameter("unexpected end of statement while looking for matching double-quote")
            if ch == '"':
                self.s.next()
                return "".join(out)
            if ch == "$":
                out.append(self._dollar())
                continue
            ch = self.s.next()
            if ch == self.escape and self.s.peek() in ('"', "$", self.escape):
                ch = self.s.next()
            out.append(ch)

    def _name(self) -> str:
        name: list[str] = []
        while (ch := self.s.peek()) != _EOF:
            if not name and ch.isdigit():
                while self.s.peek().isdigit():
                    name.append(self.s.next())
                return "".join(name)
            if not name and ch in _SPECIAL_PARAMS:
                return self.s.next()
            if not (ch.isalnum() or ch == "_"):
                break
            name.append(self.s.next())
        return "".join(name)

    def _dollar(self) -> str:
        self.s.next()
        if self.s.peek() != "{":
            name = self._name()
            return self.env.get(name, "") if name else "$"
        self.s.next()
        if self.s.peek() == _EOF:
            raise InvalidParameter("syntax error: missing '}'")
        if self.s.peek() in "{}:":
            raise InvalidParameter("syntax error: bad substitution")
        name = self._name()
        ch = self.s.next()
        if ch == _EOF:
            raise InvalidParameter("syntax error: missing '}'")
        if ch == "}":
            return self.env.get(name, "")
        modifier = ch
        null_is_unset = False
        if ch == ":":
            null_is_unset = True
            ch = self.s.next()
            modifier += ch
        if ch not in ("+", "-", "?", "#", "%"):
            raise InvalidParameter(f"unsupported modifier ({modifier}) in substitution")
        pattern_mode = ch in ("#", "%")
        if null_is_unset and pattern_mode:
            raise InvalidParameter(f"unsupported modifier ({modifier}) in substitution")
        try:
            word, _ = self.process(stop="}", raw_escapes=pattern_mode)
        except InvalidParameter:
            if self.s.peek() == _EOF:
                raise InvalidParameter("syntax error: missing '}'") from None
            raise
        is_set = name in self.env
        value = self.env.get(name, "")
        if ch == "-":
            return word if not is_set or (null_is_unset and value == "") else value
        if ch == "+":
            return "" if not is_set or (null_is_unset and value == "") else word
        if ch == "?":
            if not is_set:
                raise InvalidParameter(f"{name}: {word or 'is not allowed to be unset'}")
            if null_is_unset and value == "":
                raise InvalidParameter(f"{name}: {word or 'is not allowed to be empty'}")
            return value
        greedy = word[:1] == ch
        if greedy:
            word = word[1:]
        if ch == "#":
            return _trim_prefix(word, value, greedy)
        return _trim_prefix(word[::-1], value[::-1], greedy, reverse=True)[::-1]


def _pattern_regex(pattern: str, greedy: bool, reverse: bool) -> re.Pattern[str]:
    out = ["^"]
    i = 0
    chars = list(pattern)
    if reverse:
        # The pattern was reversed with the string; put escapes back before what they escape.
        fixed: list[str] = []
        j = 0
        while j < len(chars):
            if j + 1 < len(chars) and chars[j + 1] == "\\":
                fixed += ["\\", chars[j]]
                j += 2
            else:
                fixed.append(chars[j])
                j += 1
        chars = fixed
    while i < len(chars):
        c = chars[i]
        if c == "*":
            out.append(".*" if greedy else ".*?")
        elif c == "?":
            out.append(".")
        elif c == "\\" and i + 1 < len(chars):
            i += 1
            out.append(re.escape(chars[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _trim_prefix(pattern: str, value: str, greedy: bool, reverse: bool = False) -> str:
    m = _pattern_regex(pattern, greedy, reverse).match(value)
    return value[m.end() :] if m else value


def _run(word: str, env: Mapping[str, str], escape: str = "\\") -> tuple[str, list[str]]:
    try:
        return _Lexer(word, env, escape).process()
    except InvalidParameter as exc:
        raise InvalidParameter(f"failed to process {json.dumps(word)}: {exc.message}") from None


def process_word(word: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """Expand one word: variables substituted, quotes and escapes removed."""
    return _run(word, env, escape)[0]


def process_words(word: str, env: Mapping[str, str], escape: str = "\\") -> list[str]:
    """Expand and split on unquoted whitespace (EXPOSE's argument processing)."""
    return _run(word, env, escape)[1]


def env_map(env: list[str] | None) -> dict[str, str]:
    """["K=V", ...] as a mapping (the last definition of a key wins)."""
    out: dict[str, str] = {}
    for item in env or []:
        key, _, value = item.partition("=")
        out[key] = value
    return out
