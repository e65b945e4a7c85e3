"""The Dockerfile parser (BuildKit's frontend/dockerfile/parser, which moby's classic builder uses).

    df = parse(text)
    df.escape                     → "\\" or "`" (the `# escape=` directive)
    df.instructions[0].cmd        → "from"
    df.instructions[0].words      → ["busybox", "AS", "base"]

Parser directives (`# syntax=`, `# escape=`) are read only at the top of the file, before any
blank line, comment or instruction. Logical lines join continuation lines (the escape
character at the end of a line); comment lines and empty lines inside a continuation are
dropped. Each instruction keeps its leading `--flag=value` words apart (`flags`), its argument
text (`rest`), its source lines and the shape of its arguments:

- `json`: the exec form (`CMD ["a", "b"]`) was used; `words` are the array's strings;
- otherwise `words` are the whitespace-separated words (quotes kept, for substitution later);
- ENV/LABEL/ARG: `pairs` are the name/value pairs (value None for `ARG NAME`).

Heredocs (`RUN <<EOF`) are collected for RUN, COPY and ADD. Errors are InvalidParameter with
BuildKit's messages, prefixed "dockerfile parse error on line N: " where docker does so.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from sangja.errors import InvalidParameter

KNOWN = frozenset([
    "add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck", "label",
    "maintainer", "onbuild", "run", "shell", "stopsignal", "user", "volume", "workdir",
])
_JSON_OR_STRING = frozenset(["cmd", "entrypoint", "run", "shell"])
_JSON_OR_LIST = frozenset(["add", "copy", "volume"])
_HEREDOC_CMDS = frozenset(["run", "copy", "add"])
_DIRECTIVE = re.compile(r"^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$")
_KNOWN_DIRECTIVES = frozenset(["escape", "syntax", "check"])
_HEREDOC = re.compile(r"<<(-?)([\"']?)([a-zA-Z_][a-zA-Z0-9_]*)\2")


@dataclass
class Heredoc:
    name: str
    content: str
    expand: bool        # an unquoted delimiter: variables in the body are expanded
    chomp: bool         # `<<-`: leading tabs removed


@dataclass
class Instruction:
    cmd: str                                  # lower case
    original: str                             # the logical line as written
    rest: str                                 # the arguments after the flags, trimmed
    start_line: int
    end_line: int
    flags: list[str] = field(default_factory=list)   # "from=build", "chown=1:1" (without "--")
    json: bool = False
    words: list[str] = field(default_factory=list)
    pairs: list[tuple[str, str | None]] = field(default_factory=list)
    heredocs: list[Heredoc] = field(default_factory=list)
    sub: Instruction | None = None            # ONBUILD's instruction

    @property
    def name(self) -> str:
        return self.cmd.upper()


@dataclass
class Dockerfile:
    instructions: list[Instruction]
    escape: str = "\\"
    directives: dict[str, str] = field(default_factory=dict)


def parse_error(line: int, message: str) -> InvalidParameter:
    return InvalidParameter(f"dockerfile parse error on line {line}: {message}")


class _Directives:
    def __init__(self) -> None:
        self.escape = "\\"
        self.seen: dict[str, str] = {}
        self.done = False

    def offer(self, line: str) -> bool:
        """True when `line` (left-trimmed) was a parser directive."""
        if self.done:
            return False
        m = _DIRECTIVE.match(line)
        if m is None or m.group(1).lower() not in _KNOWN_DIRECTIVES:
            self.done = True
            return False
        key, value = m.group(1).lower(), m.group(2)
        if key in self.seen:
            raise InvalidParameter(f"only one {key} parser directive can be used")
        if key == "escape":
            if value not in ("`", "\\"):
                raise InvalidParameter(f"invalid escape token '{value}' does not match ` or \\")
            self.escape = value
        self.seen[key] = value
        return True


def _is_comment(raw: str) -> bool:
    return raw.lstrip().startswith("#")


def _trim_continuation(line: str, escape: str) -> tuple[str, bool]:
    """(line without a trailing escape, True when the logical line ends here)."""
    m = re.search(re.escape(escape) + r"[ \t]*$", line)
    if m:
        return line[: m.start()], False
    return line, True


def parse(text: str) -> Dockerfile:
    lines = text.removeprefix("\ufeff").split("\n")
    lines = [ln.removesuffix("\r") for ln in lines]
    if lines and lines[-1] == "":
        lines.pop()
    d = _Directives()
    out: list[Instruction] = []
    i = 0
    while i < len(lines):
        raw = lines[i]
        i += 1
        start = i
        stripped = raw.lstrip()
        if d.offer(stripped) or stripped.startswith("#"):
            continue
        line, end = _trim_continuation(stripped, d.escape)
        if end and not line.strip():
            continue
        while not end and i < len(lines):
            raw = lines[i]
            i += 1
            if _is_comment(raw) or not raw.strip():
                continue
            more, end = _trim_continuation(raw, d.escape)
            line += more
        instr = _instruction(line, d.escape, start, i)
        if instr.cmd in _HEREDOC_CMDS and not instr.json:
            i = _read_heredocs(instr, lines, i)
        out.append(instr)
    if not out:
        raise InvalidParameter("the Dockerfile (Dockerfile) cannot be empty")
    return Dockerfile(out, d.escape, dict(d.seen))


def _read_heredocs(instr: Instruction, lines: list[str], i: int) -> int:
    for m in _HEREDOC.finditer(instr.rest):
        chomp, quote, name = m.group(1) == "-", m.group(2), m.group(3)
        body: list[str] = []
        while True:
            if i >= len(lines):
                raise parse_error(instr.start_line, f"unterminated heredoc {name}")
            raw = lines[i]
            i += 1
            candidate = raw.lstrip("\t") if chomp else raw
            if candidate == name:
                break
            body.append(candidate + "\n")
        instr.heredocs.append(Heredoc(name, "".join(body), expand=not quote, chomp=chomp))
        instr.end_line = i
    return i


def _instruction(line: str, escape: str, start: int, end: int) -> Instruction:
    parts = re.split(r"\s+", line.strip(), maxsplit=1)
    cmd = parts[0].lower()
    flags: list[str] = []
    rest = ""
    if len(parts) == 2:
        flags, rest = extract_flags(parts[1], escape)
    rest = rest.strip()
    instr = Instruction(cmd=cmd, original=line.strip(), rest=rest, start_line=start, end_line=end, flags=flags)
    if cmd not in KNOWN:
        raise parse_error(start, f"unknown instruction: {parts[0]}")
    try:
        _shape(instr, escape)
    except InvalidParameter as exc:
        raise parse_error(start, exc.message) from None
    return instr


def _shape(instr: Instruction, escape: str) -> None:
    cmd, rest = instr.cmd, instr.rest
    if cmd in _JSON_OR_STRING or cmd in _JSON_OR_LIST:
        array = parse_json_array(rest)
        if array is not None:
            instr.json, instr.words = True, array
        elif cmd in _JSON_OR_LIST:
            instr.words = rest.split()
        elif rest:
            instr.words = [rest]
    elif cmd in ("env", "label"):
        instr.pairs = [(k, v) for k, v in name_values(rest, cmd.upper(), escape)]
    elif cmd == "arg":
        words = parse_words(rest, escape)
        if not words:
            raise InvalidParameter("ARG requires at least one argument")
        for word in words:
            key, eq, value = word.partition("=")
            instr.pairs.append((key, value if eq else None))
    elif cmd in ("from", "expose"):
        instr.words = rest.split()
    elif cmd == "onbuild":
        if not rest:
            raise InvalidParameter("ONBUILD requires at least one argument")
        instr.sub = _instruction(rest, escape, instr.start_line, instr.end_line)
    elif cmd == "healthcheck":
        kind, _, args = rest.partition(" ")
        instr.words = [kind]
        array = parse_json_array(args.strip())
        if array is not None:
            instr.json = True
            instr.words += array
        elif args.strip():
            instr.words.append(args.strip())
    else:  # maintainer, stopsignal, user, workdir: one string
        instr.words = [rest] if rest else []


def extract_flags(rest: str, escape: str = "\\") -> tuple[list[str], str]:
    """Leading `--flag[=value]` words (BuildKit's extractBuilderFlags), and what follows."""
    flags: list[str] = []
    pos = 0
    while True:
        while pos < len(rest) and rest[pos].isspace():
            pos += 1
        if not rest.startswith("--", pos):
            return flags, rest[pos:]
        end = pos
        quote = ""
        while end < len(rest) and (quote or not rest[end].isspace()):
            ch = rest[end]
            if quote and ch == quote:
                quote = ""
            elif not quote and ch in ("'", '"'):
                quote = ch
            elif ch == escape and end + 1 < len(rest):
                end += 1
            end += 1
        word = rest[pos:end]
        if word == "--":
            return flags, rest[end:]
        flags.append(_unquote(word[2:]))
        pos = end


def _unquote(flag: str) -> str:
    name, eq, value = flag.partition("=")
    if eq and len(value) >= 2 and value[0] == value[-1] and value[0] in ("'", '"'):
        value = value[1:-1]
    return name + eq + value


def parse_words(rest: str, escape: str = "\\") -> list[str]:
    """Split on whitespace outside quotes, keeping quotes and escapes (BuildKit's parseWords)."""
    words: list[str] = []
    buf: list[str] = []
    quote = ""
    blank_ok = False
    i = 0
    while i < len(rest):
        ch = rest[i]
        if not quote and ch.isspace():
            if blank_ok or buf:
                words.append("".join(buf))
            buf, blank_ok = [], False
            i += 1
            continue
        if quote:
            if ch == quote:
                quote = ""
        elif ch in ("'", '"'):
            quote, blank_ok = ch, True
        if ch == escape and quote != "'" and i + 1 < len(rest):
            buf.append(ch)
            i += 1
            ch = rest[i]
        buf.append(ch)
        i += 1
    if blank_ok or buf:
        words.append("".join(buf))
    return words


def parse_json_array(rest: str) -> list[str] | None:
    """The strings of a JSON array, or None when `rest` is not one (the shell form)."""
    if not rest.startswith("["):
        return None
    try:
        value = json.loads(rest)
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    if not all(isinstance(v, str) for v in value):
        raise InvalidParameter("when using JSON array syntax, arrays must be comprised of strings only")
    return value


def name_values(rest: str, key: str, escape: str = "\\") -> list[tuple[str, str]]:
    """ENV/LABEL arguments (parseNameVal): `k=v k2="v 2"` or the legacy `k value`."""
    words = parse_words(rest, escape)
    if not words:
        raise InvalidParameter(f"{key} requires at least one argument")
    if "=" not in words[0]:
        parts = re.split(r"\s+", rest, maxsplit=1)
        if len(parts) < 2:
            raise InvalidParameter(f"{key} must have two arguments")
        return [(parts[0], parts[1])]
    pairs: list[tuple[str, str]] = []
    for word in words:
        if "=" not in word:
            raise InvalidParameter(f'Syntax error - can\'t find = in "{word}". Must be of the form: name=value')
        k, _, v = word.partition("=")
        if not k:
            raise InvalidParameter(f"{key} names can not be blank")
        pairs.append((k, v))
    return pairs
