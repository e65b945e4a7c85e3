"""docker's list formatter (docker/cli cli/command/formatter): `--format` for ps, images, history.

A format is "table" (the command's default columns), "table TEMPLATE" (header row +
tab-aligned columns), "json" (`{{json .}}` per row) or a bare Go template (one line per
row). Rows are template objects (see `Row`); the header row is the same template run
over the row class's HEADERS map with header functions, like docker's FullHeader.

    text = render(fmt, rows, headers)      # raises CLIError with docker's messages
"""

from __future__ import annotations

from sangja.cli import gotemplate
from sangja.cli.errors import CLIError
from sangja.cli.gofmt import HEADER_FUNCS
from sangja.cli.tabwriter import tabulate

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

TABLE = "table"
JSON_FORMAT = "{{json .}}"


class HeaderContext(dict[str, str]):
    """SubHeaderContext: column names by field; `.Label "a.b-c"` names the column "b c"."""

    def Label(self, name: str) -> str:
        return name.split(".")[-1].replace("-", " ").replace("_", " ")


class Row:
    """Base of template rows. Subclasses define Go-named methods and `GO_TYPE`.

    `FIELDS` lists the zero-argument fields `{{json .}}` includes (Go marshals every
    exported method without arguments, keys sorted).
    """

    GO_TYPE = "*formatter.Context"
    FIELDS: tuple[str, ...] = ()

    def __template_json__(self) -> dict[str, Any]:
        return {name: getattr(self, name)() for name in sorted(self.FIELDS)}


def is_table(fmt: str) -> bool:
    return fmt.startswith(TABLE)


def template_string(fmt: str) -> str:
    """Format.templateString: strip "table", trim spaces, turn literal \\t and \\n into tabs/newlines."""
    if fmt == TABLE:
        return ""
    if fmt == "json":
        return JSON_FORMAT
    if fmt.startswith(TABLE):
        fmt = fmt[len(TABLE):]
    return fmt.strip(" ").replace("\\t", "\t").replace("\\n", "\n")


def parse(fmt: str) -> gotemplate.Template:
    try:
        return gotemplate.parse(template_string(fmt))
    except gotemplate.TemplateError as exc:
        raise CLIError(f"template parsing error: {exc}") from None


def render(fmt: str, rows: Iterable[Row], headers: dict[str, str], tmpl: gotemplate.Template | None = None) -> str:
    """Render rows with a docker format; tables get the header row and tab alignment."""
    tmpl = tmpl or parse(fmt)
    out: list[str] = []
    try:
        for row in rows:
            out.append(tmpl.execute(row))
            out.append("\n")
    except gotemplate.TemplateError as exc:
        raise CLIError(f"template parsing error: {exc}") from None
    if not is_table(fmt):
        return "".join(out)
    try:
        header = tmpl.execute(HeaderContext(headers), funcs=HEADER_FUNCS)
    except gotemplate.TemplateError:
        header = ""
    return tabulate(header + "\n" + "".join(out))


def truncate_id(ident: str) -> str:
    """stringid.TruncateID: drop an "algo:" prefix, keep 12 characters."""
    if ":" in ident:
        ident = ident.split(":", 1)[1]
    return ident[:12]


def ellipsis(text: str, max_width: int) -> str:
    """formatter.Ellipsis: cut to max_width display columns, the last one being "…"."""
    if max_width <= 0:
        return ""
    if max_width == 1:
        return text[:1]
    from sangja.cli.tabwriter import display_width

    if display_width(text) <= max_width:
        return text
    width = 0
    for i, ch in enumerate(text):
        w = display_width(ch)
        if width + w > max_width - 1:
            return text[:i] + "…"
        width += w
    return text
