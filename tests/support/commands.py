"""Run the docker CLI and the sangja CLI against a test daemon, with a timeout.

    docker = Cli.docker("unix:///tmp/sj-x/sock", config_dir)
    rc, out, err = docker("ps", "-a", "--format", "{{.Names}}")

Each call returns a `Result` (rc, out, err), a NamedTuple so it unpacks like a tuple.
A command that outlives its timeout is killed (SIGKILL: an attached `docker run` turns
SIGTERM into a /kill request instead of exiting) and reported as a test failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

DEFAULT_TIMEOUT = 60.0


class Result(NamedTuple):
    rc: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"rc={self.rc}\n--- stdout ---\n{self.out}--- stderr ---\n{self.err}"


class CommandTimeout(AssertionError):
    """A command under test did not finish within its timeout (it was killed)."""


def run(
    argv: Sequence[str],
    env: Mapping[str, str],
    timeout: float = DEFAULT_TIMEOUT,
    input: bytes | None = None,
) -> Result:
    """Run argv to completion; stdin is /dev/null unless `input` is given."""
    try:
        proc = subprocess.run(
            list(argv),
            env=dict(env),
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode(errors="replace")
        err = (exc.stderr or b"").decode(errors="replace")
        raise CommandTimeout(f"{' '.join(argv)} ran over {timeout}s\nstdout: {out}\nstderr: {err}") from None
    return Result(proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace"))


def docker_binary() -> str | None:
    """The docker CLI to test with: $SANGJA_E2E_DOCKER_CLI, else `docker` on PATH."""
    explicit = os.environ.get("SANGJA_E2E_DOCKER_CLI")
    if explicit:
        return explicit
    return shutil.which("docker") or (
        "/usr/local/bin/docker" if os.access("/usr/local/bin/docker", os.X_OK) else None
    )


def venv_script(name: str) -> str:
    """An entry point installed beside the running interpreter (the project's venv), else PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed (pip install -e . in the venv)")
    return found


class Cli:
    """One client program bound to one daemon: `cli(*args)` runs it and returns a Result.

    `name` is "docker" or "sangja"; tests use it for the program-name prefix some errors
    carry ("docker: Error response from daemon: ...").
    """

    def __init__(self, name: str, prefix: Sequence[str], env: Mapping[str, str]) -> None:
        self.name = name
        self.prefix = list(prefix)
        self.env = dict(env)

    def __call__(self, *args: str, timeout: float = DEFAULT_TIMEOUT, input: bytes | None = None) -> Result:
        return run([*self.prefix, *args], self.env, timeout=timeout, input=input)

    def ok(self, *args: str, timeout: float = DEFAULT_TIMEOUT, input: bytes | None = None) -> str:
        """Run and require rc 0; returns stdout."""
        result = self(*args, timeout=timeout, input=input)
        assert result.rc == 0, f"{self.name} {' '.join(args)} failed\n{result}"
        return result.out

    def popen(self, *args: str) -> subprocess.Popen[bytes]:
        """Start the command without waiting (for `logs -f`, `events`); the caller must reap it."""
        return subprocess.Popen(
            [*self.prefix, *args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def __repr__(self) -> str:
        return f"Cli({self.name})"

    @classmethod
    def docker(cls, host: str, config_dir: str) -> Cli:
        """The real docker CLI with only DOCKER_HOST and DOCKER_CONFIG in its environment,
        so a dockerd on /var/run/docker.sock or the user's config can never be reached."""
        binary = docker_binary()
        if binary is None:
            raise FileNotFoundError("the docker CLI is not installed")
        return cls("docker", [binary], {"DOCKER_HOST": host, "DOCKER_CONFIG": config_dir})

    @classmethod
    def sangja(cls, host: str, home_dir: str) -> Cli:
        """The sangja CLI pointed at `host` with -H; its environment carries no DOCKER_HOST."""
        env = {"HOME": home_dir, "PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8"}
        return cls("sangja", [venv_script("sangja"), "-H", host], env)
