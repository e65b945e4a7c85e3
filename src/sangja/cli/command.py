"""What every command module declares (`Spec`) and receives (`Cli`).

A command module in `sangja.cli.commands` defines:

    SPEC = Spec(use="[OPTIONS] CONTAINER [CONTAINER...]", short="...", flags=[...],
                args=min_args(1), aliases="docker container rm, docker rm")
    def run(cli: Cli, opts: Options, args: list[str]) -> int

`run` returns the exit status or raises a `CLIError`. `Cli` carries the standard
streams (binary, so tests can pass BytesIO and pipes), the invoked command path for
messages, and a lazily-created `APIClient`.
"""

from __future__ import annotations

import os

from sangja.cli.client import APIClient
from sangja.cli.errors import PROG, CLIError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from typing import Any, BinaryIO, TypeVar

    from sangja.cli.flags import Flag

    T = TypeVar("T")
    R = TypeVar("R")


# (kind, low, high): how many positional arguments a command takes.
ArgRule = tuple[str, int, int]


def no_args() -> ArgRule:
    return ("none", 0, 0)


def min_args(n: int) -> ArgRule:
    return ("min", n, 0)


def max_args(n: int) -> ArgRule:
    return ("max", 0, n)


def exact_args(n: int) -> ArgRule:
    return ("exact", n, n)


class Spec:
    """A command's usage line (after its name), summary, flags and argument rule."""

    def __init__(self, use: str, short: str, flags: list[Flag] | None = None, args: ArgRule = ("any", 0, 0),
                 aliases: str = "", interspersed: bool = True) -> None:
        self.use = use
        self.short = short
        self.flags = flags or []
        self.args = args
        self.aliases = aliases
        self.interspersed = interspersed


def _plural(n: int) -> str:
    return "argument" if n == 1 else "arguments"


def check_args(spec: Spec, path: str, args: Sequence[str]) -> None:
    """Raise docker's argument-count error (cli/required.go) when args do not fit."""
    kind, low, high = spec.args
    n = len(args)
    cmd = f"{PROG} {path}"
    use = f"{cmd} {spec.use}".rstrip()
    if kind == "none" and n:
        msg = f"{PROG}: '{cmd}' accepts no arguments\n\nUsage:  {use}\n\nRun '{cmd} --help' for more information"
    elif kind == "min" and n < low:
        msg = (f"{PROG}: '{cmd}' requires at least {low} {_plural(low)}\n\nUsage:  {use}\n\n"
               f"See '{cmd} --help' for more information")
    elif kind == "max" and n > high:
        msg = (f"{PROG}: '{cmd}' requires at most {high} {_plural(high)}\n\nUsage:  {use}\n\n"
               f"Run '{cmd} --help' for more information")
    elif kind == "exact" and n != low:
        msg = (f"{PROG}: '{cmd}' requires {low} {_plural(low)}\n\nUsage:  {use}\n\n"
               f"Run '{cmd} --help' for more information")
    elif kind == "range" and not low <= n <= high:
        msg = (f"{PROG}: '{cmd}' requires at least {low} and at most {high} {_plural(high)}\n\n"
               f"Usage:  {use}\n\nRun '{cmd} --help' for more information")
    else:
        return
    raise UsageError(msg, 1)


def flag_error(spec: Spec, path: str, message: str) -> UsageError:
    cmd = f"{PROG} {path}"
    use = f"{cmd} {spec.use}".rstrip()
    return UsageError(f"{message}\n\nUsage:  {use}\n\nRun '{cmd} --help' for more information", 125)


class Streams:
    """The process's stdin/stdout/stderr as binary files (replaceable in tests)."""

    def __init__(self, stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr

    @staticmethod
    def is_terminal(stream: BinaryIO) -> bool:
        try:
            return os.isatty(stream.fileno())
        except (AttributeError, OSError, ValueError):
            return False


class Cli:
    """One invocation: the streams, the daemon address and the command path being run."""

    def __init__(self, streams: Streams, host: str, api_version: str | None = None, path: str = "",
                 debug: bool = False) -> None:
        self.streams = streams
        self.host = host
        self.api_version = api_version
        self.path = path
        self.debug = debug
        self._client: APIClient | None = None

    @property
    def client(self) -> APIClient:
        if self._client is None:
            trace = (lambda line: self.err(f"DEBU[client] {line}")) if self.debug else None
            self._client = APIClient(self.host, self.api_version, trace)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # -- output ----------------------------------------------------------------------------

    def out(self, text: str = "", end: str = "\n") -> None:
        self.streams.stdout.write((text + end).encode("utf-8", "surrogateescape"))

    def err(self, text: str = "", end: str = "\n") -> None:
        self.streams.stdout.flush()
        self.streams.stderr.write((text + end).encode("utf-8", "surrogateescape"))
        self.streams.stderr.flush()

    def flush(self) -> None:
        self.streams.stdout.flush()

    @property
    def out_is_terminal(self) -> bool:
        return Streams.is_terminal(self.streams.stdout)

    @property
    def in_is_terminal(self) -> bool:
        return Streams.is_terminal(self.streams.stdin)

    def confirm(self, message: str) -> bool:
        """docker's prompt.Confirm: print "<message> [y/N] " and accept only y/Y."""
        self.out(f"{message} [y/N] ", end="")
        self.flush()
        line = self.streams.stdin.readline().decode(errors="replace").strip()
        return line.lower() == "y"


def for_each(items: Sequence[T], op: Callable[[T], R]) -> Iterable[tuple[T, R | CLIError]]:
    """Apply op to every item (concurrently when there are several, like docker's
    parallelOperation) and yield (item, result or CLIError) in the items' order."""
    if len(items) <= 1:
        for item in items:
            yield item, _capture(op, item)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(len(items), 50)) as pool:
        futures = [pool.submit(_capture, op, item) for item in items]
        for item, fut in zip(items, futures, strict=True):
            yield item, fut.result()


def _capture(op: Callable[[T], R], item: T) -> R | CLIError:
    try:
        return op(item)
    except CLIError as exc:
        return exc


def join_errors(errors: Sequence[CLIError]) -> CLIError | None:
    """errors.Join: one message per line, exit status 1."""
    if not errors:
        return None
    return CLIError("\n".join(str(e) for e in errors), 1)


def run_for_each(cli: Cli, names: Sequence[str], op: Callable[[str], Any],
                 ignore: Callable[[CLIError], bool] | None = None) -> int:
    """docker's per-container verbs: apply op to each name (concurrently), print each name that
    succeeded in order, then fail with all errors joined (exit 1)."""
    if len(names) > 1:
        _ = cli.client.version  # negotiate once before the threads start
    errors: list[CLIError] = []
    for name, result in for_each(names, op):
        if isinstance(result, CLIError):
            if ignore is None or not ignore(result):
                errors.append(result)
            continue
        cli.out(name)
    error = join_errors(errors)
    if error is not None:
        raise error
    return 0


_PATH_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/")


def quote_path(name: str) -> str:
    """A container or image name inside a URL path, escaped like Go's url.URL.EscapedPath:
    "localhost:5000/x/y:z" stays as it is; spaces, "?", "#" and "%" are escaped."""
    return "".join(chr(b) if b in _PATH_SAFE else f"%{b:02X}" for b in name.encode())
