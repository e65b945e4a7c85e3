"""`sangja login`: check credentials with the daemon (POST /auth) and keep them in
~/.docker/config.json (or the configured credential helper), like `docker login`."""

from __future__ import annotations

import getpass

from sangja.cli import dockerconfig
from sangja.cli.command import Cli, Spec, max_args
from sangja.cli.errors import CLIError
from sangja.cli.flags import Bool, Options, Str

SPEC = Spec(
    use="[OPTIONS] [SERVER]",
    short="Authenticate to a registry",
    flags=[
        Str("password", "p", "Password or Personal Access Token (PAT)"),
        Bool("password-stdin", "", "Take the Password or Personal Access Token (PAT) from stdin"),
        Str("username", "u", "Username"),
    ],
    args=max_args(1),
    aliases="docker login",
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    server = dockerconfig.server_key(args[0] if args else "")
    username, password = opts.username or "", opts.password or ""
    if password:
        cli.err("WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
    if opts.password_stdin:
        if password:
            raise CLIError("--password and --password-stdin are mutually exclusive")
        if not username:
            raise CLIError("Must provide --username with --password-stdin")
        password = cli.streams.stdin.read().decode().rstrip("\r\n")
    if not username:
        if not cli.in_is_terminal:
            raise CLIError("Error: Cannot perform an interactive login from a non TTY device")
        username = input("Username: ").strip()
        if not username:
            raise CLIError("Error: Non-null Username Required")
    if not password:
        if not cli.in_is_terminal:
            raise CLIError("Error: Cannot perform an interactive login from a non TTY device")
        password = getpass.getpass("Password: ")
        if not password:
            raise CLIError("Error: Password Required")
    answer = cli.client.post("/auth", body={"username": username, "password": password, "serveraddress": server})
    try:
        path = dockerconfig.store(server, username, password)
    except (OSError, ValueError) as exc:
        raise CLIError(f"Error saving credentials: {exc}") from None
    if not dockerconfig.load().get("credsStore"):
        cli.err(f"WARNING! Your password will be stored unencrypted in {path}.\n"
                "Configure a credential helper to remove this warning. See\n"
                "https://docs.docker.com/engine/reference/commandline/login/#credential-stores\n")
    cli.out(str((answer or {}).get("Status") or "Login Succeeded"))
    return 0
