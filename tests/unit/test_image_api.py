"""The /images routes over HTTP (aiohttp's test client, a store without root): status codes,
bodies against the swagger, API-version differences, streaming, and route ordering."""

from __future__ import annotations

import gzip
import json
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from sangja.api.app import build_app
from sangja.api.routes.images import image_routes
from sangja.daemon.events import EventLog
from sangja.image.store import ImageStore
from tests.support.swagger import validate
from tests.unit.test_image_support import busybox_like_layer, digest, file, new_store, tar_bytes

BASE = busybox_like_layer()


class Usage:
    def __init__(self) -> None:
        self.by_image: dict[str, list[tuple[str, bool]]] = {}

    def containers_using(self, image_id: str) -> list[tuple[str, bool]]:
        return self.by_image.get(image_id, [])


class Env:
    def __init__(self, client: TestClient[Any, Any], store: ImageStore, events: EventLog, usage: Usage) -> None:
        self.client, self.store, self.events, self.usage = client, store, events, usage

    async def json_lines(self, method: str, path: str, **kw: Any) -> tuple[int, list[dict[str, Any]]]:
        resp = await self.client.request(method, path, **kw)
        assert resp.headers["Content-Type"] == "application/json"
        text = await resp.text()
        return resp.status, [json.loads(line) for line in text.splitlines() if line.strip()]

    async def do_import(self, repo: str = "busybox", body: bytes = BASE, version: str = "v1.51") -> str:
        q = urllib.parse.urlencode([("fromSrc", "-"), ("repo", repo), ("changes", 'CMD ["sh"]')])
        status, lines = await self.json_lines("POST", f"/{version}/images/create?{q}", data=body)
        assert status == 200, lines
        image_id: str = lines[-1]["status"]
        return image_id


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    store = new_store(tmp_path / "image")
    events, usage = EventLog(), Usage()
    app = build_app([image_routes(store, events, usage)])
    async with TestClient(TestServer(app)) as client:
        yield Env(client, store, events, usage)


async def test_import_then_list_and_inspect(env: Env) -> None:
    iid = await env.do_import()
    assert iid == env.store.get("busybox").id
    resp = await env.client.get("/v1.51/images/json")
    assert resp.status == 200 and resp.headers["Content-Type"] == "application/json"
    items = await resp.json()
    validate(items, {"type": "array", "items": {"$ref": "#/definitions/ImageSummary"}})
    assert [i["RepoTags"] for i in items] == [["busybox:latest"]] and items[0]["Containers"] == 0
    for name in ("busybox", "busybox:latest", "docker.io/library/busybox:latest", iid, iid[7:19]):
        resp = await env.client.get(f"/v1.51/images/{name}/json")
        assert resp.status == 200, name
        body = await resp.json()
        validate(body, "ImageInspect")
        assert body["Id"] == iid and body["Config"]["Cmd"] == ["sh"]
    assert [e["Action"] for e in env.events.history()] == ["tag", "import"]


async def test_old_api_versions_get_their_fields(env: Env) -> None:
    await env.do_import()
    await env.do_import(repo="", body=tar_bytes([file("x", b"x")]))
    items = await (await env.client.get("/v1.41/images/json")).json()
    assert all(i["VirtualSize"] == i["Size"] and i["Containers"] == -1 for i in items)
    untagged = [i for i in items if i["RepoTags"] == ["<none>:<none>"]]
    assert len(untagged) == 1 and untagged[0]["RepoDigests"] == ["<none>@<none>"]
    body = await (await env.client.get("/v1.41/images/busybox/json")).json()
    assert body["VirtualSize"] == body["Size"] and body["Container"] == ""
    assert body["ContainerConfig"]["Hostname"] == "" and body["Config"]["AttachStdin"] is False
    body = await (await env.client.get("/v1.51/images/busybox/json")).json()
    assert "VirtualSize" not in body and "ContainerConfig" not in body
    assert body["Config"]["User"] == "" and body["Config"]["OnBuild"] is None
    unversioned = await (await env.client.get("/images/busybox/json")).json()
    assert unversioned == body


async def test_not_found_and_bad_names(env: Env) -> None:
    resp = await env.client.get("/v1.51/images/nosuch/json")
    assert resp.status == 404 and resp.headers["Content-Type"] == "application/json"
    assert await resp.json() == {"message": "No such image: nosuch:latest"}
    resp = await env.client.get("/v1.51/images/Busybox/json")
    assert resp.status == 400
    expected = "invalid reference format: repository name (library/Busybox) must be lowercase"
    assert (await resp.json())["message"] == expected


