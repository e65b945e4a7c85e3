"""Volumes without root: the local driver's store, mount resolution, copy-up, rm -v and the API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from sangja.api.app import build_app
from sangja.api.routes.containers import container_routes
from sangja.api.routes.volumes import volume_routes
from sangja.daemon.create import create_container
from sangja.daemon.daemon import Daemon
from sangja.daemon.remove import remove_container
from sangja.daemon.start import start_container
from sangja.daemon.views import inspect
from sangja.daemon.volume_verbs import list_volumes, prune_volumes, remove_volume
from sangja.errors import Conflict, InvalidParameter, NotFound
from sangja.host.mounts import MS_BIND, MS_RDONLY
from sangja.volume.store import ANONYMOUS_LABEL, VolumeStore, mount_arguments
from tests.support.swagger import validate


class FakeMounter:
    def __init__(self) -> None:
        self.mounted: dict[str, tuple[str, str, int, str]] = {}

    def mount(self, source: str, target: str, fstype: str, flags: int = 0, data: str = "") -> None:
        self.mounted[target] = (source, fstype, flags, data)

    def unmount(self, target: str, flags: int = 0) -> None:
        self.mounted.pop(target)

    def mountpoints(self) -> set[str]:
        return set(self.mounted)


def test_names_and_options_are_checked_with_dockers_messages(tmp_path: Path) -> None:
    store = VolumeStore(tmp_path)
    with pytest.raises(InvalidParameter, match=r'^create a/b: "a/b" includes invalid characters for a local '
                       r'volume name, only "\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]" are allowed'):
        store.create("a/b")
    with pytest.raises(InvalidParameter, match=r"^create x: volume name is too short"):
        store.create("x")
    with pytest.raises(InvalidParameter, match=r'^create v1: invalid option: "foo"'):
        store.create("v1", options={"foo": "bar"})
    with pytest.raises(InvalidParameter, match='missing required option: "device"'):
        store.create("v1", options={"type": "tmpfs"})
    assert store.volumes() == [] and list(tmp_path.iterdir()) == []  # nothing half-created


def test_create_is_persistent_and_idempotent(tmp_path: Path) -> None:
    store = VolumeStore(tmp_path)
    vol, created = store.create("data", {"a": "b"})
    assert created and Path(vol.mountpoint) == tmp_path / "data" / "_data" and Path(vol.mountpoint).is_dir()
    again, created = store.create("data")
    assert not created and again is vol
    anon, _ = store.create()
    assert len(anon.name) == 64 and anon.anonymous and not vol.anonymous
    reopened = VolumeStore(tmp_path)
    assert sorted(v.name for v in reopened.volumes()) == sorted(["data", anon.name])
    assert reopened.get("data").labels == {"a": "b"}
    api = reopened.get("data").to_api()
    validate(api, "Volume")
    assert api["Driver"] == "local" and api["Scope"] == "local"


def test_remove_refuses_a_volume_in_use_and_reports_a_missing_one(tmp_path: Path) -> None:
    store = VolumeStore(tmp_path)
    store.create("data")
    with pytest.raises(Conflict, match=r"^remove data: volume is in use - \[c1, c2\]$"):
        store.remove("data", ["c1", "c2"])
    store.remove("data", [])
    assert not (tmp_path / "data").exists()
    with pytest.raises(NotFound, match=r"^get data: no such volume$"):
        store.remove("data", [])
    store.remove("data", [], force=True)


def test_option_volumes_are_mounted_once_and_unmounted_on_remove(tmp_path: Path) -> None:
    mounter = FakeMounter()
    store = VolumeStore(tmp_path, mounter)
    vol, _ = store.create("tv", options={"type": "tmpfs", "device": "tmpfs", "o": "size=64m,ro"})
    store.ensure_mounted(vol)
    store.ensure_mounted(vol)
    assert mounter.mounted == {vol.mountpoint: ("tmpfs", "tmpfs", MS_RDONLY, "size=64m")}
    store.remove("tv", [])
    assert mounter.mounted == {}
    assert mount_arguments({"type": "none", "o": "bind", "device": "/srv"}) == ("/srv", "", MS_BIND, "")


async def test_named_anonymous_and_bind_mounts_in_spec_and_inspect(d: Daemon, tmp_path: Path) -> None:
    host = tmp_path / "host"
    body = {"Image": "busybox", "Cmd": ["true"], "Volumes": {"/anon": {}},
            "HostConfig": {"Binds": ["data:/data:ro", "cfg:/etc", f"{host}:/h"], "Tmpfs": {"/run": "size=1m"},
                           "Mounts": [{"Type": "tmpfs", "Target": "/scratch", "TmpfsOptions": {"SizeBytes": 1 << 20}}]}}
    c, _ = await create_container(d, body, "vols")
    mounts = {m["Destination"]: m for m in inspect(c)["Mounts"]}
    assert set(mounts) == {"/anon", "/data", "/etc", "/h", "/scratch"}
    assert mounts["/data"] == {"Type": "volume", "Name": "data", "Source": d.volumes.get("data").mountpoint,
                               "Destination": "/data", "Driver": "local", "Mode": "ro", "RW": False,
                               "Propagation": ""}
    assert mounts["/h"]["Type"] == "bind" and mounts["/h"]["Propagation"] == "rprivate"
    assert mounts["/anon"]["Mode"] == "" and d.volumes.get(mounts["/anon"]["Name"]).anonymous
    validate(inspect(c)["Mounts"], {"type": "array", "items": {"$ref": "#/definitions/MountPoint"}})

    await start_container(d, "vols")
    spec = d.runtime.specs[c.id]  # type: ignore[attr-defined]
    by_dest = {m["destination"]: m for m in spec["mounts"]}
    assert by_dest["/data"]["options"] == ["rbind", "ro", "rprivate"]
    assert by_dest["/run"] == {"destination": "/run", "type": "tmpfs", "source": "tmpfs",
                               "options": ["nosuid", "nodev", "noexec", "size=1m"]}
    assert "size=1024k" in by_dest["/scratch"]["options"]
    assert host.is_dir()  # -v creates a missing host path
    # copy-up: the new volume at /etc took the image's /etc/passwd
    assert (Path(d.volumes.get("cfg").mountpoint) / "passwd").read_text().startswith("root:")


async def test_bad_mounts_are_refused_and_leave_no_volume(d: Daemon) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"Binds": ["bad/name:/x"]}, "includes invalid characters"),
        ({"Mounts": [{"Type": "bind", "Source": "/no/such/path", "Target": "/x"}]},
         'invalid mount config for type "bind": bind source path does not exist: /no/such/path'),
        ({"Mounts": [{"Type": "tmpfs", "Source": "x", "Target": "/x"}]}, "field Source must not be specified"),
        ({"Binds": ["newvol:/x"], "Mounts": [{"Type": "volume", "Source": "other", "Target": "/x"}]},
         "Duplicate mount point: /x"),
    ]
    for hc, message in cases:
        with pytest.raises(InvalidParameter, match=message.replace("(", r"\(")):
            await create_container(d, {"Image": "busybox", "Cmd": ["true"], "HostConfig": hc}, None)
    assert d.volumes.volumes() == [] and list(d.containers) == []


async def test_rm_v_removes_only_anonymous_volumes_and_in_use_conflicts(d: Daemon) -> None:
    body = {"Image": "busybox", "Cmd": ["true"], "Volumes": {"/anon": {}}, "HostConfig": {"Binds": ["keep:/k"]}}
    c, _ = await create_container(d, body, "one")
    anon = next(m["Name"] for m in c.mount_points if m["Destination"] == "/anon")
    with pytest.raises(Conflict, match=f"^remove keep: volume is in use - \\[{c.id}\\]$"):
        await remove_volume(d, "keep")
    assert {v["Name"] for v in list_volumes(d, {"dangling": ["false"]})["Volumes"]} == {anon, "keep"}
    await remove_container(d, "one", volumes=True)
    assert [v.name for v in d.volumes.volumes()] == ["keep"]
    assert list_volumes(d, {"dangling": ["true"]})["Volumes"][0]["Name"] == "keep"
    with pytest.raises(InvalidParameter, match="invalid filter 'bogus'"):
        list_volumes(d, {"bogus": ["1"]})


async def test_prune_keeps_named_volumes_unless_all(d: Daemon) -> None:
    d.volumes.create("named")
    anon, _ = d.volumes.create("", {"x": "y"})
    report = await prune_volumes(d, {}, all_volumes=False)
    assert report["VolumesDeleted"] == [anon.name]
    report = await prune_volumes(d, {"all": ["true"]}, all_volumes=False)
    assert report["VolumesDeleted"] == ["named"]
    validate(report, {"type": "object", "properties": {"VolumesDeleted": {"type": "array"}}})
    assert ANONYMOUS_LABEL in anon.labels


async def test_volume_api_shapes_and_errors(d: Daemon) -> None:
    app = build_app([container_routes(d), volume_routes(d)])
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
    await client.start_server()
    try:
        resp = await client.post("/v1.51/volumes/create", json={"Name": "apiv", "Labels": {"k": "v"}})
        assert resp.status == 201
        validate(await resp.json(), "Volume")
        resp = await client.get("/volumes", params={"filters": json.dumps({"label": ["k=v"]})})
        listing = await resp.json()
        validate(listing, "VolumeListResponse")
        assert [v["Name"] for v in listing["Volumes"]] == ["apiv"]
        resp = await client.get("/volumes/nosuch")
        assert resp.status == 404 and (await resp.json())["message"] == "get nosuch: no such volume"
        resp = await client.post("/volumes/create", json={"Name": "a", "Driver": "local"})
        assert resp.status == 400
        resp = await client.post("/volumes/create", json={"Name": "zz", "Driver": "nfsplugin"})
        assert resp.status == 404
        # Before API 1.42, prune removed named volumes too.
        resp = await client.post("/v1.41/volumes/prune")
        report = await resp.json()
        assert set(report) == {"VolumesDeleted", "SpaceReclaimed"}
        assert report["VolumesDeleted"] == ["apiv"]
        resp = await client.delete("/volumes/apiv")
        assert resp.status == 404
        resp = await client.delete("/volumes/apiv", params={"force": "1"})
        assert resp.status == 204
    finally:
        await client.close()
