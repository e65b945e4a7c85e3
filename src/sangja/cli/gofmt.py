"""Go's fmt and the template functions docker adds, over Python values decoded from JSON.

Values: str, int, float, bool, None (Go nil), list, dict, `MISSING` (Go's invalid value,
printed "<no value>"), and template objects (rows of `ps`/`images`: Python objects whose
Go-visible fields are attributes named like Go's, e.g. `ID`, `Names`, `Label(name)`).

- `fmt_v(value)`: what `{{.X}}` prints (Go's %v): `[a b]`, `map[k:v]`, `<nil>`, `true`.
- `go_quote(text)`: strconv.Quote. `go_printf(format, args)`: a practical subset of Sprintf.
- `BASIC_FUNCS`/`HEADER_FUNCS`: docker/cli templates.basicFunctions / HeaderFunctions.
"""

from __future__ import annotations

from sangja.cli import jsoncodec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Func = Callable[..., Any]


class _Missing:
    """Go's invalid reflect.Value: a missing map key or an unset interface."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<no value>"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


class NilSlice(list["Any"]):
    """A Go nil slice: prints "[]" but encodes as JSON null."""


class NilMap(dict[str, "Any"]):
    """A Go nil map: prints "map[]" but encodes as JSON null."""


class FuncError(Exception):
    """A template function failed; the executor adds Go's "error calling <name>:" context."""


def go_float(x: float) -> str:
    """strconv.FormatFloat(x, 'g', -1, 64) (Go's %v): shortest digits, exponent when exp < -4 or >= 6."""
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "+Inf" if x > 0 else "-Inf"
    sign = "-" if x < 0 or (x == 0 and str(x).startswith("-")) else ""
    r = repr(abs(x))
    mant, _, e = r.partition("e")
    exp10 = int(e) if e else 0
    intpart, _, frac = mant.partition(".")
    all_digits = intpart + frac
    stripped = all_digits.lstrip("0")
    if not stripped.strip("0"):
        return sign + "0"
    dp = len(intpart) + exp10 - (len(all_digits) - len(stripped))
    digits = stripped.rstrip("0")
    exp = dp - 1
    if exp < -4 or exp >= 6:
        m = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{m}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"
    if dp <= 0:
        return f"{sign}0.{'0' * -dp}{digits}"
    if dp >= len(digits):
        return sign + digits + "0" * (dp - len(digits))
    return f"{sign}{digits[:dp]}.{digits[dp:]}"


def fmt_v(value: Any) -> str:
    """Go's %v as text/template prints a value."""
    if isinstance(value, str):
        return value
    if value is MISSING:
        return "<no value>"
    if value is None:
        return "<nil>"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, list | tuple):
        return "[" + " ".join(fmt_v(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{fmt_v(k)}:{fmt_v(value[k])}" for k in sorted(value, key=str)) + "]"
    to_text = getattr(value, "__template_str__", None)
    if to_text is not None:
        return str(to_text())
    return str(value)


def go_quote(text: str) -> str:
    """strconv.Quote: Go escapes, printable Unicode kept."""
    out = ['"']
    for ch in text:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif o < 0x80 or 0xDC80 <= o <= 0xDCFF:
            out.append(f"\\x{o & 0xFF:02x}")
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)


_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def to_json(value: Any, indent: int | None = None) -> str:
    """docker's `json` template function: Go's encoder without HTML escaping.

    A row object marshals itself with json.Marshal first (formatter.MarshalJSON), so
    its <, > and & come out escaped, as docker prints them.
    """
    own = getattr(value, "__template_json__", None)
    if own is not None:
        text = jsoncodec.dumps(own(), ensure_ascii=False, separators=(",", ":"))
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return jsoncodec.dumps(_jsonable(value), ensure_ascii=False, separators=(",", ":") if indent is None else None,
                           indent=indent)


def _jsonable(value: Any) -> Any:
    if value is MISSING or isinstance(value, NilSlice | NilMap):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    to_json_value = getattr(value, "__template_json__", None)
    if to_json_value is not None:
        return to_json_value()
    return value


# -- printf ----------------------------------------------------------------------------------


