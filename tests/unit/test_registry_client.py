"""The registry client against a fake registry (aiohttp, in process): the bearer-token flow
with per-scope caching, retries on 5xx, Range resume after a dropped connection, digest
verification, manifest parsing and platform selection, and X-Registry-Auth decoding."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from sangja.distribution.auth import Authorizer, Credentials, decode_registry_auth, parse_challenges
from sangja.distribution.client import DigestMismatch, RegistryError, Repository
from sangja.distribution.endpoint import endpoint_for, is_loopback
from sangja.distribution.manifest import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    SCHEMA1,
    Index,
    Manifest,
    parse,
    select,
)
from sangja.errors import InvalidParameter, NotFound, Unauthorized

BLOB = bytes(range(256)) * 4096          # 1 MiB
BLOB_DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()
TOKEN = "good-token"


class FakeRegistry:
    """Serves one blob and one manifest under repository "ns/app", behind a bearer token."""

    def __init__(self) -> None:
        self.token_requests: list[dict[str, str]] = []
        self.blob_gets: list[str] = []
        self.fail_next_manifest = 0
        self.drop_first_blob_get = False
        self.corrupt = False
        self.trickle = 0                # > 0: the blob is sent in writes of this many bytes
        self.base = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/token", self.token)
        app.router.add_get("/v2/", self.ping)
        app.router.add_get("/v2/ns/app/manifests/{ref}", self.manifest)
        app.router.add_get("/v2/ns/app/blobs/{digest}", self.blob)
        return app

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {TOKEN}"

    def _challenge(self, scope: str) -> web.Response:
        return web.json_response(
            {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}, status=401,
            headers={"WWW-Authenticate": f'Bearer realm="{self.base}/token",service="fake",scope="{scope}"'})

    async def token(self, request: web.Request) -> web.Response:
        self.token_requests.append(dict(request.query))
        auth = request.headers.get("Authorization", "")
        if auth and auth != "Basic " + base64.b64encode(b"alice:pw").decode():
            return web.Response(status=401)
        return web.json_response({"token": TOKEN, "expires_in": 300})

    async def ping(self, request: web.Request) -> web.Response:
        return web.json_response({}) if self._authorized(request) else self._challenge("")

    async def manifest(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._challenge("repository:ns/app:pull")
        if self.fail_next_manifest:
            self.fail_next_manifest -= 1
            return web.Response(status=503)
        if request.match_info["ref"] != "v1":
            return web.json_response({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]},
                                     status=404)
        body = json.dumps({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
                           "config": {"mediaType": "x", "digest": BLOB_DIGEST, "size": len(BLOB)},
                           "layers": []}).encode()
        return web.Response(body=body, content_type=DOCKER_MANIFEST)

    async def blob(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return self._challenge("repository:ns/app:pull")
        rng = request.headers.get("Range", "")
        self.blob_gets.append(rng)
        data = bytearray(BLOB)
        if self.corrupt:
            data[100] ^= 1
        if rng:
            start = int(rng.split("=")[1].rstrip("-"))
            return web.Response(status=206, body=bytes(data[start:]),
                                headers={"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"})
        if self.drop_first_blob_get:
            self.drop_first_blob_get = False
            resp = web.StreamResponse(headers={"Content-Length": str(len(data))})
            await resp.prepare(request)
            await resp.write(bytes(data[: len(data) // 3]))
            assert request.transport is not None
            request.transport.close()
            return resp
        if self.trickle:
            resp = web.StreamResponse(headers={"Content-Length": str(len(data))})
            await resp.prepare(request)
            for i in range(0, len(data), self.trickle):
                await resp.write(bytes(data[i:i + self.trickle]))
            return resp
        return web.Response(body=bytes(data))


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeRegistry, Repository]]:
    reg = FakeRegistry()
    server = TestServer(reg.app(), host="127.0.0.1")
    await server.start_server()
    reg.base = f"http://127.0.0.1:{server.port}"
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        endpoint = endpoint_for(f"127.0.0.1:{server.port}")
        repo = Repository(session, endpoint, "ns/app", Authorizer(session, Credentials("alice", "pw")),
                          backoff=0.01)
        yield reg, repo
    await server.close()


async def test_bearer_token_is_fetched_once_per_scope_and_reused(fake: tuple[FakeRegistry, Repository]) -> None:
    reg, repo = fake
    raw, _, digest = await repo.get_manifest("v1")
    assert digest == "sha256:" + hashlib.sha256(raw).hexdigest()
    await repo.get_manifest("v1")
    assert await repo.get_blob_bytes(BLOB_DIGEST, limit=2 << 20) == BLOB
    assert reg.token_requests == [{"service": "fake", "scope": "repository:ns/app:pull", "account": "alice"}]


async def test_wrong_credentials_are_unauthorized(fake: tuple[FakeRegistry, Repository]) -> None:
    _, repo = fake
    repo.auth = Authorizer(repo.session, Credentials("alice", "nope"))
    with pytest.raises(Unauthorized, match="incorrect username or password"):
        await repo.get_manifest("v1")


async def test_server_errors_are_retried(fake: tuple[FakeRegistry, Repository]) -> None:
    reg, repo = fake
    reg.fail_next_manifest = 2
    await repo.get_manifest("v1")
    reg.fail_next_manifest = 10
    with pytest.raises(RegistryError) as info:
        await repo.get_manifest("v1")
    assert info.value.http_status == 503


async def test_missing_manifest_is_manifest_unknown(fake: tuple[FakeRegistry, Repository]) -> None:
    _, repo = fake
    with pytest.raises(RegistryError) as info:
        await repo.get_manifest("nope")
    assert info.value.code == "MANIFEST_UNKNOWN" and info.value.message == "manifest unknown: manifest unknown"


async def test_download_resumes_with_range_after_a_dropped_connection(
        fake: tuple[FakeRegistry, Repository], tmp_path: Path) -> None:
    reg, repo = fake
    reg.drop_first_blob_get = True
    seen: list[int] = []

    async def progress(n: int) -> None:
        seen.append(n)

    await repo.download_blob(BLOB_DIGEST, len(BLOB), tmp_path / "blob", progress)
    assert (tmp_path / "blob").read_bytes() == BLOB
    assert reg.blob_gets[0] == "" and reg.blob_gets[-1].startswith("bytes=") and reg.blob_gets[-1] != "bytes=0-"
    assert seen[-1] == len(BLOB)


async def test_a_blob_sent_in_many_small_writes_is_written_whole_before_each_progress_report(
        fake: tuple[FakeRegistry, Repository], tmp_path: Path) -> None:
    # Small, odd-sized writes: the download gathers many pieces per file write, so a piece
    # lost, repeated or reordered there, or a report ahead of the file, shows up here.
    reg, repo = fake
    reg.trickle = 997
    dest = tmp_path / "blob"
    seen: list[tuple[int, int]] = []

    async def progress(n: int) -> None:
        seen.append((n, dest.stat().st_size))

    await repo.download_blob(BLOB_DIGEST, len(BLOB), dest, progress, fsync=False)
    assert dest.read_bytes() == BLOB
    assert all(n == on_disk for n, on_disk in seen)
    assert [n for n, _ in seen] == sorted({n for n, _ in seen}) and seen[-1][0] == len(BLOB)


async def test_a_blob_whose_digest_does_not_match_is_refused(
        fake: tuple[FakeRegistry, Repository], tmp_path: Path) -> None:
    reg, repo = fake
    reg.corrupt = True
    with pytest.raises(DigestMismatch, match="verification failed"):
        await repo.download_blob(BLOB_DIGEST, len(BLOB), tmp_path / "blob")
    with pytest.raises(DigestMismatch):
        await repo.get_blob_bytes(BLOB_DIGEST, limit=2 << 20)


def test_challenges_are_parsed() -> None:
    [bearer] = parse_challenges('Bearer realm="https://auth.example/token",service="registry.example",'
                                'scope="repository:a/b:pull,push"')
    assert bearer.scheme == "bearer"
    assert bearer.params == {"realm": "https://auth.example/token", "service": "registry.example",
                             "scope": "repository:a/b:pull,push"}
    [basic] = parse_challenges('Basic realm="Registry Realm"')
    assert basic.scheme == "basic" and basic.params == {"realm": "Registry Realm"}


def test_x_registry_auth_is_decoded() -> None:
    header = base64.urlsafe_b64encode(json.dumps(
        {"username": "u", "password": "p", "serveraddress": "h:5000"}).encode()).decode().rstrip("=")
    creds, server = decode_registry_auth(header)
    assert (creds.username, creds.password, server) == ("u", "p", "h:5000")
    assert decode_registry_auth("e30=")[0].anonymous
    assert decode_registry_auth("not base64 json!")[0].anonymous
    auth = base64.b64encode(b"x:y:z").decode()
    assert Credentials.from_auth_config({"auth": auth}) == Credentials("x", "y:z")


def test_only_loopback_and_insecure_hosts_use_plain_http() -> None:
    assert is_loopback("127.0.0.1:5000") and is_loopback("localhost") and is_loopback("[::1]:5000")
    assert endpoint_for("127.0.0.2:80").base_url == "http://127.0.0.2:80"
    assert endpoint_for("registry.example:5000").base_url == "https://registry.example:5000"
    assert endpoint_for("registry.example:5000", insecure=("registry.example:5000",)).ssl is False
    assert endpoint_for("docker.io").base_url == "https://registry-1.docker.io"


def test_manifests_indexes_and_platforms() -> None:
    index = parse(json.dumps({"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": [
        {"digest": "sha256:" + "a" * 64, "size": 1, "platform": {"os": "linux", "architecture": "arm64"}},
        {"digest": "sha256:" + "b" * 64, "size": 1, "platform": {"os": "linux", "architecture": "amd64"}},
        {"digest": "sha256:" + "c" * 64, "size": 1, "platform": {"os": "linux", "architecture": "arm",
                                                                 "variant": "v7"}},
    ]}).encode(), "")
    assert isinstance(index, Index)
    assert select(index, {"os": "linux", "architecture": "amd64"}).digest == "sha256:" + "b" * 64
    assert select(index, {"os": "linux", "architecture": "arm64", "variant": "v8"}).digest == "sha256:" + "a" * 64
    assert select(index, {"os": "linux", "architecture": "arm", "variant": "v7"}).digest == "sha256:" + "c" * 64
    with pytest.raises(NotFound, match="no matching manifest for linux/s390x"):
        select(index, {"os": "linux", "architecture": "s390x"})
    oci = parse(json.dumps({"schemaVersion": 2, "config": {"digest": "sha256:" + "d" * 64, "size": 2},
                            "layers": [{"digest": "sha256:" + "e" * 64, "size": 3}]}).encode(),
                "application/vnd.oci.image.manifest.v1+json")
    assert isinstance(oci, Manifest) and oci.layers[0].size == 3
    with pytest.raises(InvalidParameter, match="schema 1 support has been removed"):
        parse(b"{}", SCHEMA1[1])
    with pytest.raises(InvalidParameter, match="schema 1 support has been removed"):
        parse(json.dumps({"schemaVersion": 1, "name": "x"}).encode(), "application/json")
    with pytest.raises(InvalidParameter, match="not JSON"):
        parse(b"<html>", DOCKER_MANIFEST)
