"""A Go text/template subset, as docker's `--format` and `inspect -f` use it.

Supported: text and actions with `{{- -}}` trim markers and `{{/* comments */}}`;
fields `.A.B`, `.`, `$`, variables (`$x := …`, `$x = …`, `range $i, $v := …`),
literals (strings, raw strings, numbers, true/false/nil), parenthesized pipelines and
`(…).Field` chains, pipelines `a | b` (the value is passed as the last argument),
`if`/`else if`/`else`, `range` (with `else`, `break`, `continue`), `with`/`else`,
`define`/`template`/`block`, and the functions of `sangja.cli.gofmt` (Go's builtins
plus docker's json, join, split, title, lower, upper, pad, truncate).

    tmpl = parse('{{range .Mounts}}{{.Source}} {{end}}')
    text = tmpl.execute(data)                 # raises TemplateError like Go's messages
    tmpl.field_names()                        # every .Field name used (ps uses it for .Size)

Data model (see gofmt): dicts are Go maps (missing key → "<no value>", or an error with
missingkey_error=True as docker's inspect does); objects expose Go fields as attributes
whose names start with an upper-case letter (methods are called with the arguments).
"""

from __future__ import annotations

from sangja.cli.gofmt import BASIC_FUNCS, fmt_v
from sangja.cli.gotemplate_exec import Executor
from sangja.cli.gotemplate_syntax import KEYWORDS, Arg, Cmd, Node, Pipe, TemplateError, Tok, line_of, split_segments

