"""`/system/df` over a daemon with fake runtime seams and a real image store (no root), and the
CLI's summary and prune prompt computed like docker/cli's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from sangja.api.app import build_app
from sangja.api.routes.system_df import system_df_routes
from sangja.cli.commands.system_df import summary_rows
from sangja.cli.commands.system_prune import confirmation
from sangja.daemon.config import DaemonConfig
from sangja.daemon.create import create_container
from sangja.daemon.daemon import Daemon
from sangja.daemon.system_df import DiskUsage, DiskUsageOptions
from sangja.errors import InvalidParameter
from tests.support.swagger import SPEC_PATH, validate
from tests.unit.fakes_daemon import FakeRootfs, FakeRuntime
from tests.unit.test_image_support import add_image, busybox_like_layer, new_store, tar_bytes
from tests.unit.test_image_support import file as tar_file

BASE = busybox_like_layer()
TOP = tar_bytes([tar_file("app", b"x" * 5000)])


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[tuple[TestClient[Any, Any], Daemon, str, str]]:
    store = new_store(tmp_path / "image")
    base = add_image(store, [BASE], ["busybox:latest"])
    app_img = add_image(store, [BASE, TOP], ["app:1"], parent=base, created="2024-02-02T00:00:00Z")
    cfg = DaemonConfig(data_root=tmp_path / "data", exec_root=tmp_path / "exec")
    d = Daemon(cfg, store, FakeRuntime(tmp_path / "exec"), FakeRootfs())  # type: ignore[arg-type]
    async with TestClient(TestServer(build_app([system_df_routes(d)]))) as client:
        yield client, d, base, app_img
    for task in list(d.background):
        task.cancel()


def human(n: int) -> str:
    return f"{n}B" if n < 1000 else f"{n / 1000:.4g}kB"


def df_schema() -> dict[str, Any]:
    schema: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())["paths"]["/system/df"]["get"]["responses"][200][
        "schema"]
    return schema


async def test_sizes_counts_and_shared_layers(env: Any) -> None:
    client, d, base, app_img = env
    c, _ = await create_container(d, {"Image": "app:1"}, "one")
    upper = Path(d.containers.directory(c.id)) / "upper"
    upper.mkdir(parents=True, exist_ok=True)
    (upper / "written").write_bytes(b"y" * 1234)
    vol, _ = d.volumes.create("data")
    Path(vol.mountpoint, "f").write_bytes(b"z" * 777)
    d.volumes.create("idle")
    c.mount_points = [{"Type": "volume", "Name": "data", "Destination": "/data"}]

    body = await (await client.get("/v1.51/system/df")).json()
    validate(body, df_schema())
    base_size = d.images.get(base).size
    app_size = d.images.get(app_img).size
    # Two images share the base layer: LayersSize counts it once.
    assert body["LayersSize"] == app_size == base_size + 5000
    images = {i["Id"]: i for i in body["Images"]}
    assert images[app_img]["Containers"] == 1 and images[base]["Containers"] == 0
    assert images[app_img]["SharedSize"] == images[base]["SharedSize"] == base_size
    [summary] = body["Containers"]
    assert summary["SizeRw"] == 1234 and summary["SizeRootFs"] == 1234 + app_size
    volumes = {v["Name"]: v["UsageData"] for v in body["Volumes"]}
    assert volumes == {"data": {"Size": 777, "RefCount": 1}, "idle": {"Size": 0, "RefCount": 0}}
    assert body["BuildCache"] == []

    rows = [(r.Type(), r.TotalCount(), r.Active(), r.Size(), r.Reclaimable()) for r in summary_rows(body)]
    layers = body["LayersSize"]
    free = layers - (app_size - base_size)
    assert rows[0] == ("Images", "2", "1", human(layers), f"{human(free)} ({free * 100 // layers}%)")
    assert rows[1] == ("Containers", "1", "0", "1.234kB", "1.234kB (100%)")
    assert rows[2] == ("Local Volumes", "2", "1", "777B", "0B (0%)")
    assert rows[3] == ("Build Cache", "0", "0", "0B", "0B")


async def test_type_filter_versions_and_errors(env: Any) -> None:
    client, _d, _base, _app = env
    body = await (await client.get("/v1.51/system/df?type=container")).json()
    assert body == {"LayersSize": 0, "Images": None, "Containers": [], "Volumes": None, "BuildCache": None}
    bad = await client.get("/v1.51/system/df?type=bogus")
    assert bad.status == 400 and (await bad.json())["message"] == "unknown object type: bogus"
    old = await (await client.get("/v1.41/system/df?type=bogus")).json()
    assert old["Volumes"] == [] and all(i["VirtualSize"] == i["Size"] for i in old["Images"])
    prune = await client.post("/build/prune?all=1")
    assert await prune.json() == {"CachesDeleted": [], "SpaceReclaimed": 0}
    assert (await client.post("/build/prune?filters=%7Bnot")).status == 400
    with pytest.raises(InvalidParameter):
        DiskUsageOptions.from_types(["image", "x"])


async def test_concurrent_requests_share_one_walk(env: Any) -> None:
    _client, d, _base, _app = env
    calls = 0
    release = asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow(_d: Daemon) -> list[str]:
        nonlocal calls
        calls += 1
        asyncio.run_coroutine_threadsafe(release.wait(), loop).result(timeout=10)
        return ["walked"]

    usage = DiskUsage(d)
    first = asyncio.ensure_future(usage._shared("k", slow))
    second = asyncio.ensure_future(usage._shared("k", slow))
    await asyncio.sleep(0)
    release.set()
    assert await first == await second == ["walked"] and calls == 1
    assert await usage._shared("k", slow) == ["walked"] and calls == 2  # a later request walks again


def test_prune_prompt_is_dockers() -> None:
    assert confirmation(False, False, {}) == (
        "WARNING! This will remove:\n  - all stopped containers\n"
        "  - all networks not used by at least one container\n  - all dangling images\n"
        "  - unused build cache\n\nAre you sure you want to continue?")
    text = confirmation(True, True, {"until": ["10h"], "label": ["b10", "b9"], "dangling": ["x"]})
    assert "  - all anonymous volumes not used by at least one container\n" in text
    assert "  - all images without at least one container associated to them\n  - all build cache\n" in text
    assert text.endswith("\n  Items to be pruned will be filtered with:\n  - label=b9\n  - label=b10\n"
                         "  - until=10h\n\nAre you sure you want to continue?")
