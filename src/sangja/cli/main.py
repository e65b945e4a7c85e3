"""`sangja`: the entry point. Global flags, the lazy dispatch, and the error→exit-code ladder.

Startup is kept small on purpose: this module imports only `registry` and `errors`;
the flag parser, the HTTP client and the one command module that runs are imported
when a command is dispatched (`sangja --help` imports none of them).

Exit codes: what the command returns; `CLIError.exit_code` for failures (printed to
stderr, never a traceback); 130 on Ctrl-C; 141 when stdout is a closed pipe.
"""

from __future__ import annotations

import os
import sys

from sangja import __version__
from sangja.cli import registry
from sangja.cli.errors import PROG, CLIError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_HOST = "unix:///run/sangja/sangja.sock"
LOG_LEVELS = ("debug", "info", "warn", "error", "fatal", "panic", "trace")

GLOBAL_OPTIONS = """\
Global Options:
  -D, --debug              Enable debug mode
  -H, --host string        Daemon socket to connect to (default: $SANGJA_HOST,
                           $DOCKER_HOST, or unix:///run/sangja/sangja.sock)
  -l, --log-level string   Set the logging level ("debug", "info", "warn",
                           "error", "fatal") (default "info")
  -v, --version            Print version information and quit"""


def main_help() -> str:
    def section(title: str, names: list[tuple[str, str]]) -> list[str]:
        return ["", f"{title}:"] + [f"  {n:<11} {s}" for n, s in names]

    common = [(n, registry.COMMANDS[n][1]) for n in registry.COMMON_COMMANDS]
    groups = [(g, registry.GROUPS[g][0]) for g in sorted(registry.GROUPS)]
    others = [(n, v[1]) for n, v in sorted(registry.COMMANDS.items()) if n not in registry.COMMON_COMMANDS]
    lines = [f"Usage:  {PROG} [OPTIONS] COMMAND", "", "A Docker-compatible container engine"]
    lines += section("Common Commands", common)
    lines += section("Management Commands", groups)
    lines += section("Commands", others)
    lines += ["", GLOBAL_OPTIONS, "", f"Run '{PROG} COMMAND --help' for more information on a command."]
    return "\n".join(lines) + "\n"


def group_help(group: str) -> str:
    short, subs = registry.GROUPS[group]
    names = sorted(n for n in subs if n not in registry.HIDDEN_ALIASES)
    lines = [f"Usage:  {PROG} {group} COMMAND", "", short, "", "Commands:"]
    lines += [f"  {n:<11} {registry.short_for(subs[n])}" for n in names]
    lines += ["", f"Run '{PROG} {group} COMMAND --help' for more information on a command."]
    return "\n".join(lines) + "\n"


class GlobalOptions:
    def __init__(self) -> None:
        self.hosts: list[str] = []
        self.log_level = "info"
        self.debug = False


def parse_globals(argv: list[str]) -> tuple[GlobalOptions, list[str], str | None]:
    """Consume global flags up to the command name; return (options, rest, early action)."""
    g = GlobalOptions()
    i = 0
    takes_value = {"-H": "host", "--host": "host", "-l": "log-level", "--log-level": "log-level",
                   "--config": "config", "-c": "context", "--context": "context"}
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        if not arg.startswith("-") or arg == "-":
            break
        name, eq, value = arg.partition("=")
        if name in ("-h", "--help"):
            return g, [], "help"
        if name in ("-v", "--version"):
            return g, [], "version"
        if name in ("-D", "--debug"):
            g.debug = True
            i += 1
            continue
        if name.startswith("-H") and len(name) > 2 and not name.startswith("--"):
            name, eq, value = "-H", "=", arg[2:].lstrip("=")
        if name in takes_value:
            if not eq:
                if i + 1 >= len(argv):
                    raise UsageError(f"flag needs an argument: {_flag_ref(name)}\n\nUsage:  {PROG} [OPTIONS] "
                                     f"COMMAND\n\nRun '{PROG} --help' for more information", 125)
                value = argv[i + 1]
                i += 1
            kind = takes_value[name]
            if kind == "host":
                g.hosts.append(value)
            elif kind == "log-level":
                if value.lower() not in LOG_LEVELS:
                    raise CLIError(f"Unable to parse logging level: {value}")
                g.log_level = value.lower()
            i += 1
            continue
        raise UsageError(f"unknown flag: {name}\n\nUsage:  {PROG} [OPTIONS] COMMAND\n\n"
                         f"Run '{PROG} --help' for more information", 125)
    return g, argv[i:], None


def _flag_ref(name: str) -> str:
    return name if name.startswith("--") else f"'{name[1]}' in {name}"


def resolve_host(g: GlobalOptions, environ: dict[str, str] | Any = os.environ) -> str:
    """-H beats SANGJA_HOST, which beats DOCKER_HOST, which beats the default socket."""
    if len(g.hosts) > 1:
        raise CLIError("Specify only one -H")
    if g.hosts:
        return g.hosts[0]
    return str(environ.get("SANGJA_HOST") or environ.get("DOCKER_HOST") or DEFAULT_HOST)


