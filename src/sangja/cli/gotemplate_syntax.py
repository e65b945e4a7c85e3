"""Tokens and syntax-tree nodes of the Go template subset (see sangja.cli.gotemplate).

`split_segments(src, name)` cuts a template into text and actions, applying the `{{- -}}`
trim markers and dropping comments; each action is lexed into `Tok`s. Positions are
byte offsets into the template text, used for Go-style error messages ("template: :1:2:").
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

SPACE = " \t\r\n"
KEYWORDS = ("if", "else", "end", "range", "with", "define", "template", "block", "break", "continue")


class TemplateError(Exception):
    """A parse or execution error; str() is Go's message ("template: :1:2: executing …")."""


# -- nodes -----------------------------------------------------------------------------------


class Arg:
    """An operand: kind is field, var, dot, ident, str, num, bool, nil, pipe or chain."""

    __slots__ = ("kind", "names", "pos", "src", "value")

    def __init__(self, kind: str, pos: int, src: str, value: Any = None, names: list[str] | None = None) -> None:
        self.kind = kind
        self.pos = pos
        self.src = src
        self.value = value  # literal value / identifier or variable name / Pipe / Arg (chain)
        self.names = names or []  # field chain


class Cmd:
    __slots__ = ("args", "pos", "src")

    def __init__(self, args: list[Arg], pos: int, src: str) -> None:
        self.args = args
        self.pos = pos
        self.src = src


class Pipe:
    __slots__ = ("cmds", "decl", "is_assign", "pos", "src")

    def __init__(self, cmds: list[Cmd], decl: list[str], is_assign: bool, pos: int, src: str) -> None:
        self.cmds = cmds
        self.decl = decl
        self.is_assign = is_assign
        self.pos = pos
        self.src = src


class Node:
    """kind: text, action, if, range, with, template, break or continue."""

    __slots__ = ("body", "else_body", "kind", "name", "pipe", "pos", "text")

    def __init__(self, kind: str, pos: int, text: str = "", pipe: Pipe | None = None,
                 body: list[Node] | None = None, else_body: list[Node] | None = None, name: str = "") -> None:
        self.kind = kind
        self.pos = pos
        self.text = text
        self.pipe = pipe
        self.body: list[Node] = body or []
        self.else_body = else_body
        self.name = name


# -- lexing ----------------------------------------------------------------------------------


class Tok:
    """kind: field, var, dot, ident, str, num, char, pipe, lparen, rparen, declare, assign or comma."""

    __slots__ = ("end", "kind", "pos", "text", "value")

    def __init__(self, kind: str, pos: int, end: int, text: str, value: Any = None) -> None:
        self.kind = kind
        self.pos = pos
        self.end = end
        self.text = text
        self.value = value


def split_segments(src: str, name: str) -> list[tuple[str, int, Any]]:
    """Template text → [("text", pos, str) | ("action", pos, [Tok])], trim markers applied."""
    segs: list[tuple[str, int, Any]] = []
    pos = 0
    trim_next = False
    while True:
        i = src.find("{{", pos)
        text = src[pos:] if i < 0 else src[pos:i]
        if trim_next:
            text = text.lstrip(SPACE)
        if i < 0:
            if text:
                segs.append(("text", pos, text))
            return segs
        j = i + 2
        if src.startswith("-", j) and j + 1 < len(src) and src[j + 1] in SPACE:
            text = text.rstrip(SPACE)
            j += 2
        if text:
            segs.append(("text", pos, text))
        stripped = j
        while stripped < len(src) and src[stripped] in SPACE:
            stripped += 1
        if src.startswith("/*", stripped):
            close = src.find("*/", stripped + 2)
            if close < 0:
                raise TemplateError(f"template: {name}:{line_of(src, i)}: unclosed comment")
            k = close + 2
            trim_next = src.startswith(" -}}", k)
            if trim_next:
                k += 1
            while k < len(src) and src[k] in SPACE:
                k += 1
            if not src.startswith("}}", k) and not src.startswith("-}}", k):
                raise TemplateError(f"template: {name}:{line_of(src, i)}: comment ends before closing delimiter")
            pos = k + (3 if src.startswith("-}}", k) else 2)
            continue
        toks, end, trim_next = lex_action(src, j, name)
        segs.append(("action", i, toks))
        pos = end


def line_of(src: str, pos: int) -> int:
    return src.count("\n", 0, pos) + 1


