"""`sangja inspect`: low-level JSON of containers, images, networks or volumes.

Output follows docker's inspector: a JSON array indented by 4 spaces (the daemon's JSON
re-indented, not re-encoded), `--format json` compact, or a Go template per object,
executed with missingkey=error. Objects that cannot be found are reported after the
others are printed, and the exit status is 1.
"""

from __future__ import annotations

from sangja.cli import gotemplate, jsoncodec
from sangja.cli.command import Cli, Spec, min_args, quote_path
from sangja.cli.errors import CLIError, DaemonError
from sangja.cli.flags import Bool, Options, Str
from sangja.cli.inspect_fields import zero_values

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Getter = Callable[[str], str]  # returns the object's raw JSON text, or raises CLIError

FORMAT_HELP = ("Format output using a custom template:\n'json':             Print in JSON format\n"
               "'TEMPLATE':         Print output using the given Go template.\nRefer to "
               "https://docs.docker.com/go/formatting/ for more information about formatting output with templates")

SPEC = Spec(
    use="[OPTIONS] NAME|ID [NAME|ID...]",
    short="Return low-level information on Docker objects",
    flags=[
        Str("format", "f", FORMAT_HELP),
        Bool("size", "s", "Display total file sizes if the type is container"),
        Str("type", "", "Only inspect objects of the given type"),
    ],
    args=min_args(1),
)

TYPES = ("config", "container", "image", "network", "node", "plugin", "secret", "service", "task", "volume")
SUPPORTED = ("container", "image", "network", "volume")


def indent_json(raw: str, indent: str = "    ") -> str:
    """Go's json.Indent(dst, src, "", indent): whitespace re-laid, strings copied verbatim."""
    out: list[str] = []
    depth = 0
    i = 0
    n = len(raw)
    need_indent = False
    while i < n:
        c = raw[i]
        if c == '"':
            j = i + 1
            while j < n and raw[j] != '"':
                j += 2 if raw[j] == "\\" else 1
            if need_indent:
                out.append("\n" + indent * depth)
                need_indent = False
            out.append(raw[i:j + 1])
            i = j + 1
            continue
        if c in " \t\r\n":
            i += 1
            continue
        if need_indent and c not in "]}":
            out.append("\n" + indent * depth)
            need_indent = False
        if c in "[{":
            out.append(c)
            depth += 1
            need_indent = True
        elif c in "]}":
            depth -= 1
            if need_indent:  # empty [] or {}
                need_indent = False
            else:
                out.append("\n" + indent * depth)
            out.append(c)
        elif c == ",":
            out.append(",")
            need_indent = True
        elif c == ":":
            out.append(": ")
        else:
            out.append(c)
        i += 1
    return "".join(out)


def compact_json(raw: str) -> str:
    return jsoncodec.dumps(jsoncodec.loads(raw), separators=(",", ":"), ensure_ascii=False)


def inspect(cli: Cli, refs: list[str], fmt: str, getter: Getter) -> int:
    """Print the objects; raise CLIError (status 1) listing the ones that failed."""
    tmpl = None
    if fmt and fmt != "json":
        try:
            tmpl = gotemplate.parse(fmt)
        except gotemplate.TemplateError as exc:
            raise CLIError(f"template parsing error: {exc}", 64) from None
    zeros = zero_values() if tmpl is not None else {}
    errors: list[str] = []
    raws: list[str] = []
    rendered: list[str] = []
    for ref in refs:
        try:
            raw = getter(ref)
        except CLIError as exc:
            errors.append(str(exc))
            continue
        if tmpl is None:
            raws.append(raw)
            continue
        data = jsoncodec.loads(raw)
        try:
            # docker: first the typed struct (known fields read as zero values), then on failure
            # the raw map with missingkey=error, whose error is the one reported.
            rendered.append(tmpl.execute(data, missingkey_error=True, zero_values=zeros) + "\n")
        except gotemplate.TemplateError:
            try:
                rendered.append(tmpl.execute(data, missingkey_error=True) + "\n")
            except gotemplate.TemplateError as exc:
                errors.append(f"template parsing error: {exc}")
    if tmpl is not None:
        cli.out("".join(rendered) or "\n", end="")
    elif not raws:
        cli.out("[]")
    elif fmt == "json":
        cli.out("[" + ",".join(compact_json(r) for r in raws) + "]")
    else:
        cli.out(indent_json("[" + ",".join(raws) + "]"))
    if errors:
        raise CLIError("\n".join(errors))
    return 0


def get_raw(cli: Cli, path: str, query: dict[str, Any] | None = None) -> str:
    resp = cli.client.request("GET", path, query)
    data = resp.read()
    cli.client.finish(resp)
    return data.decode("utf-8", "surrogateescape")


def container_getter(cli: Cli, size: bool) -> Getter:
    return lambda ref: get_raw(cli, f"/containers/{quote_path(ref)}/json", {"size": True if size else None})


def image_getter(cli: Cli) -> Getter:
    return lambda ref: get_raw(cli, f"/images/{quote_path(ref)}/json")


def _skippable(err: CLIError) -> bool:
    text = str(err)
    return (isinstance(err, DaemonError) and err.not_found) or "not supported" in text or \
        "invalid reference format" in text


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    kind: str = opts.type
    if kind and kind not in TYPES:
        quoted = ", ".join(f'"{t}"' for t in TYPES)
        raise CLIError(f'unknown type: "{kind}": must be one of {quoted}')
    getters: list[tuple[str, bool, Getter]] = [
        ("container", True, container_getter(cli, opts.size)),
        ("image", False, image_getter(cli)),
        ("network", False, lambda ref: get_raw(cli, f"/networks/{quote_path(ref)}")),
        ("volume", False, lambda ref: get_raw(cli, f"/volumes/{quote_path(ref)}")),
    ]

    def get_any(ref: str) -> str:
        for name, size_ok, getter in getters:
            if kind and name != kind:
                continue
            try:
                raw = getter(ref)
            except CLIError as exc:
                if not kind and _skippable(exc):
                    continue
                raise
            if opts.size and not size_ok:
                cli.err(f"WARNING: --size ignored for {name}")
            return raw
        raise CLIError(f"Error: No such object: {ref}")

    return inspect(cli, args, opts.format, get_any)
