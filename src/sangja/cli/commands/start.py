"""`sangja start`: start stopped containers; with -a/-i, stay attached like `run`."""

from __future__ import annotations

from sangja.cli.attach import AttachedSession, SignalProxy
from sangja.cli.command import Cli, Spec, min_args, quote_path
from sangja.cli.errors import CLIError
from sangja.cli.flags import Bool, Options, Str

SPEC = Spec(
    use="[OPTIONS] CONTAINER [CONTAINER...]",
    short="Start one or more stopped containers",
    flags=[
        Bool("attach", "a", "Attach STDOUT/STDERR and forward signals"),
        Str("checkpoint", "", "Restore from this checkpoint", hidden=True),
        Str("checkpoint-dir", "", "Use a custom checkpoint storage directory", hidden=True),
        Str("detach-keys", "", "Override the key sequence for detaching a container"),
        Bool("interactive", "i", "Attach container's STDIN"),
    ],
    args=min_args(1),
    aliases="docker container start, docker start",
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    if opts.attach or opts.interactive:
        if len(args) > 1:
            raise CLIError("you cannot start and attach multiple containers at once")
        return start_attached(cli, opts, args[0])
    failed = []
    for name in args:
        try:
            cli.client.post(f"/containers/{quote_path(name)}/start")
        except CLIError as exc:
            cli.err(str(exc))
            failed.append(name)
            continue
        cli.out(name)
    if failed:
        raise CLIError(f"Error: failed to start containers: {', '.join(failed)}")
    return 0


def start_attached(cli: Cli, opts: Options, name: str) -> int:
    info = cli.client.get(f"/containers/{quote_path(name)}/json") or {}
    config = info.get("Config") or {}
    cid = str(info.get("Id") or name)
    tty = bool(config.get("Tty"))
    auto_remove = bool((info.get("HostConfig") or {}).get("AutoRemove"))
    proxy = None
    if not tty:
        proxy = SignalProxy(cli, cid)
        proxy.install()
    session = AttachedSession(cli, cid, tty=tty, stdin=bool(opts.interactive and config.get("OpenStdin")),
                              detach_keys=opts.detach_keys)
    try:
        session.attach()
        session.request_wait("removed" if auto_remove else "next-exit")
        try:
            cli.client.post(f"/containers/{quote_path(cid)}/start")
        except CLIError:
            session.close()
            raise
        status = session.finish()
        if status != 0:
            raise CLIError("", status)
        return 0
    finally:
        if proxy is not None:
            proxy.restore()