def lex_action(src: str, i: int, name: str) -> tuple[list[Tok], int, bool]:
    toks: list[Tok] = []
    n = len(src)
    start_line = line_of(src, i)

    def err(msg: str) -> TemplateError:
        return TemplateError(f"template: {name}:{start_line}: {msg}")

    while True:
        if i >= n:
            raise err("unclosed action")
        c = src[i]
        if src.startswith(" -}}", i) or (c in SPACE and src.startswith("-}}", i + 1)):
            return toks, i + 4, True
        if src.startswith("}}", i):
            return toks, i + 2, False
        if c in SPACE:
            if c == "\n" and not toks:
                pass
            i += 1
            continue
        start = i
        if c == "|":
            toks.append(Tok("pipe", i, i + 1, "|"))
            i += 1
        elif c == "(":
            toks.append(Tok("lparen", i, i + 1, "("))
            i += 1
        elif c == ")":
            toks.append(Tok("rparen", i, i + 1, ")"))
            i += 1
        elif c == ",":
            toks.append(Tok("comma", i, i + 1, ","))
            i += 1
        elif src.startswith(":=", i):
            toks.append(Tok("declare", i, i + 2, ":="))
            i += 2
        elif c == "=":
            toks.append(Tok("assign", i, i + 1, "="))
            i += 1
        elif c == '"':
            i += 1
            while i < n and src[i] != '"':
                if src[i] == "\\":
                    i += 1
                elif src[i] == "\n":
                    raise err("unterminated quoted string")
                i += 1
            if i >= n:
                raise err("unterminated quoted string")
            i += 1
            toks.append(Tok("str", start, i, src[start:i], _unquote(src[start:i], err)))
        elif c == "`":
            close = src.find("`", i + 1)
            if close < 0:
                raise err("unterminated raw quoted string")
            i = close + 1
            toks.append(Tok("str", start, i, src[start:i], src[start + 1:close]))
        elif c == "'":
            close = src.find("'", i + 1)
            if close < 0:
                raise err("unterminated character constant")
            i = close + 1
            text = _unquote('"' + src[start + 1:close] + '"', err)
            if len(text) != 1:
                raise err(f"malformed character constant: {src[start:i]}")
            toks.append(Tok("num", start, i, src[start:i], ord(text)))
        elif c == "." and (i + 1 >= n or not src[i + 1].isdigit()):
            if i + 1 < n and _is_ident_char(src[i + 1]):
                names, i = _field_chain(src, i)
                toks.append(Tok("field", start, i, src[start:i], names))
            else:
                i += 1
                toks.append(Tok("dot", start, i, "."))
        elif c == "$":
            i += 1
            while i < n and _is_ident_char(src[i]):
                i += 1
            var = src[start:i]
            chain: list[str] = []
            if i < n and src[i] == "." and i + 1 < n and _is_ident_char(src[i + 1]):
                chain, i = _field_chain(src, i)
            toks.append(Tok("var", start, i, src[start:i], (var, chain)))
        elif c.isdigit() or (c in "+-." and i + 1 < n and src[i + 1].isdigit()):
            i += 1
            while i < n and (src[i].isalnum() or src[i] in "._+-"):
                if src[i] in "+-" and src[i - 1] not in "eEpP":
                    break
                i += 1
            text = src[start:i]
            toks.append(Tok("num", start, i, text, _number(text, err)))
        elif _is_ident_char(c):
            while i < n and _is_ident_char(src[i]):
                i += 1
            word = src[start:i]
            if word in ("true", "false"):
                toks.append(Tok("bool", start, i, word, word == "true"))
            elif word == "nil":
                toks.append(Tok("nil", start, i, word))
            else:
                toks.append(Tok("ident", start, i, word, word))
        else:
            raise err(f"unexpected {_go_char(c)} in command")


def _go_char(c: str) -> str:
    return f'"{c}"' if c != '"' else "'\"'"


def _is_ident_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def _field_chain(src: str, i: int) -> tuple[list[str], int]:
    names = []
    n = len(src)
    while i < n and src[i] == "." and i + 1 < n and _is_ident_char(src[i + 1]):
        i += 1
        s = i
        while i < n and _is_ident_char(src[i]):
            i += 1
        names.append(src[s:i])
    return names, i


def _unquote(text: str, err: Callable[[str], TemplateError]) -> str:
    body = text[1:-1]
    if "\\" not in body:
        return body
    out = []
    i = 0
    simple = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "a": "\a", "b": "\b",
              "f": "\f", "v": "\v", "0": "\0"}
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        i += 1
        if i >= len(body):
            raise err(f"invalid syntax: {text}")
        e = body[i]
        if e in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[e]
            digits = body[i + 1:i + 1 + width]
            try:
                out.append(chr(int(digits, 16)))
            except ValueError:
                raise err(f"invalid syntax: {text}") from None
            i += 1 + width
        elif e in simple:
            out.append(simple[e])
            i += 1
        else:
            raise err(f"invalid syntax: {text}")
    return "".join(out)


def _number(text: str, err: Callable[[str], TemplateError]) -> int | float:
    t = text.replace("_", "")
    try:
        if t.lower().startswith(("0x", "-0x", "+0x", "0o", "0b")):
            return int(t, 0)
        if any(c in t for c in ".eE") and not t.lower().startswith("0x"):
            f = float(t)
            return int(f) if f.is_integer() and "." not in t and "e" not in t.lower() else f
        return int(t)
    except ValueError:
        raise err(f'bad number syntax: "{text}"') from None
