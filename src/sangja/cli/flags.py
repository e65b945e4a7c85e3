"""Command-line flags parsed the way the docker CLI (spf13/pflag) parses them.

Why not argparse: docker's grammar differs in ways users rely on: `run` stops at the
first positional argument (`sangja run busybox sh -c 'ls -l'`), `-it`/`-dit` group
booleans, `-eA=1` and `-e=A=1` attach values, `--rm=false` sets a boolean, and the
error texts ("unknown shorthand flag: 'z' in -z") are part of the interface.

Contract: `parse(flags, argv, interspersed)` returns `(Options, positional args)` or
raises `FlagError` with pflag's message; `--help` (and `-h` unless a flag owns it)
raises `HelpRequested`. `format_flag_usages(flags)` renders the "Options:" block.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    Converter = Callable[[str], Any]


BOOL_TRUE = ("1", "t", "T", "TRUE", "true", "True")
BOOL_FALSE = ("0", "f", "F", "FALSE", "false", "False")


class FlagError(Exception):
    """A flag that pflag would reject; the message is pflag's."""


class HelpRequested(Exception):
    """`--help` was given."""


def go_int(text: str) -> int:
    try:
        return int(text, 0) if text.lower().startswith(("0x", "0o", "0b")) else int(text)
    except ValueError:
        raise ValueError(f'strconv.ParseInt: parsing "{text}": invalid syntax') from None


def go_bool(text: str) -> bool:
    if text in BOOL_TRUE:
        return True
    if text in BOOL_FALSE:
        return False
    raise ValueError(f'strconv.ParseBool: parsing "{text}": invalid syntax')


def go_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f'strconv.ParseFloat: parsing "{text}": invalid syntax') from None


class Flag:
    """One flag. kind: bool, string, int, float, list (repeatable); `convert` validates the text.

    (A plain class, not a dataclass: importing dataclasses costs more than all of this module.)
    """

    __slots__ = ("convert", "default", "dest", "help", "hidden", "kind", "long", "short", "show_default",
                 "type_name")

    def __init__(self, long: str, short: str = "", kind: str = "string", help: str = "", default: Any = None,
                 type_name: str | None = None, show_default: str | None = None, convert: Converter | None = None,
                 hidden: bool = False, dest: str = "") -> None:
        self.long = long
        self.short = short
        self.kind = kind
        self.help = help
        self.default = default
        self.convert = convert
        self.show_default = show_default
        self.hidden = hidden
        self.dest = dest or long.replace("-", "_")
        if default is None:
            self.default = {"bool": False, "list": None, "int": 0, "float": 0.0}.get(kind, "")
        self.type_name = type_name if type_name is not None else {"bool": "", "list": "list"}.get(kind, kind)

    @property
    def display_name(self) -> str:
        return f"-{self.short}, --{self.long}" if self.short else f"--{self.long}"


def Bool(long: str, short: str = "", help: str = "", default: bool = False, **kw: Any) -> Flag:
    show = "true" if default else None
    return Flag(long, short, "bool", help, default, show_default=show, **kw)


def Str(long: str, short: str = "", help: str = "", default: str = "", **kw: Any) -> Flag:
    kw.setdefault("show_default", f'"{default}"' if default else None)
    return Flag(long, short, "string", help, default, **kw)


def Int(long: str, short: str = "", help: str = "", default: int = 0, **kw: Any) -> Flag:
    kw.setdefault("show_default", str(default) if default else None)
    return Flag(long, short, "int", help, default, **kw)


def List(long: str, short: str = "", help: str = "", **kw: Any) -> Flag:
    return Flag(long, short, "list", help, **kw)


class Options:
    """Parsed flag values as attributes (dest names); `changed` holds the long names given."""

    def __init__(self, flags: Sequence[Flag]) -> None:
        self.changed: set[str] = set()
        for f in flags:
            setattr(self, f.dest, [] if f.kind == "list" else f.default)

    def __getattr__(self, name: str) -> Any:  # only for mypy: every dest is set in __init__
        raise AttributeError(name)


