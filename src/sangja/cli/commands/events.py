"""`sangja events`: stream the daemon's events until interrupted (or until --until)."""

from __future__ import annotations

import json
import time

from sangja.cli import gotemplate
from sangja.cli.client import encode_filters
from sangja.cli.command import Cli, Spec, no_args
from sangja.cli.commands.logs import timestamp_param
from sangja.cli.errors import CLIError
from sangja.cli.filters import collect, filter_flag
from sangja.cli.flags import Options, Str

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SPEC = Spec(
    use="[OPTIONS]",
    short="Get real time events from the server",
    flags=[
        filter_flag(),
        Str("format", "", "Format output using a custom template:\n'json':             Print in JSON format\n"
                          "'TEMPLATE':         Print output using the given Go template.\nRefer to "
                          "https://docs.docker.com/go/formatting/ for more information about formatting output "
                          "with templates"),
        Str("since", "", "Show all events created since timestamp"),
        Str("until", "", "Stream events until this timestamp"),
    ],
    args=no_args(),
    aliases="docker system events, docker events",
)


class Event:
    """events.Message as a template sees it: Go field names over the JSON keys."""

    GO_TYPE = "*events.Message"

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        actor = raw.get("Actor") or {}
        self.Status = raw.get("status", "")
        self.ID = raw.get("id", "")
        self.From = raw.get("from", "")
        self.Type = raw.get("Type", "")
        self.Action = raw.get("Action", "")
        self.Actor = {"ID": actor.get("ID", ""), "Attributes": actor.get("Attributes") or {}}
        self.Scope = raw.get("scope", "")
        self.Time = raw.get("time", 0)
        self.TimeNano = raw.get("timeNano", 0)

    def __template_json__(self) -> dict[str, Any]:
        return self.raw


def rfc3339_nano_fixed(nanos: int) -> str:
    """Go's "2006-01-02T15:04:05.000000000Z07:00" in the local zone."""
    secs, frac = divmod(nanos, 1_000_000_000)
    t = time.localtime(secs)
    off = t.tm_gmtoff or 0
    zone = "Z" if off == 0 else f"{'+' if off > 0 else '-'}{abs(off) // 3600:02d}:{abs(off) % 3600 // 60:02d}"
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{frac:09d}" + zone


def pretty(e: Event) -> str:
    parts = []
    if e.TimeNano:
        parts.append(rfc3339_nano_fixed(int(e.TimeNano)) + " ")
    elif e.Time:
        parts.append(rfc3339_nano_fixed(int(e.Time) * 1_000_000_000) + " ")
    parts.append(f"{e.Type} {e.Action} {e.Actor['ID']}")
    attrs = e.Actor["Attributes"]
    if attrs:
        parts.append(" (" + ", ".join(f"{k}={attrs[k]}" for k in sorted(attrs)) + ")")
    return "".join(parts)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    tmpl = None
    if opts.format:
        try:
            tmpl = gotemplate.parse("{{json .}}" if opts.format == "json" else opts.format)
            tmpl.execute(Event({}))
        except gotemplate.TemplateError as exc:
            raise CLIError(f"Error parsing format: {exc}", 64) from None
    query = {
        "since": timestamp_param("since", opts.since),
        "until": timestamp_param("until", opts.until),
        "filters": encode_filters(collect(opts.filter)),
    }
    resp = cli.client.stream("GET", "/events", query)
    for line in resp.lines():
        if not line.strip():
            continue
        event = Event(json.loads(line))
        if tmpl is None:
            cli.out(pretty(event))
        else:
            try:
                cli.out(tmpl.execute(event))
            except gotemplate.TemplateError as exc:
                raise CLIError(str(exc)) from None
        cli.flush()
    cli.client.finish(resp)
    return 0