async def test_routes_do_not_shadow_each_other(env: Env) -> None:
    iid = await env.do_import(repo="json")
    await env.client.post("/v1.51/images/busybox/tag", params={"repo": "load"})
    assert (await env.client.post(f"/v1.51/images/{iid}/tag", params={"repo": "load"})).status == 201
    assert (await env.client.post(f"/v1.51/images/{iid}/tag", params={"repo": "get", "tag": "history"})).status == 201
    assert (await (await env.client.get("/v1.51/images/json/json")).json())["Id"] == iid
    assert isinstance(await (await env.client.get("/v1.51/images/json")).json(), list)
    history = await env.client.get("/v1.51/images/get:history/history")
    assert history.status == 200 and (await history.json())[0]["Id"] == iid
    resp = await env.client.get("/v1.51/images/get:history/get")
    assert resp.status == 200 and resp.headers["Content-Type"] == "application/x-tar"


async def test_history_tag_and_delete(env: Env) -> None:
    iid = await env.do_import()
    items = await (await env.client.get("/v1.51/images/busybox/history")).json()
    assert items[0]["Id"] == iid and items[0]["Comment"] == "Imported from -"
    resp = await env.client.post("/v1.51/images/busybox/tag", params={"repo": "localhost:5000/bb", "tag": "1"})
    assert resp.status == 201
    resp = await env.client.post("/v1.51/images/busybox/tag", params={"repo": "bb", "tag": "no good"})
    assert resp.status == 400 and (await resp.json())["message"] == "invalid tag format"
    resp = await env.client.post("/v1.51/images/nosuch/tag", params={"repo": "bb"})
    assert resp.status == 404
    resp = await env.client.delete("/v1.51/images/localhost:5000/bb:1")
    assert resp.status == 200 and await resp.json() == [{"Untagged": "localhost:5000/bb:1"}]
    env.usage.by_image[iid] = [("a" * 64, True)]
    # dockerd: a forced rmi by name untags, and quietly keeps the image a running container uses.
    resp = await env.client.delete("/v1.51/images/busybox", params={"force": "1"})
    assert resp.status == 200 and await resp.json() == [{"Untagged": "busybox:latest"}]
    resp = await env.client.delete(f"/v1.51/images/{iid}", params={"force": "1"})
    assert resp.status == 409
    message = (await resp.json())["message"]
    assert "(cannot be forced) - image is being used by running container aaaaaaaaaaaa" in message
    env.usage.by_image.clear()
    resp = await env.client.delete(f"/v1.51/images/{iid[7:19]}")
    records = await resp.json()
    assert records[0] == {"Deleted": iid}
    assert (await env.client.delete("/v1.51/images/busybox")).status == 404


async def test_save_and_load_round_trip(env: Env) -> None:
    iid = await env.do_import()
    await env.client.post("/v1.51/images/busybox/tag", params={"repo": "bb", "tag": "2"})
    resp = await env.client.get("/v1.51/images/get", params=[("names", "busybox"), ("names", "bb:2")])
    assert resp.status == 200 and resp.headers["Content-Type"] == "application/x-tar"
    archive = await resp.read()
    single = await (await env.client.get("/v1.51/images/busybox/get")).read()
    assert len(single) > len(BASE)
    assert (await env.client.delete("/v1.51/images/busybox", params={"force": "1"})).status == 200
    assert (await env.client.delete("/v1.51/images/bb:2")).status in (200, 404)
    assert env.store.list() == []
    status, lines = await env.json_lines("POST", "/v1.51/images/load", params={"quiet": "1"}, data=archive)
    assert status == 200
    assert lines == [{"stream": "Loaded image: busybox:latest\n"}, {"stream": "Loaded image: bb:2\n"}]
    assert env.store.get("bb:2").id == iid
    assert "load" in [e["Action"] for e in env.events.history()]


