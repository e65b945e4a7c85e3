"""`sangja create`: create a container; also home of `create_container`, which `run` uses.

create_container follows docker's createContainer: POST /containers/create; on a 404
for a named image with --pull=missing, print "Unable to find image 'x:latest' locally",
pull it (progress to stderr) and create again.
"""

from __future__ import annotations

import io
import os

from sangja.cli import runconfig
from sangja.cli.command import Cli, Spec, min_args
from sangja.cli.errors import CLIError, DaemonError, with_help
from sangja.cli.flags import Options
from sangja.cli.terminal import get_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SPEC = Spec(
    use="[OPTIONS] IMAGE [COMMAND] [ARG...]",
    short="Create a new container",
    flags=list(runconfig.FLAGS),
    args=min_args(1),
    aliases="docker container create, docker create",
    interspersed=False,
)

PULL_OPTIONS = ("always", "missing", "never")


def build_body(cli: Cli, opts: Options, args: list[str], command: str) -> dict[str, Any]:
    """Validate --pull and build the create body; usage-style errors exit 125."""
    if opts.pull not in (*PULL_OPTIONS, ""):
        raise CLIError(with_help(f"invalid pull option: '{opts.pull}': must be one of \"always\", "
                                 "\"missing\" or \"never\"", command), 125)
    size = (0, 0)  # docker's HostConfig.ConsoleSize: the size of our terminal, if stdout is one
    if cli.out_is_terminal:
        size = get_size(cli.streams.stdout.fileno()) or (0, 0)
    try:
        return runconfig.build(opts, args, console_size=size)
    except ValueError as exc:
        raise CLIError(with_help(str(exc), command), 125) from None


def pull_image(cli: Cli, image: str, platform: str, quiet: bool) -> None:
    """POST /images/create?fromImage=…&tag=… with docker's progress display on stderr."""
    # Imported here: only a missing image needs them, and they cost `create`/`run` ~30 ms at start.
    from sangja.cli import dockerconfig, jsonstream
    from sangja.cli.reference import parse_normalized

    try:
        ref = parse_normalized(image)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    query: dict[str, Any] = {"fromImage": ref.name, "platform": platform or None}
    if ref.digest:
        query["fromImage"] = f"{ref.name}@{ref.digest}"
    else:
        query["tag"] = ref.tag or "latest"
    try:
        auth = dockerconfig.registry_auth_header(ref.domain)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    resp = cli.client.request("POST", "/images/create", query, headers={"X-Registry-Auth": auth})
    err: Any = io.BytesIO() if quiet else cli.streams.stderr  # quiet still fails on an error line
    jsonstream.display(jsonstream.decode_lines(resp.lines()), err, _is_terminal(err), jsonstream.terminal_width(err))
    cli.client.finish(resp)


def _is_terminal(stream: Any) -> bool:
    try:
        return os.isatty(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False


def create_container(cli: Cli, opts: Options, body: dict[str, Any]) -> str:
    """Create (pulling a missing image when allowed); print warnings; return the new ID."""
    image = body["Image"]
    cidfile = opts.cidfile
    if cidfile:
        if os.path.exists(cidfile):
            raise CLIError(f"container ID file found, make sure the other container isn't running or delete "
                           f"{cidfile}")
        try:
            open(cidfile, "x").close()
        except OSError as exc:
            raise CLIError(f"failed to create the container ID file: {exc}") from None
    written = False
    try:
        if opts.pull == "always":
            pull_image(cli, image, opts.platform, opts.quiet)
        query = {"name": opts.name or None, "platform": opts.platform or None}
        try:
            created = cli.client.post("/containers/create", query, body)
        except DaemonError as exc:
            named = _named(image)
            if not (exc.not_found and named and opts.pull in ("missing", "")):
                raise
            if not opts.quiet:
                cli.err(f"Unable to find image '{named}' locally")
            pull_image(cli, image, opts.platform, opts.quiet)
            created = cli.client.post("/containers/create", query, body)
        created = created or {}
        for warning in created.get("Warnings") or []:
            cli.err(f"WARNING: {warning}")
        cid = str(created.get("Id", ""))
        if cidfile:
            with open(cidfile, "w") as f:
                f.write(cid)
            written = True
        return cid
    finally:
        if cidfile and not written and os.path.exists(cidfile):
            os.unlink(cidfile)


def _named(image: str) -> str:
    """The familiar "name:tag" docker prints, or "" when image is an ID, not a name."""
    from sangja.cli.reference import parse_normalized  # only for a missing image: it needs re

    try:
        return parse_normalized(image).with_default_tag().familiar()
    except ValueError:
        return ""


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    body = build_body(cli, opts, args, "create")
    cli.out(create_container(cli, opts, body))
    return 0
