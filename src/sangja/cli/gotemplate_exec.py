"""Executing a parsed Go template (see sangja.cli.gotemplate) over Python data.

Semantics follow Go's text/template exec.go: fields of maps and objects, variables and
scopes, pipelines passing the value as the last argument, lazy and/or, truthiness,
range over lists/maps (sorted keys)/integers, and Go's error texts
("template: :1:2: executing "" at <.Foo>: map has no entry for key "Foo"").
"""

from __future__ import annotations

from sangja.cli.gofmt import MISSING, FuncError, fmt_v, truth
from sangja.cli.gotemplate_syntax import Arg, Cmd, Node, Pipe, TemplateError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Protocol

    class TemplateLike(Protocol):
        src: str
        name: str
        defines: dict[str, list[Node]]

# -- execution -------------------------------------------------------------------------------


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


def go_type_name(value: Any) -> str:
    if value is MISSING:
        return "<no value>"
    if value is None:
        return "interface {}"
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
    return str(getattr(value, "GO_TYPE", type(value).__name__))


class Executor:
    def __init__(self, tmpl: TemplateLike, funcs: dict[str, Callable[..., Any]], missingkey_error: bool,
                 root: Any, zero_values: dict[str, Any] | None = None) -> None:
        self.tmpl = tmpl
        self.funcs = funcs
        self.missingkey_error = missingkey_error
        # Known struct fields: a missing or null one reads as its Go zero value (see inspect_fields).
        self.zero_values = zero_values or {}
        self.vars: list[tuple[str, Any]] = [("$", root)]
        self.depth = 0

    def error(self, pos: int, src: str, msg: str) -> TemplateError:
        text = self.tmpl.src[:pos]
        nl = text.rfind("\n")
        col = pos if nl < 0 else pos - (nl + 1)
        line = text.count("\n") + 1
        name = self.tmpl.name
        return TemplateError(f'template: {name}:{line}:{col}: executing "{name}" at <{src}>: {msg}')

    def walk(self, nodes: list[Node], dot: Any, out: list[str]) -> None:
        for node in nodes:
            kind = node.kind
            if kind == "text":
                out.append(node.text)
            elif kind == "action":
                assert node.pipe is not None
                # Variables declared here stay visible until the enclosing block ends.
                value = self.eval_pipe(node.pipe, dot)
                if not node.pipe.decl:
                    out.append(fmt_v(value))
            elif kind in ("if", "with"):
                assert node.pipe is not None
                mark = len(self.vars)
                value = self.eval_pipe(node.pipe, dot)
                if truth(value):
                    self.walk(node.body, value if kind == "with" else dot, out)
                elif node.else_body is not None:
                    self.walk(node.else_body, dot, out)
                del self.vars[mark:]
            elif kind == "range":
                self.walk_range(node, dot, out)
            elif kind == "template":
                self.walk_template(node, dot, out)
            elif kind == "break":
                raise _Break()
            elif kind == "continue":
                raise _Continue()

    def walk_range(self, node: Node, dot: Any, out: list[str]) -> None:
        assert node.pipe is not None
        mark = len(self.vars)
        pipe = node.pipe
        value = self.eval_pipe(pipe, dot, declare=False)
        if isinstance(value, dict):
            items: list[tuple[Any, Any]] = [(k, value[k]) for k in sorted(value, key=str)]
        elif isinstance(value, list | tuple):
            items = list(enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            items = [(i, i) for i in range(value)]
        elif value is None or value is MISSING:
            items = []
        else:
            raise self.error(pipe.pos, pipe.src, f"range can't iterate over {fmt_v(value)}")
        for key, elem in items:
            inner = len(self.vars)
            if len(pipe.decl) == 1:
                self.set_var(pipe.decl[0], elem, pipe.is_assign)
            elif len(pipe.decl) == 2:
                self.set_var(pipe.decl[0], key, pipe.is_assign)
                self.set_var(pipe.decl[1], elem, pipe.is_assign)
            try:
                self.walk(node.body, elem, out)
            except _Continue:
                pass
            except _Break:
                del self.vars[inner:]
                break
            del self.vars[inner:]
        if not items and node.else_body is not None:
            self.walk(node.else_body, dot, out)
        del self.vars[mark:]

    def walk_template(self, node: Node, dot: Any, out: list[str]) -> None:
        body = self.tmpl.defines.get(node.name)
        if body is None:
            raise self.error(node.pos, f'template "{node.name}"', f'no such template "{node.name}"')
        value = self.eval_pipe(node.pipe, dot) if node.pipe is not None else None
        self.depth += 1
        if self.depth > 100000:
            raise self.error(node.pos, node.name, "exceeded maximum template depth (100000)")
        saved = self.vars
        self.vars = [("$", value)]
        try:
            self.walk(body, value, out)
        finally:
            self.vars = saved
            self.depth -= 1

    def set_var(self, name: str, value: Any, assign: bool) -> None:
        if assign:
            for i in range(len(self.vars) - 1, -1, -1):
                if self.vars[i][0] == name:
                    self.vars[i] = (name, value)
                    return
        self.vars.append((name, value))

    def get_var(self, name: str) -> Any:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                return self.vars[i][1]
        return MISSING

    def eval_pipe(self, pipe: Pipe, dot: Any, declare: bool = True) -> Any:
        value: Any = _NOFINAL
        for cmd in pipe.cmds:
            value = self.eval_cmd(cmd, dot, value)
        if declare and pipe.decl:
            for name in pipe.decl:
                self.set_var(name, value, pipe.is_assign)
        return value

    def eval_cmd(self, cmd: Cmd, dot: Any, final: Any) -> Any:
        first = cmd.args[0]
        rest = cmd.args[1:]
        if first.kind == "field":
            return self.eval_chain(dot, first, first.names, rest, dot, final)
        if first.kind == "chain":
            base = self.eval_arg(first.value, dot)
            return self.eval_chain(base, first, first.names, rest, dot, final)
        if first.kind == "var":
            value = self.get_var(first.value)
            if first.names:
                return self.eval_chain(value, first, first.names, rest, dot, final)
            self.no_args(first, rest, final)
            return value
        if first.kind == "ident":
            return self.call(first, rest, dot, final, cmd)
        if first.kind == "nil":
            raise self.error(first.pos, first.src, "nil is not a command")
        self.no_args(first, rest, final)
        return self.eval_arg(first, dot)

    def no_args(self, arg: Arg, rest: list[Arg], final: Any) -> None:
        if rest or final is not _NOFINAL:
            raise self.error(arg.pos, arg.src, f"can't give argument to non-function {arg.src}")

    def eval_arg(self, arg: Arg, dot: Any) -> Any:
        kind = arg.kind
        if kind == "dot":
            return dot
        if kind == "field":
            return self.eval_chain(dot, arg, arg.names, [], dot, _NOFINAL)
        if kind == "var":
            value = self.get_var(arg.value)
            return self.eval_chain(value, arg, arg.names, [], dot, _NOFINAL) if arg.names else value
        if kind == "pipe":
            mark = len(self.vars)
            value = self.eval_pipe(arg.value, dot)
            del self.vars[mark:]
            return value
        if kind == "chain":
            return self.eval_chain(self.eval_arg(arg.value, dot), arg, arg.names, [], dot, _NOFINAL)
        if kind == "ident":
            return self.call(arg, [], dot, _NOFINAL, None)
        if kind == "nil":
            return None
        return arg.value

    def eval_chain(self, receiver: Any, node: Arg, names: list[str], args: list[Arg], dot: Any,
                   final: Any) -> Any:
        for idx, name in enumerate(names):
            last = idx == len(names) - 1
            receiver = self.field(receiver, name, node, args if last else [], dot, final if last else _NOFINAL)
        return receiver

    def field(self, receiver: Any, name: str, node: Arg, args: list[Arg], dot: Any, final: Any) -> Any:
        has_args = bool(args) or final is not _NOFINAL
        if receiver is MISSING or receiver is None:
            if self.missingkey_error:
                raise self.error(node.pos, node.src, f'nil data; no entry for key "{name}"')
            if receiver is None and has_args:
                raise self.error(node.pos, node.src, f"nil pointer evaluating interface {{}}.{name}")
            return MISSING
        if name[:1].isupper() and not isinstance(receiver, str | int | float | list | tuple) and \
                (hasattr(type(receiver), name) or (not isinstance(receiver, dict) and hasattr(receiver, name))):
            attr = getattr(receiver, name)
            if callable(attr):
                values = [self.eval_arg(a, dot) for a in args]
                if final is not _NOFINAL:
                    values.append(final)
                try:
                    return attr(*values)
                except TypeError:
                    raise self.error(node.pos, node.src,
                                     f"wrong number of args for {name}: got {len(values)}") from None
            if has_args:
                raise self.error(node.pos, node.src, f"{name} has arguments but cannot be invoked as function")
            return attr
        if isinstance(receiver, dict):
            if has_args:
                raise self.error(node.pos, node.src, f"{name} is not a method but has arguments")
            value = receiver.get(name, MISSING)
            if (value is None or value is MISSING) and name in self.zero_values:
                zero = self.zero_values[name]
                return type(zero)() if isinstance(zero, list | dict) else zero  # a fresh nil slice/map
            if value is not MISSING:
                return value
            if self.missingkey_error:
                raise self.error(node.pos, node.src, f'map has no entry for key "{name}"')
            return MISSING
        raise self.error(node.pos, node.src, f"can't evaluate field {name} in type {go_type_name(receiver)}")

    def call(self, ident: Arg, args: list[Arg], dot: Any, final: Any, cmd: Cmd | None) -> Any:
        name = ident.value
        src = cmd.src if cmd is not None else ident.src
        if name in ("and", "or"):
            # Go 1.18+: and/or evaluate their arguments lazily and stop at the deciding one.
            operands: list[Arg | None] = [*args, None] if final is not _NOFINAL else list(args)
            if not operands:
                raise self.error(ident.pos, src, f"wrong number of args for {name}: want at least 1 got 0")
            value: Any = None
            for operand in operands:
                value = final if operand is None else self.eval_arg(operand, dot)
                if (name == "and") != truth(value):
                    return value
            return value
        fn = self.funcs.get(name)
        if fn is None:
            raise self.error(ident.pos, src, f'"{name}" is not a defined function')
        values = [self.eval_arg(a, dot) for a in args]
        if final is not _NOFINAL:
            values.append(final)
        try:
            return fn(*values)
        except FuncError as exc:
            raise self.error(ident.pos, src, f"error calling {name}: {exc}") from None
        except TypeError:
            raise self.error(ident.pos, src, f"wrong number of args for {name}: got {len(values)}") from None
        except (ValueError, KeyError, IndexError, AttributeError) as exc:
            raise self.error(ident.pos, src, f"error calling {name}: {exc}") from None


class _NoFinal:
    pass


_NOFINAL: Any = _NoFinal()