async def test_load_progress_and_errors_in_the_stream(env: Env) -> None:
    await env.do_import()
    archive = await (await env.client.get("/v1.51/images/busybox/get")).read()
    assert (await env.client.delete("/v1.51/images/busybox")).status == 200
    status, lines = await env.json_lines("POST", "/v1.51/images/load", params={"quiet": "0"},
                                         data=gzip.compress(archive))
    assert status == 200
    assert lines[0]["status"] == "Loading layer" and lines[0]["id"] == digest(BASE)[7:19]
    assert lines[-1] == {"stream": "Loaded image: busybox:latest\n"}
    status, lines = await env.json_lines("POST", "/v1.51/images/load", data=b"not a tar" * 100)
    assert status == 200
    message = lines[-1]["error"]
    assert lines[-1]["errorDetail"] == {"message": message} and "invalid archive" in message


async def test_bad_imports_answer_before_reading(env: Env) -> None:
    for params, status in (
        ({"fromSrc": "http://example.com/rootfs.tar"}, 501),
        ({"fromSrc": "-", "repo": "Bad"}, 400),
        ({"fromSrc": "-", "changes": "RUN x"}, 400),
    ):
        resp = await env.client.post("/v1.51/images/create", params=params, data=BASE)
        assert resp.status == status, params
    resp = await env.client.post("/v1.51/images/create", params={"fromSrc": "-"}, data=b"junk" * 1000)
    assert resp.status == 400
    assert env.store.list() == [] and list((env.store.root / "ingest").iterdir()) == []


def closed_port() -> int:
    """A loopback port nothing listens on (bound and closed, never listened on)."""
    import socket

    global _CLOSED_PORT
    if not _CLOSED_PORT:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            _CLOSED_PORT = int(s.getsockname()[1])
    return _CLOSED_PORT


_CLOSED_PORT = 0


async def test_pull_is_refused_like_an_unreachable_repository(env: Env) -> None:
    # A registry that refuses connections (a closed port on loopback: no network is reached).
    params = {"fromImage": f"127.0.0.1:{closed_port()}/nosuch", "tag": "latest"}
    resp = await env.client.post("/v1.51/images/create", params=params)
    assert resp.status == 503
    assert "connect: connection refused" in (await resp.json())["message"]
    resp = await env.client.post("/v1.51/images/create", params={"fromImage": "scratch"})
    assert resp.status == 403 and (await resp.json())["message"] == "'scratch' is a reserved name"
    resp = await env.client.post("/v1.51/images/create", params={"fromImage": "Bad"})
    assert resp.status == 400


async def test_prune_push_and_search(env: Env) -> None:
    await env.do_import(repo="")
    resp = await env.client.post("/v1.51/images/prune")
    report = await resp.json()
    validate(report["ImagesDeleted"], {"type": "array", "items": {"$ref": "#/definitions/ImageDeleteResponseItem"}})
    assert len(report["ImagesDeleted"]) == 2 and report["SpaceReclaimed"] > 0
    resp = await env.client.post("/v1.51/images/prune", params={"filters": json.dumps({"nope": ["1"]})})
    assert resp.status == 400
    assert (await env.client.post("/v1.51/images/nosuch/push")).status == 404
    await env.do_import()
    resp = await env.client.post("/v1.51/images/busybox/tag", params={"repo": f"127.0.0.1:{closed_port()}/bb"})
    assert resp.status == 201
    resp = await env.client.post(f"/v1.51/images/127.0.0.1:{closed_port()}/bb/push")
    assert resp.status == 200  # the stream had started: the error is its last message, as with dockerd
    last = json.loads((await resp.read()).splitlines()[-1])
    assert "connect: connection refused" in last["error"]
    assert (await env.client.get("/v1.51/images/search", params={"term": "x"})).status == 501


async def test_a_damaged_layer_cuts_the_save_instead_of_sending_a_short_tar(env: Env) -> None:
    iid = await env.do_import(body=tar_bytes([file("big", b"a" * 3_000_000)]))
    lower = Path(env.store.layer_dirs(env.store.get(iid))[0])
    (lower / "big").write_bytes(b"b" * 3_000_000)  # same size, different content
    resp = await env.client.get("/v1.51/images/busybox/get")
    assert resp.status == 200
    with pytest.raises(aiohttp.ClientPayloadError):
        await resp.read()


async def test_saving_an_image_without_layers_fails_before_any_output(env: Env) -> None:
    from tests.unit.test_image_support import make_config

    iid = env.store.create(make_config([]))
    resp = await env.client.get(f"/v1.51/images/{iid}/get")
    assert resp.status == 501 and (await resp.json())["message"] == "empty export - not implemented"
