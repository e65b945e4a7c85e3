"""The bearer-token flow against the real distribution registry in `auth: token` mode.

The registry (Debian's docker-registry) verifies the JWTs the test's token server signs
(tests/support/tokenserver.py) and enforces their `access` claims, so these tests show that
sangja's client asks for the right scopes, sends the tokens the registry accepts, caches them
per scope (counted at the token server) and fetches a fresh one when a token expires or the
registry refuses it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from sangja.daemon.registry_session import pull_error
from sangja.distribution.auth import Authorizer, Credentials
from sangja.distribution.client import RegistryError, Repository
from sangja.distribution.endpoint import endpoint_for
from sangja.distribution.manifest import DOCKER_CONFIG, DOCKER_LAYER, DOCKER_MANIFEST
from sangja.errors import NotFound, Unauthorized
from sangja.image.reference import parse_normalized_named
from tests.support.ports import free_local_port
from tests.support.prereq import require, require_programs
from tests.support.registry import RegistryServer, available
from tests.support.tokenserver import TokenServer

LAYER = bytes(range(256)) * 2048                      # 512 KiB, stored as it is (the registry does not care)
CONFIG = json.dumps({"architecture": "amd64", "os": "linux",
                     "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]}}).encode()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _manifest() -> bytes:
    return json.dumps({
        "schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": DOCKER_CONFIG, "size": len(CONFIG), "digest": _digest(CONFIG)},
        "layers": [{"mediaType": DOCKER_LAYER, "size": len(LAYER), "digest": _digest(LAYER)}],
    }).encode()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TokenServer, RegistryServer]]:
    require(available(), "docker-registry is not installed (scripts/setup.sh)")
    require_programs("openssl")
    base = tmp_path_factory.mktemp("token-registry")
    with TokenServer.start(base / "token", free_local_port(), users={"alice": "s3cret"}) as ts, \
            RegistryServer.start(base / "registry", free_local_port(), token=ts.registry_config()) as reg:
        yield ts, reg


@pytest.fixture
def servers(token_registry: tuple[TokenServer, RegistryServer]) -> Iterator[tuple[TokenServer, RegistryServer]]:
    ts, _ = token_registry
    ts.reset()
    yield token_registry
    ts.stale_tokens = 0


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(auto_decompress=False) as s:
        yield s


def _repo(session: aiohttp.ClientSession, reg: RegistryServer, path: str, creds: Credentials, *,
          push: bool = False, clock: Clock | None = None) -> Repository:
    endpoint = endpoint_for(reg.host)
    auth = Authorizer(session, creds, endpoint.ssl, clock=clock) if clock else Authorizer(session, creds, endpoint.ssl)
    return Repository(session, endpoint, path, auth, push=push, attempts=2, backoff=0.01)


async def _push(repo: Repository, tmp_path: Path, tag: str) -> str:
    for name, data in (("layer", LAYER), ("config", CONFIG)):
        src = tmp_path / name
        src.write_bytes(data)
        if not await repo.blob_exists(_digest(data)):
            await repo.upload_blob(_digest(data), len(data), src)
    return await repo.put_manifest(tag, _manifest(), DOCKER_MANIFEST)


async def _pull(repo: Repository, tmp_path: Path, tag: str) -> str:
    raw, _, digest = await repo.get_manifest(tag)
    manifest = json.loads(raw)
    assert await repo.get_blob_bytes(manifest["config"]["digest"]) == CONFIG
    dest = tmp_path / f"pulled-{digest[7:19]}"
    dest.unlink(missing_ok=True)
    await repo.download_blob(manifest["layers"][0]["digest"], manifest["layers"][0]["size"], dest)
    assert dest.read_bytes() == LAYER
    return digest


async def test_push_and_pull_with_tokens_one_token_per_scope(
        servers: tuple[TokenServer, RegistryServer], session: aiohttp.ClientSession, tmp_path: Path) -> None:
    ts, reg = servers
    alice = Credentials("alice", "s3cret")
    pushed = await _push(_repo(session, reg, "team/app", alice, push=True), tmp_path, "v1")
    # HEADs, two uploads (POST + PUT each) and the manifest PUT: one token for the one scope.
    assert ts.scopes_requested() == [("repository:team/app:pull,push",)]
    assert ts.requests[0].account == "alice"
    assert ts.requests[0].access == (("team/app", ("pull", "push")),)

    ts.reset()
    assert await _pull(_repo(session, reg, "team/app", alice), tmp_path, "v1") == pushed
    assert ts.scopes_requested() == [("repository:team/app:pull",)]


async def test_anonymous_pull_is_denied_by_the_registry(
        servers: tuple[TokenServer, RegistryServer], session: aiohttp.ClientSession, tmp_path: Path) -> None:
    ts, reg = servers
    await _push(_repo(session, reg, "team/private", Credentials("alice", "s3cret"), push=True), tmp_path, "v1")
    ts.reset()
    anonymous = _repo(session, reg, "team/private", Credentials())
    with pytest.raises(RegistryError) as info:
        await anonymous.get_manifest("v1")
    assert info.value.http_status == 401
    # The token server was asked (anonymously) and granted nothing: the registry enforced it.
    assert [(r.account, r.access) for r in ts.requests] == [("", ())]
    ref = parse_normalized_named(f"{reg.host}/team/private:v1")
    err = pull_error(info.value, ref)
    assert isinstance(err, NotFound)
    assert err.message.startswith(f"pull access denied for {reg.host}/team/private, repository does not exist "
                                  "or may require 'docker login'")
    # An anonymous pull of what the policy makes public works with the anonymous token.
    await _push(_repo(session, reg, "public/app", Credentials("alice", "s3cret"), push=True), tmp_path, "v1")
    await _pull(_repo(session, reg, "public/app", Credentials()), tmp_path, "v1")


async def test_wrong_password_is_refused_at_the_token_server(
        servers: tuple[TokenServer, RegistryServer], session: aiohttp.ClientSession) -> None:
    _, reg = servers
    repo = _repo(session, reg, "team/app", Credentials("alice", "wrong"))
    with pytest.raises(Unauthorized, match="incorrect username or password"):
        await repo.get_manifest("v1")
    # docker login's check (GET /v2/ with no scope) takes the same path.
    with pytest.raises(Unauthorized, match="incorrect username or password"):
        await repo.ping()
    await _repo(session, reg, "", Credentials("alice", "s3cret")).ping()


async def test_an_expired_token_is_refreshed(
        servers: tuple[TokenServer, RegistryServer], session: aiohttp.ClientSession, tmp_path: Path) -> None:
    ts, reg = servers
    clock = Clock()
    alice = Credentials("alice", "s3cret")
    await _push(_repo(session, reg, "team/refresh", alice, push=True), tmp_path, "v1")
    ts.reset()
    repo = _repo(session, reg, "team/refresh", alice, clock=clock)
    await _pull(repo, tmp_path, "v1")
    assert len(ts.requests) == 1
    clock.now += 60           # still within the announced lifetime (300 s): the cached token is used
    await _pull(repo, tmp_path, "v1")
    assert len(ts.requests) == 1
    clock.now += 300          # past it: a new token before the next request, not a 401 round trip
    await _pull(repo, tmp_path, "v1")
    assert len(ts.requests) == 2
    assert ts.scopes_requested() == [("repository:team/refresh:pull",)] * 2


async def test_a_token_the_registry_refuses_is_replaced_once(
        servers: tuple[TokenServer, RegistryServer], session: aiohttp.ClientSession, tmp_path: Path) -> None:
    ts, reg = servers
    alice = Credentials("alice", "s3cret")
    await _push(_repo(session, reg, "team/stale", alice, push=True), tmp_path, "v1")
    repo = _repo(session, reg, "team/stale", alice)
    await _pull(repo, tmp_path, "v1")
    ts.reset()
    # The next token is already expired: the registry refuses it. The client drops it, fetches
    # a fresh one for the same scope and the pull goes on.
    ts.stale_tokens = 1
    fresh = _repo(session, reg, "team/stale", alice)
    await _pull(fresh, tmp_path, "v1")
    assert ts.scopes_requested() == [("repository:team/stale:pull",)] * 2