def parse(flags: Sequence[Flag], argv: Sequence[str], interspersed: bool = True) -> tuple[Options, list[str]]:
    by_long = {f.long: f for f in flags}
    by_short = {f.short: f for f in flags if f.short}
    opts = Options(flags)
    positional: list[str] = []
    i = 0
    n = len(argv)
    while i < n:
        arg = argv[i]
        i += 1
        if arg == "--":
            positional.extend(argv[i:])
            break
        if arg.startswith("--") and len(arg) > 2:
            name, eq, value = arg[2:].partition("=")
            flag = by_long.get(name)
            if flag is None:
                if name == "help":
                    raise HelpRequested()
                raise FlagError(f"unknown flag: --{name}")
            if flag.kind == "bool":
                _set(opts, flag, value if eq else "true")
            elif eq:
                _set(opts, flag, value)
            elif i < n:
                _set(opts, flag, argv[i])
                i += 1
            else:
                raise FlagError(f"flag needs an argument: --{name}")
        elif arg.startswith("-") and len(arg) > 1:
            shorts = arg[1:]
            j = 0
            while j < len(shorts):
                c = shorts[j]
                flag = by_short.get(c)
                if flag is None:
                    if c == "h":
                        raise HelpRequested()
                    raise FlagError(f"unknown shorthand flag: '{c}' in -{shorts}")
                rest = shorts[j + 1:]
                if flag.kind == "bool":
                    if rest.startswith("="):
                        _set(opts, flag, rest[1:])
                        break
                    _set(opts, flag, "true")
                    j += 1
                    continue
                if rest.startswith("="):
                    rest = rest[1:]
                if rest:
                    _set(opts, flag, rest)
                elif i < n:
                    _set(opts, flag, argv[i])
                    i += 1
                else:
                    raise FlagError(f"flag needs an argument: '{c}' in -{shorts}")
                break
        else:
            positional.append(arg)
            if not interspersed:
                positional.extend(argv[i:])
                break
    return opts, positional


def _set(opts: Options, flag: Flag, text: str) -> None:
    try:
        if flag.kind == "bool":
            value: Any = go_bool(text)
        elif flag.kind == "int":
            value = go_int(text)
        elif flag.kind == "float":
            value = go_float(text)
        else:
            value = text
        if flag.convert is not None:
            value = flag.convert(text)
    except ValueError as exc:
        raise FlagError(f'invalid argument "{text}" for "{flag.display_name}" flag: {exc}') from None
    if flag.kind == "list":
        getattr(opts, flag.dest).append(value)
    else:
        setattr(opts, flag.dest, value)
    opts.changed.add(flag.long)


# -- help ----------------------------------------------------------------------------------


def format_flag_usages(flags: Sequence[Flag], cols: int = 79) -> str:
    """pflag's FlagUsagesWrapped: names padded to one column, usage wrapped at `cols`."""
    rows: list[tuple[str, str]] = []
    maxlen = 0
    for f in sorted((f for f in flags if not f.hidden), key=lambda f: f.long):
        line = f"  -{f.short}, --{f.long}" if f.short else f"      --{f.long}"
        if f.type_name:
            line += " " + f.type_name
        maxlen = max(maxlen, len(line) + 1)
        usage = f.help
        if f.show_default is not None:
            usage += f" (default {f.show_default})"
        rows.append((line, usage))
    out = []
    for line, usage in rows:
        spacing = " " * (maxlen - len(line))
        out.append(f"{line} {spacing} {_wrap(maxlen + 2, cols, usage)}")
    return "\n".join(out)


def _wrap_n(i: int, slop: int, s: str) -> tuple[str, str]:
    if i + slop > len(s):
        return s, ""
    w = max(s.rfind(" ", 0, i), s.rfind("\t", 0, i), s.rfind("\n", 0, i))
    if w <= 0:
        return s, ""
    nl = s.rfind("\n", 0, i)
    if 0 < nl < w:
        return s[:nl], s[nl + 1:]
    return s[:w], s[w + 1:]


def _wrap(i: int, w: int, s: str) -> str:
    width = w - i
    result = ""
    if width < 24:
        i = 16
        width = w - i
        result += "\n" + " " * i
    if width < 24:
        return s.replace("\n", result)
    slop = 5
    width -= slop
    line, s = _wrap_n(width, slop, s)
    result += line.replace("\n", "\n" + " " * i)
    while s:
        line, s = _wrap_n(width, slop, s)
        result += "\n" + " " * i + line.replace("\n", "\n" + " " * i)
    return result


class HelpText:
    """What a command's `--help` shows besides its flags."""

    def __init__(self, use_line: str, short: str, aliases: str = "", flags: Sequence[Flag] = ()) -> None:
        self.use_line = use_line
        self.short = short
        self.aliases = aliases
        self.flags = flags

    def render(self) -> str:
        parts = [f"Usage:  {self.use_line}", "", self.short]
        if self.aliases:
            parts += ["", "Aliases:", "  " + self.aliases]
        visible = [f for f in self.flags if not f.hidden]
        if visible:
            parts += ["", "Options:", format_flag_usages(visible).rstrip()]
        return "\n".join(parts) + "\n"
