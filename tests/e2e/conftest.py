"""Clients for the e2e tests: the docker CLI, the sangja CLI and docker-py, bound to a daemon.

    def test_x(cli, names): ...          # runs once with the docker CLI, once with sangja
    def test_y(docker_cli): ...          # the docker CLI only
    def test_z(client): ...              # docker-py's DockerClient

SANGJA_E2E_CLIS (comma list) picks the CLIs `cli` runs with; by default both against
sangjad, and only docker against a dockerd target (the sangja CLI is checked against
sangjad, whose API version it speaks).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import docker
import pytest

from tests.support.commands import Cli, docker_binary
from tests.support.daemon import Daemon, SpawnedDaemon, target_kind
from tests.support.ports import free_local_port
from tests.support.prereq import require
from tests.support.registry import RegistryServer, available

# The daemon a test talked to, for the failure report (the CLI fixtures fetch it lazily).
DAEMON_UNDER_TEST = pytest.StashKey[Daemon]()


def _clis() -> list[str]:
    default = "docker,sangja" if target_kind() == "sangjad" else "docker"
    return [c.strip() for c in os.environ.get("SANGJA_E2E_CLIS", default).split(",") if c.strip()]


@pytest.fixture(scope="session")
def cli_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty DOCKER_CONFIG/HOME so no user config (contexts, auths, plugins) leaks in."""
    return tmp_path_factory.mktemp("cli-home")


def make_cli(kind: str, d: Daemon, home: Path) -> Cli:
    if kind == "docker":
        require(docker_binary() is not None, "the docker CLI is not installed")
        return Cli.docker(d.host, str(home))
    if kind == "sangja":
        return Cli.sangja(d.host, str(home))
    raise ValueError(kind)


@pytest.fixture(params=["docker", "sangja"])
def cli(request: pytest.FixtureRequest, cli_home: Path) -> Cli:
    """Each CLI in turn, against the shared daemon (`daemon`)."""
    kind = str(request.param)
    if kind not in _clis():
        pytest.skip(f"{kind} CLI not selected for target {target_kind()} (SANGJA_E2E_CLIS)")
    shared: Daemon = request.getfixturevalue("daemon")  # only once not skipped
    request.node.stash[DAEMON_UNDER_TEST] = shared
    return make_cli(kind, shared, cli_home)


@pytest.fixture
def docker_cli(request: pytest.FixtureRequest, daemon: Daemon, cli_home: Path) -> Cli:
    request.node.stash[DAEMON_UNDER_TEST] = daemon
    return make_cli("docker", daemon, cli_home)


@pytest.fixture
def client(request: pytest.FixtureRequest, daemon: Daemon) -> Iterator[docker.DockerClient]:
    """docker-py, negotiating the API version like a user's `docker.from_env()` would."""
    request.node.stash[DAEMON_UNDER_TEST] = daemon
    c = docker.DockerClient(base_url=daemon.host, version="auto", timeout=60)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def names() -> Callable[[str], str]:
    """names("web") -> "web-1a2b3c4d": unique per call, so tests never collide on a name."""

    def make(stem: str) -> str:
        return f"{stem}-{uuid.uuid4().hex[:8]}"

    return make


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    return free_local_port()


@pytest.fixture(params=["docker", "sangja"])
def fresh_cli(request: pytest.FixtureRequest, cli_home: Path) -> Cli:
    """Each CLI in turn, against a daemon of the test's own (`fresh_daemon`)."""
    kind = str(request.param)
    if kind not in _clis():
        pytest.skip(f"{kind} CLI not selected for target {target_kind()} (SANGJA_E2E_CLIS)")
    fresh: SpawnedDaemon = request.getfixturevalue("fresh_daemon")  # only once not skipped
    request.node.stash[DAEMON_UNDER_TEST] = fresh
    return make_cli(kind, fresh, cli_home)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On a failure, attach the tail of the daemon's log to the report."""
    report = yield
    if report.failed:
        d = item.stash.get(DAEMON_UNDER_TEST, None)
        funcargs = getattr(item, "funcargs", {})
        for candidate in (d, funcargs.get("fresh_daemon"), funcargs.get("daemon")):
            if isinstance(candidate, Daemon) and candidate.log_tail():
                report.sections.append((f"{candidate.kind} log", candidate.log_tail(60)))
                break
    return report


@pytest.fixture
def cleanup(cli: Cli) -> Iterator[list[tuple[str, str]]]:
    """Things a networking test made, removed at the end in reverse order: ("container"|"network", name)."""
    items: list[tuple[str, str]] = []
    yield items
    for kind, name in reversed(items):
        if kind == "container":
            cli("rm", "-f", name)
        else:
            cli("network", "rm", name)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[RegistryServer]:
    """Debian's docker-registry on a free 127.0.0.1 port, plain HTTP, no auth; stopped afterwards."""
    require(available(), "docker-registry is not installed (scripts/setup.sh)")
    with RegistryServer.start(tmp_path / "registry", free_local_port()) as reg:
        yield reg
