"""`sangja build`: build an image from a Dockerfile with the daemon's classic builder.

The context (a directory, `-` for a tar or Dockerfile on stdin, or a tar file) is sent as a tar
streamed while it is written (a thread writes it into a pipe), never built in memory.
`.dockerignore` is applied here, as docker's CLI does: its patterns (Go's filepath.Match with
`**`, and `!` exceptions, the last match wins) leave files out; the Dockerfile and .dockerignore
themselves are always sent. A Dockerfile outside the context is added under a generated name.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import tarfile
import threading
from typing import IO, Any

from sangja.cli import jsonstream
from sangja.cli.command import Cli, Spec, exact_args
from sangja.cli.errors import CLIError, StreamError
from sangja.cli.flags import Bool, List, Options, Str

SPEC = Spec(
    use="[OPTIONS] PATH | URL | -",
    short="Build an image from a Dockerfile",
    flags=[
        List("build-arg", "", "Set build-time variables"),
        Str("file", "f", "Name of the Dockerfile (Default is 'PATH/Dockerfile')"),
        Bool("force-rm", "", "Always remove intermediate containers"),
        List("label", "", "Set metadata for an image"),
        Str("network", "", "Set the networking mode for the RUN instructions during build", default="default"),
        Bool("no-cache", "", "Do not use cache when building the image"),
        Str("platform", "", "Set platform if server is multi-platform capable"),
        Bool("pull", "", "Always attempt to pull a newer version of the image"),
        Bool("quiet", "q", "Suppress the build output and print image ID on success"),
        Bool("rm", "", "Remove intermediate containers after a successful build", default=True),
        List("tag", "t", "Name and optionally a tag in the 'name:tag' format"),
        Str("target", "", "Set the target build stage to build."),
    ],
    args=exact_args(1),
    aliases="docker image build, docker build, docker builder build",
)


# -- .dockerignore ------------------------------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """moby/patternmatcher: filepath.Match syntax per path element, `**` for any elements."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                i += 1
                out.append("(?:.*/)?")
            else:
                out.append(".*")
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise CLIError(f"error checking context: syntax error in pattern: {pattern}")
            body = pattern[i + 1 : end]
            if body.startswith("^"):
                body = "!" + body[1:]
            out.append("[" + body.replace("!", "^", 1) + "]" if body.startswith("!") else "[" + body + "]")
            i = end
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    # A pattern matching a directory also excludes everything under it.
    return re.compile("^" + "".join(out) + "(?:/.*)?$")


class IgnoreRules:
    def __init__(self, lines: list[str]) -> None:
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            if negate:
                line = line[1:].strip()
            line = os.path.normpath(line).lstrip("/") if line else line
            if line in ("", "."):
                continue
            self.rules.append((negate, _pattern_regex(line)))

    @classmethod
    def read(cls, context: str) -> IgnoreRules:
        try:
            with open(os.path.join(context, ".dockerignore"), encoding="utf-8") as f:
                return cls(f.read().splitlines())
        except FileNotFoundError:
            return cls([])

    def excluded(self, rel: str) -> bool:
        result = False
        for negate, rx in self.rules:
            if rx.match(rel):
                result = not negate
        return result

    def may_include_below(self, rel: str) -> bool:
        """Could an exception pattern re-include something under the excluded dir `rel`?"""
        return any(negate for negate, _ in self.rules)


def _write_context(out: IO[bytes], context: str, dockerfile: str | None, dockerfile_name: str,
                   errors: list[BaseException]) -> None:
    """Write the context tar to `out` (a pipe), then close it. Runs in a thread."""
    try:
        rules = IgnoreRules.read(context)
        keep = {".dockerignore", dockerfile_name}
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
            for top, dirs, files in os.walk(context):
                rel_top = os.path.relpath(top, context)
                rel_top = "" if rel_top == "." else rel_top
                for name in sorted(dirs + files):
                    rel = os.path.join(rel_top, name)
                    full = os.path.join(top, name)
                    skip = rules.excluded(rel) and rel not in keep
                    if name in dirs and skip and not rules.may_include_below(rel):
                        dirs.remove(name)
                    if skip:
                        continue
                    info = tf.gettarinfo(full, rel)
                    info.uid = info.gid = 0
                    info.uname = info.gname = ""
                    if info.isreg():
                        with open(full, "rb") as f:
                            tf.addfile(info, f)
                    else:
                        tf.addfile(info)
                dirs.sort()
            if dockerfile is not None:
                data = dockerfile.encode()
                info = tarfile.TarInfo(dockerfile_name)
                info.size, info.mode = len(data), 0o644
                tf.addfile(info, io.BytesIO(data))
    except BaseException as exc:  # reported by the main thread
        errors.append(exc)
    finally:
        out.close()


