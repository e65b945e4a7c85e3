"""docker login/push/pull against the real registry in `auth: token` mode (a JWT token server
run by the test, tests/support/tokenserver.py), with the docker CLI and sangja, and docker-py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest

from tests.e2e.conftest import make_cli
from tests.support.daemon import Daemon
from tests.support.ports import free_local_port
from tests.support.prereq import require, require_programs
from tests.support.registry import RegistryServer, available
from tests.support.tokenserver import TokenServer


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TokenServer, RegistryServer]]:
    require(available(), "docker-registry is not installed (scripts/setup.sh)")
    require_programs("openssl")
    base = tmp_path_factory.mktemp("e2e-token-registry")
    with TokenServer.start(base / "token", free_local_port(), users={"alice": "s3cret"}) as ts, \
            RegistryServer.start(base / "registry", free_local_port(), token=ts.registry_config()) as reg:
        yield ts, reg


@pytest.fixture(params=["docker", "sangja"])
def cli_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_token_auth_denied_then_login_push_pull(cli_kind: str, daemon: Daemon,
                                                token_registry: tuple[TokenServer, RegistryServer],
                                                tmp_path: Path, names: Callable[[str], str]) -> None:
    ts, reg = token_registry
    c = make_cli(cli_kind, daemon, tmp_path / "home")
    name = names("tok")
    repo = f"{reg.host}/team/{name}"

    anonymous = c("pull", repo, timeout=60)
    assert anonymous.rc == 1
    assert (f"pull access denied for {repo}, repository does not exist or may require 'docker login'"
            in anonymous.err), anonymous
    c.ok("tag", "busybox", repo)
    denied = c("push", repo, timeout=60)
    assert denied.rc == 1 and "denied: requested access to the resource is denied" in denied.err, denied

    bad = c("login", "-u", "alice", "--password-stdin", reg.host, input=b"wrong\n")
    assert bad.rc == 1 and "unauthorized" in bad.err, bad
    good = c("login", "-u", "alice", "--password-stdin", reg.host, input=b"s3cret\n")
    assert good.rc == 0 and "Login Succeeded" in good.out, good

    ts.reset()
    pushed = c.ok("push", repo, timeout=120)
    # The layer may be mounted from the repository the other CLI's run pushed (same token flow).
    assert "Pushed" in pushed or "Mounted from team/" in pushed, pushed
    digest = pushed.strip().splitlines()[-1].split("digest: ")[1].split()[0]
    push_scopes = ts.scopes_requested()
    # Each token asks for pull and push on the repository (plus pull on a mount's source).
    assert push_scopes and all(
        any(sc.rpartition(":")[0] == f"repository:team/{name}" and set(sc.rpartition(":")[2].split(","))
            == {"pull", "push"} for sc in scopes) for scopes in push_scopes), push_scopes
    assert all(r.account == "alice" for r in ts.requests)

    c.ok("rmi", repo)
    ts.reset()
    pulled = c.ok("pull", repo, timeout=120)
    assert f"Digest: {digest}" in pulled and "Downloaded newer image" in pulled
    # Manifest, config and layer: one token, cached for the pull's scope.
    assert ts.scopes_requested() == [(f"repository:team/{name}:pull",)]
    assert c.ok("run", "--rm", repo, "echo", "token-ok").strip() == "token-ok"
    c.ok("logout", reg.host)
    c.ok("rmi", repo)


def test_dockerpy_pull_and_push_with_auth_config(client: docker.DockerClient, daemon: Daemon,
                                                 token_registry: tuple[TokenServer, RegistryServer],
                                                 names: Callable[[str], str]) -> None:
    _, reg = token_registry
    repo = f"{reg.host}/team/{names('py')}"
    creds = {"username": "alice", "password": "s3cret"}
    image = client.images.get("busybox")
    image.tag(repo, "t1")
    try:
        lines = list(client.images.push(repo, tag="t1", stream=True, decode=True, auth_config=creds))
        assert any("aux" in line for line in lines), lines
        client.images.remove(f"{repo}:t1")
        with pytest.raises(docker.errors.NotFound, match="pull access denied"):
            client.images.pull(repo, tag="t1")
        assert client.images.pull(repo, tag="t1", auth_config=creds).id == image.id
    finally:
        try:
            client.images.remove(f"{repo}:t1")
        except docker.errors.NotFound:
            pass