def run(argv: list[str], streams: Any = None, environ: dict[str, str] | Any = os.environ) -> int:
    """Run one CLI invocation; return the exit status (raises CLIError for failures)."""
    g, rest, action = parse_globals(argv)
    streams = streams or _SystemStreams()
    out = streams.stdout
    if action == "version":
        out.write(f"{PROG} version {__version__}\n".encode())
        return 0
    if action == "help" or not rest:
        out.write(main_help().encode())
        return 0
    if rest[0] == "help":
        if len(rest) == 1:
            out.write(main_help().encode())
            return 0
        rest = [*rest[1:], "--help"]
    found = registry.resolve(rest)
    if found is None:
        raise CLIError(f"{PROG}: unknown command: {PROG} {rest[0]}\n\nRun '{PROG} --help' for more information")
    path, module_name, args = found
    if module_name == "":
        if args and args[0] not in ("--help", "-h"):
            raise CLIError(f"{PROG}: unknown flag: {args[0]}\n\nRun '{PROG} {path} --help' for more information")
        out.write(group_help(path).encode())
        return 0
    if module_name == "?":
        group = path.split()[0]
        raise CLIError(f"{PROG}: unknown command: {PROG} {path}\n\nUsage:  {PROG} {group}\n\n"
                       f"Run '{PROG} {group} --help' for more information")
    return dispatch(path, module_name, args, g, streams, environ)


def dispatch(path: str, module_name: str, args: list[str], g: GlobalOptions, streams: Any,
             environ: dict[str, str] | Any) -> int:
    from sangja.cli import flags as flagmod
    from sangja.cli.command import Cli, Streams, check_args, flag_error

    # __import__ with a fromlist returns the submodule itself; importlib.import_module would
    # do the same but importing the importlib package (and warnings) is ~0.4 ms of every command.
    module = __import__(f"sangja.cli.commands.{module_name}", fromlist=["SPEC"])
    spec = module.SPEC
    try:
        opts, positional = flagmod.parse(spec.flags, args, spec.interspersed)
        if getattr(opts, "help", False):
            raise flagmod.HelpRequested()
    except flagmod.HelpRequested:
        help_text = flagmod.HelpText(f"{PROG} {path} {spec.use}".rstrip(), spec.short,
                                     spec.aliases.replace("docker", PROG), spec.flags)
        streams.stdout.write(help_text.render().encode())
        return 0
    except flagmod.FlagError as exc:
        raise flag_error(spec, path, str(exc)) from None
    check_args(spec, path, positional)
    cli = Cli(Streams(streams.stdin, streams.stdout, streams.stderr), resolve_host(g, environ),
              environ.get("SANGJA_API_VERSION") or environ.get("DOCKER_API_VERSION") or None, path,
              debug=g.debug or g.log_level == "debug")
    try:
        status: int = module.run(cli, opts, positional)
        cli.flush()
        return status
    finally:
        cli.close()


class _SystemStreams:
    """sys's binary streams, without importing the command machinery (fast --help)."""

    def __init__(self) -> None:
        self.stdin = sys.stdin.buffer
        self.stdout = sys.stdout.buffer
        self.stderr = sys.stderr.buffer


def execute(argv: list[str], streams: Any = None, environ: dict[str, str] | Any = os.environ) -> int:
    """Run one invocation through the error ladder; return the exit status (never raises
    CLIError, KeyboardInterrupt or BrokenPipeError)."""
    streams = streams or _SystemStreams()
    try:
        status = run(argv, streams, environ)
        streams.stdout.flush()
        return status
    except CLIError as exc:
        _flush_quietly(streams)
        if exc.message:
            streams.stderr.write((exc.message + "\n").encode("utf-8", "surrogateescape"))
            streams.stderr.flush()
        return exc.exit_code or 1
    except KeyboardInterrupt:
        _flush_quietly(streams)
        return 130
    except BrokenPipeError:
        # stdout went away (`sangja ps | head -1`): stop quietly like a Go program on SIGPIPE.
        _silence_stdout(streams)
        return 141
    except OSError as exc:
        _flush_quietly(streams)
        streams.stderr.write(f"error during connect: {exc}\n".encode())
        return 1
    except Exception as exc:
        # Never a traceback for users; SANGJA_DEBUG=1 shows it.
        if environ.get("SANGJA_DEBUG"):
            raise
        _flush_quietly(streams)
        streams.stderr.write(f"{PROG}: internal error: {type(exc).__name__}: {exc} "
                             "(set SANGJA_DEBUG=1 for details)\n".encode())
        return 1


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: never a traceback, always an exit status."""
    status = execute(sys.argv[1:] if argv is None else argv)
    # Leave as a Go binary does: once the output is flushed, Python's finalization (module
    # teardown, a last collection) only adds ~5 ms to every command. execute() has closed
    # its connections, and the CLI's only threads are daemon threads.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status & 0xFF)


def _flush_quietly(streams: Any) -> None:
    try:
        streams.stdout.flush()
    except BrokenPipeError:
        _silence_stdout(streams)


def _silence_stdout(streams: Any) -> None:
    try:
        fd = streams.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


if __name__ == "__main__":
    main()