def go_printf(fmt: str, args: list[Any]) -> str:
    out: list[str] = []
    argi = 0
    i = 0
    n = len(fmt)
    while i < n:
        ch = fmt[i]
        if ch != "%":
            j = fmt.find("%", i)
            j = n if j < 0 else j
            out.append(fmt[i:j])
            i = j
            continue
        i += 1
        flags = ""
        while i < n and fmt[i] in "-+# 0":
            flags += fmt[i]
            i += 1
        width = ""
        if i < n and fmt[i] == "*":
            width = str(args[argi]) if argi < len(args) else ""
            argi += 1
            i += 1
        while i < n and fmt[i].isdigit():
            width += fmt[i]
            i += 1
        prec: str | None = None
        if i < n and fmt[i] == ".":
            i += 1
            prec = ""
            while i < n and fmt[i].isdigit():
                prec += fmt[i]
                i += 1
        if i >= n:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
            continue
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = args[argi]
        argi += 1
        out.append(_format_one(verb, flags, width, prec, arg))
    if argi < len(args):
        extra = ", ".join(f"{_go_type(a)}={fmt_v(a)}" for a in args[argi:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _go_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    if value is None or value is MISSING:
        return "<nil>"
    return str(getattr(value, "GO_TYPE", type(value).__name__))


def _format_one(verb: str, flags: str, width: str, prec: str | None, arg: Any) -> str:
    spec_flags = "".join(f for f in flags if f in "-+ 0#")
    if verb in "vs":
        text = fmt_v(arg) if not (verb == "s" and isinstance(arg, bytes)) else arg.decode()
        if prec is not None:
            text = text[: int(prec or 0)]
        return _pad(text, flags, width)
    if verb == "q":
        return _pad(go_quote(arg if isinstance(arg, str) else fmt_v(arg)), flags, width)
    if verb == "t":
        if isinstance(arg, bool):
            return _pad(fmt_v(arg), flags, width)
        return f"%!t({_go_type(arg)}={fmt_v(arg)})"
    if verb in "dxXob":
        if isinstance(arg, bool) or not isinstance(arg, int):
            if verb in "xX" and isinstance(arg, str):
                text = arg.encode().hex()
                return _pad(text.upper() if verb == "X" else text, flags, width)
            return f"%!{verb}({_go_type(arg)}={fmt_v(arg)})"
        pyverb = {"d": "d", "x": "x", "X": "X", "o": "o", "b": "b"}[verb]
        return format(arg, f"{_py_align(flags)}{spec_flags.replace('-', '')}{width}{pyverb}")
    if verb in "feEgG":
        if isinstance(arg, bool) or not isinstance(arg, int | float):
            return f"%!{verb}({_go_type(arg)}={fmt_v(arg)})"
        p = "" if prec is None else f".{prec or 0}"
        if verb in "fF" and prec is None:
            p = ".6"
        if verb in "gG" and prec is None:
            return _pad(go_float(float(arg)), flags, width)
        return format(float(arg), f"{_py_align(flags)}{spec_flags.replace('-', '')}{width}{p}{verb}")
    if verb == "c" and isinstance(arg, int):
        return _pad(chr(arg), flags, width)
    return f"%!{verb}({_go_type(arg)}={fmt_v(arg)})"


def _py_align(flags: str) -> str:
    return "<" if "-" in flags else ""


def _pad(text: str, flags: str, width: str) -> str:
    if not width:
        return text
    w = int(width)
    if "-" in flags:
        return text.ljust(w)
    if "0" in flags:
        return text.rjust(w, "0")
    return text.rjust(w)


# -- the functions -----------------------------------------------------------------------------


def _str_arg(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is MISSING or value is None:
        raise FuncError("invalid value; expected string")
    return fmt_v(value)


def go_title(text: str) -> str:
    """strings.Title: upper-case the first letter of each word."""
    out = []
    prev_sep = True
    for ch in text:
        out.append(ch.upper() if prev_sep else ch)
        prev_sep = not (ch.isalnum() or ch == "_") if ch.isascii() else ch.isspace()
    return "".join(out)


def join_elements(elems: Any, sep: str) -> str:
    if elems is None or elems is MISSING:
        return ""
    if isinstance(elems, list | tuple):
        return sep.join(fmt_v(e) for e in elems)
    if isinstance(elems, dict):
        return sep.join(sorted(fmt_v(v) for v in elems.values()))
    raise FuncError(f"expected slice, got {_go_type(elems)}")


def go_split(text: Any, sep: Any) -> list[str]:
    s = _str_arg(text)
    sp = _str_arg(sep)
    if sp == "":
        return list(s)
    return s.split(sp)


def pad(source: Any, prefix: int, suffix: int) -> str:
    s = _str_arg(source)
    if not s:
        return s
    return " " * prefix + s + " " * suffix


def truncate(source: Any, length: int) -> str:
    s = _str_arg(source)
    return s if len(s) < length else s[:length]


def go_len(value: Any) -> int:
    if isinstance(value, str | list | tuple | dict):
        return len(value)
    raise FuncError(f"len of type {_go_type(value)}")


def go_index(value: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(value, dict):
            value = value.get(key, MISSING) if not isinstance(key, int) else value.get(str(key), MISSING)
        elif isinstance(value, list | tuple | str):
            if not isinstance(key, int) or isinstance(key, bool):
                raise FuncError(f"cannot index slice/array with type {_go_type(key)}")
            if not 0 <= key < len(value):
                raise FuncError(f"index out of range: {key}")
            value = value[key]
        elif value is None or value is MISSING:
            raise FuncError("index of untyped nil")
        else:
            raise FuncError(f"can't index item of type {_go_type(value)}")
    return value


def go_slice(value: Any, *idx: int) -> Any:
    if not isinstance(value, str | list | tuple):
        raise FuncError(f"can't slice item of type {_go_type(value)}")
    if len(idx) > 2:
        idx = idx[:2]
    start = idx[0] if idx else 0
    end = idx[1] if len(idx) > 1 else len(value)
    if not 0 <= start <= end <= len(value):
        raise FuncError(f"index out of range: {end}")
    return value[start:end]


def go_print(*args: Any) -> str:
    """fmt.Sprint: a space between operands when neither side is a string."""
    out = ""
    for i, a in enumerate(args):
        if i > 0 and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out += " "
        out += fmt_v(a)
    return out


def go_println(*args: Any) -> str:
    return " ".join(fmt_v(a) for a in args) + "\n"


def _comparable(a: Any, b: Any) -> tuple[Any, Any]:
    if a is MISSING or b is MISSING:
        raise FuncError("invalid type for comparison")
    num = (int, float)
    if isinstance(a, num) and isinstance(b, num) and not isinstance(a, bool) and not isinstance(b, bool):
        return a, b
    if type(a) is not type(b) and a is not None and b is not None:
        raise FuncError("incompatible types for comparison")
    return a, b


def go_eq(a: Any, *others: Any) -> bool:
    if not others:
        raise FuncError("missing argument for comparison")
    for b in others:
        x, y = _comparable(a, b)
        if x == y:
            return True
    return False


def go_ne(a: Any, b: Any) -> bool:
    return not go_eq(a, b)


def _ordered(a: Any, b: Any) -> tuple[Any, Any]:
    x, y = _comparable(a, b)
    if not isinstance(x, int | float | str) or isinstance(x, bool):
        raise FuncError("invalid type for comparison")
    return x, y


def go_lt(a: Any, b: Any) -> bool:
    x, y = _ordered(a, b)
    return bool(x < y)


def go_le(a: Any, b: Any) -> bool:
    x, y = _ordered(a, b)
    return bool(x <= y)


def go_gt(a: Any, b: Any) -> bool:
    x, y = _ordered(a, b)
    return bool(x > y)


def go_ge(a: Any, b: Any) -> bool:
    x, y = _ordered(a, b)
    return bool(x >= y)


def truth(value: Any) -> bool:
    """Go template truthiness: zero values and empty collections are false."""
    if value is MISSING or value is None:
        return False
    if isinstance(value, bool | int | float | str | list | tuple | dict):
        return bool(value)
    return True


def _html(*args: Any) -> str:
    import html

    return html.escape(go_print(*args)).replace("&#x27;", "&#39;")


def _urlquery(*args: Any) -> str:
    from urllib.parse import quote_plus

    return quote_plus(go_print(*args))


def _js(*args: Any) -> str:
    text = go_print(*args)
    return "".join({"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E", "&": "\\u0026",
                    "=": "\\u003D", "\n": "\\u000A", "\r": "\\u000D", "\t": "\\u0009"}.get(c, c) for c in text)


BUILTINS: dict[str, Func] = {
    "len": go_len,
    "index": go_index,
    "slice": go_slice,
    "print": go_print,
    "printf": lambda fmt, *a: go_printf(_str_arg(fmt), list(a)),
    "println": go_println,
    "not": lambda v: not truth(v),
    "eq": go_eq,
    "ne": go_ne,
    "lt": go_lt,
    "le": go_le,
    "gt": go_gt,
    "ge": go_ge,
    "html": _html,
    "js": _js,
    "urlquery": _urlquery,
}

BASIC_FUNCS: dict[str, Func] = {
    **BUILTINS,
    "json": to_json,
    "split": go_split,
    "join": join_elements,
    "title": lambda s: go_title(_str_arg(s)),
    "lower": lambda s: _str_arg(s).lower(),
    "upper": lambda s: _str_arg(s).upper(),
    "pad": pad,
    "truncate": truncate,
}

# A table's header row runs the same template over the header names; these keep the names intact.
HEADER_FUNCS: dict[str, Func] = {
    **BASIC_FUNCS,
    "json": lambda v: v,
    "split": lambda v, _sep: v,
    "join": lambda v, _sep: v,
    "title": lambda v: v,
    "lower": lambda v: v,
    "upper": lambda v: v,
    "truncate": lambda v, _n: v,
}
