"""`sangja exec`: run a command in a running container, like `docker exec`.

The docker CLI's sequence: inspect the container, `POST /containers/{id}/exec`, then either
`POST /exec/{id}/start {"Detach": true}` (-d) or the hijacked start (raw mode and resizes
with -t), and finally `GET /exec/{id}/json`, whose ExitCode becomes our exit status.
"""

from __future__ import annotations

import os

from sangja.cli.command import Cli, Spec, min_args, quote_path
from sangja.cli.errors import CLIError
from sangja.cli.flags import Bool, List, Options, Str
from sangja.cli.hijack import HijackedIO
from sangja.cli.terminal import DEFAULT_DETACH_KEYS, RawMode, get_size, parse_detach_keys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal as _signal  # typeshed has no _signal: the same functions and constants, typed
    from typing import Any
else:
    import _signal  # not signal.py, whose enums cost ~2 ms of start-up (see cli/attach.py)

SPEC = Spec(
    use="[OPTIONS] CONTAINER COMMAND [ARG...]",
    short="Execute a command in a running container",
    flags=[
        Bool("detach", "d", "Detached mode: run command in the background"),
        Str("detach-keys", "", "Override the key sequence for detaching a container"),
        List("env", "e", "Set environment variables"),
        List("env-file", "", "Read in a file of environment variables"),
        Bool("interactive", "i", "Keep STDIN open even if not attached"),
        Bool("privileged", "", "Give extended privileges to the command"),
        Bool("tty", "t", "Allocate a pseudo-TTY"),
        Str("user", "u", "Username or UID (format: \"<name|uid>[:<group|gid>]\")"),
        Str("workdir", "w", "Working directory inside the container"),
    ],
    args=min_args(2),
    aliases="docker container exec, docker exec",
    interspersed=False,
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    container, cmd = args[0], args[1:]
    env: list[str] = []
    if opts.env or opts.env_file:
        from sangja.cli.runopts import read_kv_file, validate_env  # 9 ms of imports: only when needed
    try:
        for path in opts.env_file:
            env.extend(read_kv_file(path, os.environ.get))
        env.extend(validate_env(e, os.environ.get) for e in opts.env)
    except (OSError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    attach = not opts.detach
    body: dict[str, Any] = {
        "User": opts.user, "Privileged": opts.privileged, "Tty": opts.tty,
        "AttachStdin": opts.interactive and attach, "AttachStdout": attach, "AttachStderr": attach,
        "DetachKeys": opts.detach_keys, "Env": env or None, "WorkingDir": opts.workdir, "Cmd": cmd,
    }
    size = get_size(cli.streams.stdout.fileno()) if opts.tty and cli.out_is_terminal else None
    if size is not None:
        body["ConsoleSize"] = list(size)
    cli.client.get(f"/containers/{quote_path(container)}/json")  # docker's "No such container" first
    if opts.interactive and opts.tty and attach and not cli.in_is_terminal:
        raise CLIError("the input device is not a TTY")
    exec_id = str(cli.client.post(f"/containers/{quote_path(container)}/exec", body=body)["Id"])
    start: dict[str, Any] = {"Detach": opts.detach, "Tty": opts.tty}
    if size is not None:
        start["ConsoleSize"] = list(size)
    if opts.detach:
        cli.client.post(f"/exec/{exec_id}/start", body=start)
        return 0
    _interactive(cli, exec_id, opts, start)
    info = cli.client.get(f"/exec/{exec_id}/json") or {}
    status = int(info.get("ExitCode") or 0)
    if status != 0:
        raise CLIError("", status)
    return 0


def _interactive(cli: Cli, exec_id: str, opts: Options, start: dict[str, Any]) -> None:
    keys = DEFAULT_DETACH_KEYS
    if opts.detach_keys:
        try:
            keys = parse_detach_keys(opts.detach_keys)
        except ValueError:
            keys = DEFAULT_DETACH_KEYS
    sock, leftover, _ = cli.client.hijack(f"/exec/{exec_id}/start", body=start)
    streams = cli.streams
    cli.flush()
    io = HijackedIO(sock, leftover, opts.tty, streams.stdout, streams.stdout if opts.tty else streams.stderr,
                    streams.stdin if opts.interactive else None, keys)
    raw: RawMode | None = None
    saved_winch: Any = None
    try:
        if opts.tty and opts.interactive and cli.in_is_terminal:
            raw = RawMode(streams.stdin.fileno()).__enter__()
        if opts.tty and cli.out_is_terminal:
            fd = streams.stdout.fileno()

            def resize() -> None:
                size = get_size(fd)
                if size is not None:
                    try:
                        cli.client.post(f"/exec/{exec_id}/resize", {"h": size[0], "w": size[1]})
                    except CLIError:
                        pass  # docker only logs a failed resize

            resize()
            saved_winch = _signal.signal(_signal.SIGWINCH, lambda s, f: resize())
        io.stream()
    finally:
        if saved_winch is not None:
            _signal.signal(_signal.SIGWINCH, saved_winch)
        if raw is not None:
            raw.restore()
    if io.detached:
        raise CLIError("", 0)
