"""`sangja run`: create, attach, wait, start — and exit with the container's status.

Exit codes follow docker: the container's own status; 125 when the daemon refused to
create or start it; 127 when the command was not found, 126 when it could not be run.
"""

from __future__ import annotations

from sangja.cli import runconfig
from sangja.cli.attach import AttachedSession, SignalProxy
from sangja.cli.command import Cli, Spec, min_args, quote_path
from sangja.cli.commands.create import build_body, create_container
from sangja.cli.errors import CLIError, as_run_error
from sangja.cli.flags import Bool, Options, Str

SPEC = Spec(
    use="[OPTIONS] IMAGE [COMMAND] [ARG...]",
    short="Create and run a new container from an image",
    flags=[
        Bool("detach", "d", "Run container in background and print container ID"),
        Str("detach-keys", "", "Override the key sequence for detaching a container"),
        Bool("sig-proxy", "", "Proxy received signals to the process", True),
        *runconfig.FLAGS,
    ],
    args=min_args(1),
    aliases="docker container run, docker run",
    interspersed=False,
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    body = build_body(cli, opts, args, "run")
    tty = bool(body["Tty"])
    if not opts.detach:
        if tty and body["AttachStdin"] and not cli.in_is_terminal:
            raise CLIError("the input device is not a TTY")
    else:
        if opts.attach:
            raise CLIError("conflicting options: cannot specify both --attach and --detach")
        body.update(AttachStdin=False, AttachStdout=False, AttachStderr=False, StdinOnce=False)
    try:
        cid = create_container(cli, opts, body)
    except CLIError as exc:
        raise as_run_error(exc) from None

    attach = body["AttachStdin"] or body["AttachStdout"] or body["AttachStderr"]
    proxy = None
    if attach and opts.sig_proxy:  # docker proxies with -t too (the terminal is raw: no ^C signals)
        proxy = SignalProxy(cli, cid)
        proxy.install()
    session = None
    try:
        if attach:
            session = AttachedSession(cli, cid, tty=tty, stdin=body["AttachStdin"], stdout=body["AttachStdout"],
                                      stderr=body["AttachStderr"], detach_keys=opts.detach_keys)
            session.attach()
            session.request_wait("removed" if opts.rm else "next-exit")
        if session is None:
            # docker prints the ID as soon as the container exists, even if it then fails to start.
            cli.out(cid)
            cli.flush()
        try:
            cli.client.post(f"/containers/{quote_path(cid)}/start")
        except CLIError as exc:
            if session is not None:
                if opts.rm:
                    session.await_removal()
                session.close()
            raise as_run_error(exc) from None
        if session is None:
            return 0
        status = session.finish()
        if status != 0:
            raise CLIError("", status)
        return 0
    finally:
        if proxy is not None:
            proxy.restore()
