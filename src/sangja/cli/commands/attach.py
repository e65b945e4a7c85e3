"""`sangja attach`: attach the terminal to a running container's stdio, like `docker attach`.

The docker CLI's sequence: inspect (refuse stopped or paused containers), attach (the
hijack), resize with a TTY, stream until the container exits or the detach keys are typed
("read escape sequence", status 1), then the container's exit code from `wait`.
"""

from __future__ import annotations

from sangja.cli.attach import AttachedSession, SignalProxy
from sangja.cli.command import Cli, Spec, exact_args, quote_path
from sangja.cli.errors import CLIError
from sangja.cli.flags import Bool, Options, Str
from sangja.cli.terminal import get_size

SPEC = Spec(
    use="[OPTIONS] CONTAINER",
    short="Attach local standard input, output, and error streams to a running container",
    flags=[
        Str("detach-keys", "", "Override the key sequence for detaching a container"),
        Bool("no-stdin", "", "Do not attach STDIN"),
        Bool("sig-proxy", "", "Proxy all received signals to the process", True),
    ],
    args=exact_args(1),
    aliases="docker container attach, docker attach",
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    info = cli.client.get(f"/containers/{quote_path(args[0])}/json") or {}
    state = info.get("State") or {}
    config = info.get("Config") or {}
    cid = str(info.get("Id") or args[0])
    if not state.get("Running"):
        raise CLIError("You cannot attach to a stopped container, start it first")
    if state.get("Paused"):
        raise CLIError("You cannot attach to a paused container, unpause it first")
    if state.get("Restarting"):
        raise CLIError("You cannot attach to a restarting container, wait until it is running")
    tty = bool(config.get("Tty"))
    stdin = bool(config.get("OpenStdin")) and not opts.no_stdin
    if tty and stdin and not cli.in_is_terminal:
        raise CLIError("the input device is not a TTY")
    proxy = None
    if opts.sig_proxy and not tty:
        proxy = SignalProxy(cli, cid)
        proxy.install()
    session = AttachedSession(cli, cid, tty=tty, stdin=stdin, detach_keys=opts.detach_keys)
    try:
        session.request_wait("next-exit")
        session.attach()
        if tty and cli.out_is_terminal:
            _nudge_size(cli, cid)
        status = session.finish()
        if session.io is not None and session.io.detached:
            raise CLIError("read escape sequence", 1)
        if status != 0:
            raise CLIError("", status)
        return 0
    finally:
        if proxy is not None:
            proxy.restore()


def _nudge_size(cli: Cli, cid: str) -> None:
    """Like docker: resize to h+1,w+1 first (finish() then sets h,w), so that a program
    already running gets a SIGWINCH with a real change and redraws its screen."""
    size = get_size(cli.streams.stdout.fileno())
    if size is not None:
        try:
            cli.client.post(f"/containers/{quote_path(cid)}/resize", {"h": size[0] + 1, "w": size[1] + 1})
        except CLIError:
            pass