def _stdin_tar_with_dockerfile(data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("Dockerfile")
        info.size, info.mode = len(data), 0o644
        tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    target = args[0]
    query: dict[str, Any] = {
        "t": list(opts.tag) or None,
        "target": opts.target or None,
        "nocache": True if opts.no_cache else None,
        "pull": True if opts.pull else None,
        "rm": "1" if opts.rm else "0",
        "forcerm": True if opts.force_rm else None,
        "q": True if opts.quiet else None,
        "networkmode": opts.network if opts.network else None,
        "platform": opts.platform or None,
    }
    buildargs: dict[str, str | None] = {}
    for item in opts.build_arg:
        key, eq, value = item.partition("=")
        buildargs[key] = value if eq else os.environ.get(key)
    if buildargs:
        query["buildargs"] = json.dumps(buildargs)
    if opts.label:
        query["labels"] = json.dumps({k: v for k, _, v in (lbl.partition("=") for lbl in opts.label)})
    errors: list[BaseException] = []
    thread: threading.Thread | None = None
    body: IO[bytes]
    if target == "-":
        data = cli.streams.stdin.read()
        body = io.BytesIO(data if _is_tar(data) else _stdin_tar_with_dockerfile(data))
        query["dockerfile"] = opts.file or None
    elif os.path.isfile(target):
        body = open(target, "rb")  # noqa: SIM115 - closed below
        query["dockerfile"] = opts.file or None
    elif os.path.isdir(target):
        dockerfile_text: str | None = None
        name = opts.file or "Dockerfile"
        outside = bool(opts.file) and os.path.exists(name) and not os.path.exists(os.path.join(target, name))
        path = name if os.path.isabs(name) or outside else os.path.join(target, name)
        if not os.path.exists(path):
            raise CLIError(f"unable to prepare context: unable to evaluate symlinks in Dockerfile path: "
                           f"lstat {os.path.abspath(path)}: no such file or directory")
        rel = os.path.relpath(os.path.abspath(path), os.path.abspath(target))
        if rel.startswith(".."):
            with open(path, encoding="utf-8") as f:
                dockerfile_text = f.read()
            rel = f".dockerfile.{secrets.token_hex(10)}"
        query["dockerfile"] = rel
        r, w = os.pipe()
        body = os.fdopen(r, "rb")
        thread = threading.Thread(
            target=_write_context, args=(os.fdopen(w, "wb"), target, dockerfile_text, rel, errors), daemon=True
        )
        thread.start()
    else:
        raise CLIError(f'unable to prepare context: path "{target}" not found')
    try:
        resp = cli.client.request("POST", "/build", query, raw_body=body, content_type="application/x-tar")
        out = cli.streams.stdout
        terminal = cli.out_is_terminal
        try:
            messages = jsonstream.decode_lines(resp.lines())
            if terminal and not opts.quiet:
                # Imported here: rich is for this view only (other commands start without it).
                from sangja.cli.buildview import display_build, terminal_console

                display_build(messages, terminal_console(out, jsonstream.terminal_width(out)))
            else:
                jsonstream.display(messages, out, terminal, jsonstream.terminal_width(out))
        except StreamError as exc:
            # docker/cli's runBuild: the error's code is the exit status (a failed RUN's), else 1
            raise CLIError(exc.message, exc.code or 1) from None
        cli.client.finish(resp)
    finally:
        body.close()
        if thread is not None:
            thread.join(timeout=60)
    if errors:
        raise CLIError(f"error checking context: {errors[0]}")
    return 0


def _is_tar(data: bytes) -> bool:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*"):
            return True
    except tarfile.TarError:
        return False

