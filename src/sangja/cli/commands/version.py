"""`sangja version`: client and server versions, through docker's version template."""

from __future__ import annotations

import platform
import sys

from sangja import __version__
from sangja.cli import gotemplate
from sangja.cli.client import MAX_API_VERSION
from sangja.cli.command import Cli, Spec, no_args
from sangja.cli.errors import CLIError
from sangja.cli.flags import Options, Str
from sangja.cli.gofmt import BASIC_FUNCS, to_json
from sangja.cli.tabwriter import tabulate

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SPEC = Spec(
    use="[OPTIONS]",
    short="Show the sangja version information",
    flags=[Str("format", "f", "Format output using a custom template:\n'json':             Print in JSON format\n"
               "'TEMPLATE':         Print output using the given Go template.\nRefer to "
               "https://docs.docker.com/go/formatting/ for more information about formatting output with templates")],
    args=no_args(),
)

# docker/cli's defaultVersionTemplate, with the client's Go version replaced by Python's.
VERSION_TEMPLATE = """{{with .Client -}}
Client:
 Version:\t{{.Version}}
 API version:\t{{.APIVersion}}{{if ne .APIVersion .DefaultAPIVersion}} (downgraded from {{.DefaultAPIVersion}}){{end}}
 Python version:\t{{.PythonVersion}}
 OS/Arch:\t{{.Os}}/{{.Arch}}
 Context:\t{{.Context}}
{{- end}}

{{- if ne .Server nil}}{{with .Server}}

Server:{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}
 {{- range $component := .Components}}
 {{$component.Name}}:
  {{- if eq $component.Name "Engine" }}
  Version:\t{{.Version}}
  API version:\t{{index .Details "ApiVersion"}} (minimum version {{index .Details "MinAPIVersion"}})
  Go version:\t{{index .Details "GoVersion"}}
  Git commit:\t{{index .Details "GitCommit"}}
  Built:\t{{index .Details "BuildTime"}}
  OS/Arch:\t{{index .Details "Os"}}/{{index .Details "Arch"}}
  Experimental:\t{{index .Details "Experimental"}}
  {{- else }}
  Version:\t{{$component.Version}}
  {{- $detailsOrder := getDetailsOrder $component}}
  {{- range $key := $detailsOrder}}
  {{$key}}:\t{{index $component.Details $key}}
   {{- end}}
  {{- end}}
 {{- end}}
 {{- end}}{{- end}}"""


def _details_order(component: dict[str, Any]) -> list[str]:
    return sorted((component.get("Details") or {}).keys())


def _server_view(sv: dict[str, Any]) -> dict[str, Any]:
    """Fill what docker's typed serverVersion always has (Platform.Name, an Engine component)."""
    view = dict(sv)
    if not isinstance(view.get("Platform"), dict):
        view["Platform"] = {"Name": ""}
    view["Platform"].setdefault("Name", "")
    components = [dict(c) for c in view.get("Components") or []]
    if not any(c.get("Name") == "Engine" for c in components):
        components.insert(0, {"Name": "Engine", "Version": sv.get("Version", ""), "Details": {
            "ApiVersion": sv.get("ApiVersion", ""), "MinAPIVersion": sv.get("MinAPIVersion", ""),
            "Os": sv.get("Os", ""), "Arch": sv.get("Arch", ""), "GoVersion": sv.get("GoVersion", ""),
            "GitCommit": sv.get("GitCommit", ""), "BuildTime": sv.get("BuildTime", ""),
            "Experimental": str(bool(sv.get("Experimental", False))).lower()}})
    for c in components:
        c["Details"] = dict(c.get("Details") or {})
        c.setdefault("Version", "")
        if c.get("Name") == "Engine" and "BuildTime" in c["Details"]:
            c["Details"]["BuildTime"] = _reformat_date(str(c["Details"]["BuildTime"]))
    view["Components"] = components
    # The Go struct's field is APIVersion (its JSON key ApiVersion): templates use the field name.
    view["APIVersion"] = sv.get("ApiVersion", "")
    return view


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    funcs = {**BASIC_FUNCS, "getDetailsOrder": _details_order}
    fmt = opts.format
    try:
        tmpl = gotemplate.parse(VERSION_TEMPLATE if not fmt else ("{{json .}}" if fmt == "json" else fmt),
                                "version", funcs)
    except gotemplate.TemplateError as exc:
        raise CLIError(f"template parsing error: {exc}", 64) from None
    server_error: CLIError | None = None
    server: dict[str, Any] | None = None
    try:
        server = _server_view(cli.client.get("/version"))
    except CLIError as exc:
        server_error = exc
    client = {
        "Version": __version__,
        "APIVersion": cli.client.version if server is not None else MAX_API_VERSION,
        "DefaultAPIVersion": MAX_API_VERSION,
        "PythonVersion": platform.python_version(),
        "Os": sys.platform,
        "Arch": _arch(),
        "Context": "default",
    }
    data = {"Client": client, "Server": server}
    if fmt == "json":
        cli.out(to_json({"Client": {"Version": __version__, "ApiVersion": client["APIVersion"],
                                    "DefaultAPIVersion": MAX_API_VERSION, "PythonVersion": client["PythonVersion"],
                                    "Os": client["Os"], "Arch": client["Arch"], "Context": "default"},
                         "Server": {k: v for k, v in server.items() if k != "APIVersion"} if server else None}))
    else:
        try:
            text = tmpl.execute(data, funcs=funcs)
        except gotemplate.TemplateError as exc:
            raise CLIError(f"template: {exc}") from None
        cli.out(tabulate(text + "\n", minwidth=20, padding=1), end="")
    if server_error is not None:
        raise server_error
    return 0


def _reformat_date(text: str) -> str:
    """RFC 3339 → Go's time.ANSIC ("Thu May  7 21:09:36 2026"); anything else unchanged."""
    import datetime as dt

    main, dot, rest = text.partition(".")
    if dot:
        i = 0
        while i < len(rest) and rest[i].isdigit():
            i += 1
        text = f"{main}.{rest[:i][:6]}{rest[i:]}"
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return f"{t:%a %b} {t.day:2d} {t:%H:%M:%S %Y}"


def _arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(machine, machine)