__all__ = ["Template", "TemplateError", "parse"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

# -- parsing ---------------------------------------------------------------------------------


class _Parser:
    def __init__(self, src: str, name: str, funcs: set[str]) -> None:
        self.src = src
        self.name = name
        self.funcs = funcs
        self.segs = split_segments(src, name)
        self.i = 0
        self.defines: dict[str, list[Node]] = {}
        self.vars: list[list[str]] = [["$"]]

    def error(self, pos: int, msg: str) -> TemplateError:
        return TemplateError(f"template: {self.name}:{line_of(self.src, pos)}: {msg}")

    def parse(self) -> list[Node]:
        return self.parse_list(top=True)[0]

    def parse_list(self, top: bool = False) -> tuple[list[Node], tuple[str, int, list[Tok]] | None]:
        """Parse nodes until {{end}} or {{else…}}; return them and the terminating action."""
        nodes: list[Node] = []
        while self.i < len(self.segs):
            kind, pos, payload = self.segs[self.i]
            self.i += 1
            if kind == "text":
                nodes.append(Node("text", pos, text=payload))
                continue
            toks: list[Tok] = payload
            if not toks:
                raise self.error(pos, "missing value for command")
            head = toks[0]
            word = head.text if head.kind == "ident" else ""
            if word in ("end", "else"):
                if top:
                    raise self.error(pos, f"unexpected {{{{{word}}}}}")
                return nodes, (word, pos, toks)
            if word in ("if", "range", "with"):
                nodes.append(self.parse_control(word, pos, toks[1:]))
            elif word in ("define", "block"):
                node = self.parse_define(word, pos, toks[1:])
                if node is not None:
                    nodes.append(node)
            elif word == "template":
                nodes.append(self.parse_template(pos, toks[1:]))
            elif word in ("break", "continue"):
                nodes.append(Node(word, pos))
            else:
                nodes.append(Node("action", pos, pipe=self.parse_pipeline(toks, pos, "command", decl_ok=True)))
        if not top:
            raise self.error(len(self.src), "unexpected EOF")
        return nodes, None

    def parse_control(self, word: str, pos: int, toks: list[Tok]) -> Node:
        self.vars.append([])
        pipe = self.parse_pipeline(toks, pos, word, decl_ok=True, range_ok=word == "range")
        body, end = self.parse_list()
        node = Node(word, pos, pipe=pipe, body=body)
        assert end is not None
        if end[0] == "else":
            else_toks = end[2][1:]
            if else_toks and else_toks[0].kind == "ident" and else_toks[0].text in ("if", "with") and word != "range":
                # {{else if …}} / {{else with …}}: a nested node that shares our {{end}}.
                nested_word = else_toks[0].text
                self.vars.pop()
                self.vars.append([])
                nested = self.parse_control_tail(nested_word, end[1], else_toks[1:])
                node.else_body = [nested]
                self.vars.pop()
                return node
            else_body, end2 = self.parse_list()
            assert end2 is not None
            if end2[0] != "end":
                raise self.error(end2[1], "expected end; found {{else}}")
            node.else_body = else_body
        self.vars.pop()
        return node

    def parse_control_tail(self, word: str, pos: int, toks: list[Tok]) -> Node:
        return self.parse_control(word, pos, toks)

    def parse_define(self, word: str, pos: int, toks: list[Tok]) -> Node | None:
        if not toks or toks[0].kind != "str":
            raise self.error(pos, f"unexpected {toks[0].text if toks else 'EOF'} in {word} clause")
        tname = toks[0].value
        saved = self.vars
        self.vars = [["$"]]
        body, end = self.parse_list()
        self.vars = saved
        if end is None or end[0] != "end":
            raise self.error(pos, "unexpected EOF")
        self.defines[tname] = body
        if word == "block":
            pipe = self.parse_pipeline(toks[1:], pos, "block") if len(toks) > 1 else None
            return Node("template", pos, pipe=pipe, name=tname)
        return None

    def parse_template(self, pos: int, toks: list[Tok]) -> Node:
        if not toks or toks[0].kind != "str":
            raise self.error(pos, "unexpected token in template clause")
        pipe = self.parse_pipeline(toks[1:], pos, "template") if len(toks) > 1 else None
        return Node("template", pos, pipe=pipe, name=toks[0].value)

    def parse_pipeline(self, toks: list[Tok], pos: int, context: str, decl_ok: bool = False,
                       range_ok: bool = False) -> Pipe:
        decl: list[str] = []
        is_assign = False
        k = 0
        if decl_ok and len(toks) >= 2 and toks[0].kind == "var" and not toks[0].value[1]:
            if toks[1].kind in ("declare", "assign"):
                decl = [toks[0].value[0]]
                is_assign = toks[1].kind == "assign"
                k = 2
            elif (range_ok and toks[1].kind == "comma" and len(toks) >= 4 and toks[2].kind == "var"
                  and toks[3].kind in ("declare", "assign")):
                decl = [toks[0].value[0], toks[2].value[0]]
                is_assign = toks[3].kind == "assign"
                k = 4
        if decl and not is_assign:
            self.vars[-1].extend(decl)
        elif decl:
            for v in decl:
                self._check_var(v, pos)
        cmds: list[Cmd] = []
        rest = toks[k:]
        if not rest:
            raise self.error(pos, f"missing value for {context}")
        for group in _split_top(rest, "pipe"):
            if not group:
                raise self.error(pos, "missing command")
            cmds.append(self.parse_command(group))
        src = self.src[rest[0].pos:rest[-1].end]
        return Pipe(cmds, decl, is_assign, rest[0].pos, src)

    def parse_command(self, toks: list[Tok]) -> Cmd:
        args: list[Arg] = []
        k = 0
        while k < len(toks):
            arg, k = self.parse_operand(toks, k)
            args.append(arg)
        return Cmd(args, toks[0].pos, self.src[toks[0].pos:toks[-1].end])

    def parse_operand(self, toks: list[Tok], k: int) -> tuple[Arg, int]:
        t = toks[k]
        src = self.src[t.pos:t.end]
        if t.kind == "lparen":
            depth = 0
            j = k
            while j < len(toks):
                if toks[j].kind == "lparen":
                    depth += 1
                elif toks[j].kind == "rparen":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if j >= len(toks):
                raise self.error(t.pos, "unclosed left paren")
            inner = toks[k + 1:j]
            pipe = self.parse_pipeline(inner, t.pos, "parenthesized pipeline")
            arg = Arg("pipe", t.pos, self.src[t.pos:toks[j].end], pipe)
            k = j + 1
            if k < len(toks) and toks[k].kind == "field" and toks[k].pos == toks[j].end:
                arg = Arg("chain", t.pos, self.src[t.pos:toks[k].end], arg, list(toks[k].value))
                k += 1
            return arg, k
        if t.kind == "field":
            # Go's parser positions a chain ".A.B.C" at its second element (".B").
            pos = t.pos + len(t.value[0]) + 1 if len(t.value) > 1 else t.pos
            return Arg("field", pos, src, names=list(t.value)), k + 1
        if t.kind == "var":
            var, names = t.value
            self._check_var(var, t.pos)
            return Arg("var", t.pos, src, var, list(names)), k + 1
        if t.kind == "dot":
            return Arg("dot", t.pos, src), k + 1
        if t.kind == "ident":
            if t.text in KEYWORDS:
                raise self.error(t.pos, f"unexpected <{t.text}> in command")
            if t.text not in self.funcs:
                raise self.error(t.pos, f'function "{t.text}" not defined')
            return Arg("ident", t.pos, src, t.text), k + 1
        if t.kind in ("str", "num", "bool"):
            return Arg(t.kind, t.pos, src, t.value), k + 1
        if t.kind == "nil":
            return Arg("nil", t.pos, src), k + 1
        raise self.error(t.pos, f'unexpected "{t.text}" in operand')

    def _check_var(self, var: str, pos: int) -> None:
        if not any(var in scope for scope in self.vars):
            raise self.error(pos, f'undefined variable "{var}"')


def _split_top(toks: list[Tok], sep: str) -> Iterator[list[Tok]]:
    depth = 0
    group: list[Tok] = []
    for t in toks:
        if t.kind == "lparen":
            depth += 1
        elif t.kind == "rparen":
            depth -= 1
        if t.kind == sep and depth == 0:
            yield group
            group = []
        else:
            group.append(t)
    yield group


class Template:
    """A parsed template; execute() may be called any number of times."""

    def __init__(self, src: str, name: str, body: list[Node], defines: dict[str, list[Node]]) -> None:
        self.src = src
        self.name = name
        self.body = body
        self.defines = defines
        self._plan = _field_plan(body)

    def execute(self, data: Any, funcs: dict[str, Callable[..., Any]] | None = None,
                missingkey_error: bool = False, zero_values: dict[str, Any] | None = None) -> str:
        """Render data. missingkey_error: a missing map key is an error (docker inspect);
        zero_values: field names that read as this value when missing or null (typed structs)."""
        if self._plan is not None:
            text = _execute_plan(self._plan, data)
            if text is not None:
                return text
        ex = Executor(self, funcs or BASIC_FUNCS, missingkey_error, data, zero_values)
        out: list[str] = []
        ex.walk(self.body, data, out)
        return "".join(out)

    def field_names(self) -> set[str]:
        names: set[str] = set()

        def visit_pipe(p: Pipe | None) -> None:
            if p is None:
                return
            for c in p.cmds:
                for a in c.args:
                    names.update(a.names)
                    if isinstance(a.value, Pipe):
                        visit_pipe(a.value)
                    if isinstance(a.value, Arg) and isinstance(a.value.value, Pipe):
                        visit_pipe(a.value.value)

        def visit(nodes: list[Node]) -> None:
            for n in nodes:
                visit_pipe(n.pipe)
                visit(n.body)
                visit(n.else_body or [])

        visit(self.body)
        for body in self.defines.values():
            visit(body)
        return names


# A template of only text and `{{.Field}}` actions (every `ps`/`images` table row): the parts in
# order, a field being a 1-tuple. Rows are objects whose Go fields are methods, so such a
# template is a few getattr calls; walking the tree for each of 1000 rows cost ~30 ms.
_Plan = list[str | tuple[str]]
_SCALARS = (str, int, float, list, tuple, dict)


def _field_plan(body: list[Node]) -> _Plan | None:
    plan: _Plan = []
    for node in body:
        if node.kind == "text":
            plan.append(node.text)
            continue
        pipe = node.pipe
        if node.kind != "action" or pipe is None or pipe.decl or len(pipe.cmds) != 1:
            return None
        args = pipe.cmds[0].args
        if len(args) != 1 or args[0].kind != "field" or len(args[0].names) != 1:
            return None
        name = args[0].names[0]
        if not name[:1].isupper():
            return None
        plan.append((name,))
    return plan


def _execute_plan(plan: _Plan, data: Any) -> str | None:
    """The text, or None when `data` is not an object with every field (the executor then
    does the work and raises Go's errors)."""
    if data is None or isinstance(data, _SCALARS):
        return None
    cls = type(data)
    out: list[str] = []
    for part in plan:
        if isinstance(part, str):
            out.append(part)
            continue
        if not hasattr(cls, part[0]):
            return None
        value = getattr(data, part[0])
        if callable(value):
            try:
                value = value()
            except TypeError:
                return None  # a method that needs arguments: the executor reports it
        out.append(fmt_v(value))
    return "".join(out)


def parse(src: str, name: str = "", funcs: dict[str, Callable[..., Any]] | None = None) -> Template:
    parser = _Parser(src, name, set(funcs or BASIC_FUNCS) | {"and", "or"})
    body = parser.parse()
    return Template(src, name, body, parser.defines)


