"""The HTTP layer over a daemon with fake seams: versions, errors, shapes validated against swagger."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from sangja.api.app import build_app
from sangja.api.routes.containers import container_routes
from sangja.api.routes.system import system_routes
from sangja.daemon.daemon import Daemon
from tests.support.swagger import validate

from .fakes_daemon import make_daemon


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[tuple[TestClient[web.Request, web.Application], Daemon]]:
    d = make_daemon(tmp_path)
    app = build_app([system_routes(d), container_routes(d)])
    client = TestClient(TestServer(app))
    await client.start_server()
    yield client, d
    await client.close()
    for task in list(d.background):
        task.cancel()


async def test_ping_head_has_headers_and_no_body(env: Any) -> None:
    client, _ = env
    resp = await client.head("/_ping")
    assert resp.status == 200
    assert resp.headers["Api-Version"] == "1.51"
    assert resp.headers["Ostype"] == "linux"
    assert "Builder-Version" in resp.headers and "Docker-Experimental" in resp.headers
    assert await resp.read() == b""
    resp = await client.get("/v1.44/_ping")
    assert await resp.text() == "OK"


async def test_version_shape_and_api_range(env: Any) -> None:
    client, _ = env
    resp = await client.get("/version")
    body = await resp.json()
    assert body["ApiVersion"] == "1.51" and body["MinAPIVersion"] == "1.24"
    validate(body, "SystemVersion")
    too_old = await client.get("/v1.12/version")
    assert too_old.status == 400
    assert "client version 1.12 is too old" in (await too_old.json())["message"]
    too_new = await client.get("/v1.99/version")
    assert too_new.status == 400


async def test_errors_are_plain_application_json(env: Any) -> None:
    client, _ = env
    resp = await client.get("/v1.51/containers/nope/json")
    assert resp.status == 404
    assert resp.headers["Content-Type"] == "application/json"
    assert await resp.json() == {"message": "No such container: nope"}
    bad = await client.post("/containers/create", data=b"{not json", headers={"Content-Type": "application/json"})
    assert bad.status == 400
    wrong = await client.post("/containers/create", json={"Image": "busybox", "Cmd": 5})
    assert wrong.status == 400
    missing = await client.post("/containers/create", json={"Image": "nope"})
    assert missing.status == 404 and (await missing.json())["message"] == "No such image: nope"


async def test_create_inspect_list_validate_against_swagger(env: Any) -> None:
    client, _ = env
    resp = await client.post("/v1.51/containers/create?name=web", json={"Image": "busybox", "Labels": {"a": "b"}})
    assert resp.status == 201
    created = await resp.json()
    validate(created, "ContainerCreateResponse")
    dup = await client.post("/containers/create?name=web", json={"Image": "busybox"})
    assert dup.status == 409
    assert (await dup.json())["message"].startswith('Conflict. The container name "/web" is already in use')
    inspect = await (await client.get("/containers/web/json")).json()
    validate(inspect, "ContainerInspectResponse")
    assert inspect["State"]["Status"] == "created" and inspect["Name"] == "/web"
    assert (await (await client.get("/containers/json")).json()) == []
    listing = await (await client.get("/containers/json?all=1")).json()
    validate(listing, {"type": "array", "items": {"$ref": "#/definitions/ContainerSummary"}})
    assert listing[0]["Names"] == ["/web"] and listing[0]["Status"] == "Created"
    filtered = await client.get("/containers/json?all=1&filters=" + json.dumps({"label": ["a=c"]}))
    assert await filtered.json() == []
    start = await client.post(f"/containers/{created['Id']}/start")
    assert start.status == 204
    again = await client.post("/containers/web/start")
    assert again.status == 304
    running = await (await client.get("/containers/json")).json()
    assert running[0]["State"] == "running" and running[0]["Status"].startswith("Up ")
    busy = await client.delete("/containers/web")
    assert busy.status == 409
    gone = await client.delete("/containers/web?force=1")
    assert gone.status == 204


async def test_wait_sends_headers_before_the_exit(env: Any) -> None:
    client, d = env
    cid = (await (await client.post("/containers/create", json={"Image": "busybox"})).json())["Id"]
    resp = await client.post(f"/containers/{cid}/wait?condition=next-exit")
    assert resp.status == 200  # the headers came while the container has not even started
    await client.post(f"/containers/{cid}/start")
    d.runtime.exit(cid, 4)
    body = await asyncio.wait_for(resp.json(), 5)
    assert body["StatusCode"] == 4
    validate(body, "ContainerWaitResponse")


async def test_events_since_until(env: Any) -> None:
    client, _ = env
    await client.post("/containers/create?name=ev1", json={"Image": "busybox"})
    resp = await client.get("/events?since=0&until=" + str(int(__import__("time").time()) + 1))
    lines = [json.loads(x) for x in (await resp.text()).splitlines() if x.strip()]
    assert [e["Action"] for e in lines] == ["create"]
    validate(lines[0], "EventMessage")
