"""docker import, load and save through the verbs: formats, round trips, and refusals that store
nothing."""

from __future__ import annotations

import gzip
import io
import json
import lzma
import tarfile
from pathlib import Path
from typing import Any

import pytest

from sangja.daemon.image_events import RecordingEventSink
from sangja.daemon.image_import import import_image, prepare_import
from sangja.daemon.image_load import load_images
from sangja.daemon.image_save import plan_save, save_images
from sangja.errors import InvalidParameter, NotFound, NotImplementedYet
from sangja.image import platform
from sangja.image.store import ImageStore
from tests.unit.test_image_support import (
    add_image,
    busybox_like_layer,
    digest,
    docker_save_archive,
    file,
    make_config,
    new_store,
    oci_archive,
    tar_bytes,
)

BASE = busybox_like_layer()
APP = tar_bytes([file("app", b"app")])


def empty(store: ImageStore) -> bool:
    """Nothing registered and nothing left behind."""
    return (
        store.list() == []
        and store.layers.chain_ids() == []
        and list((store.root / "ingest").iterdir()) == []
        and [p.name for p in (store.root / "layers").iterdir()] == []
    )


# -- import ----------------------------------------------------------------------------------


def do_import(store: ImageStore, body: bytes, repo: str = "", changes: list[str] | None = None) -> str:
    path = store.root.parent / "body"
    path.write_bytes(body)
    opts = prepare_import("-", repo, "", "", changes or [])
    return import_image(store, RecordingEventSink(), path, opts)


@pytest.mark.parametrize("compress", [lambda b: b, gzip.compress, lzma.compress])
def test_import_plain_and_compressed(tmp_path: Path, compress: Any) -> None:
    store = new_store(tmp_path / "store")
    iid = do_import(store, compress(BASE), repo="busybox", changes=['CMD ["sh"]', "ENV A=1"])
    image = store.get("busybox")
    assert image.id == iid
    cfg = image.config
    assert cfg["rootfs"] == {"type": "layers", "diff_ids": [digest(BASE)]}
    assert cfg["architecture"] == platform.host().architecture and cfg["os"] == "linux"
    assert cfg["comment"] == "Imported from -"
    assert cfg["history"] == [{"created": cfg["created"], "comment": "Imported from -"}]
    assert cfg["config"]["Cmd"] == ["sh"] and cfg["config"]["Env"] == ["A=1"]
    assert list(cfg) == sorted(cfg)  # dockerd writes the top level with sorted keys
    assert Path(store.layer_dirs(image)[0], "etc", "passwd").read_bytes().startswith(b"root:")


def test_import_events_and_untagged(tmp_path: Path) -> None:
    store = new_store(tmp_path / "store")
    (tmp_path / "body").write_bytes(BASE)
    sink = RecordingEventSink()
    iid = import_image(store, sink, tmp_path / "body", prepare_import("-", "bb", "v1", "msg", []))
    assert sink.events == [("tag", iid, {"name": "bb:v1"}), ("import", iid, {"name": iid})]
    assert store.get(iid).config["comment"] == "msg"
    iid2 = do_import(store, APP)
    assert store.get(iid2).repo_tags == []


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"src": "http://example.com/x.tar"}, NotImplementedYet, "importing from a URL"),
        ({"src": ""}, InvalidParameter, "fromSrc"),
        ({"repo": "Bad"}, InvalidParameter, "must be lowercase"),
        ({"repo": "x", "tag": "bad tag"}, InvalidParameter, "invalid tag format"),
        ({"changes": ["RUN rm -rf /"]}, InvalidParameter, "RUN is not a valid change command"),
        ({"platform": "windows/amd64"}, InvalidParameter, "cannot be used on this platform"),
    ],
)
def test_import_requests_refused_before_the_body_is_read(kwargs: dict[str, Any], error: type, message: str) -> None:
    args = {"src": "-", "repo": "", "tag": "", "message": "", "changes": [], **kwargs}
    with pytest.raises(error, match=message):
        prepare_import(**args)


@pytest.mark.parametrize(
    "body",
    [
        b"definitely not a tar" * 100,
        gzip.compress(BASE)[:-40],
        tar_bytes([file("big", b"x" * 50_000)])[:20_000],
        tar_bytes([file("../../escape", b"x")]),
    ],
)
def test_a_bad_import_stores_nothing(tmp_path: Path, body: bytes) -> None:
    store = new_store(tmp_path / "store")
    with pytest.raises(InvalidParameter):
        do_import(store, body, repo="bad")
    assert empty(store)


def test_import_platform_sets_architecture(tmp_path: Path) -> None:
    store = new_store(tmp_path / "store")
    (tmp_path / "body").write_bytes(BASE)
    opts = prepare_import("-", "", "", "", [], platform="linux/arm64")
    iid = import_image(store, RecordingEventSink(), tmp_path / "body", opts)
    assert store.get(iid).config["architecture"] == "arm64"


# -- load ------------------------------------------------------------------------------------


def load(store: ImageStore, archive: bytes, quiet: bool = True) -> tuple[list[str], list[dict[str, Any]]]:
    path = store.root.parent / "archive.tar"
    path.write_bytes(archive)
    messages: list[dict[str, Any]] = []
    ids = load_images(store, RecordingEventSink(), path, messages.append, quiet)
    return ids, messages


def streams(messages: list[dict[str, Any]]) -> list[str]:
    return [m["stream"] for m in messages if "stream" in m]


@pytest.mark.parametrize("old_layout", [True, False])
def test_load_docker_save_archives(tmp_path: Path, old_layout: bool) -> None:
    store = new_store(tmp_path / "store")
    config = make_config([BASE, APP])
    ids, messages = load(store, docker_save_archive([(config, [BASE, APP], ["app:1", "app:2"])], old_layout))
    assert ids == [digest(config)]
    assert streams(messages) == ["Loaded image: app:1\n", "Loaded image: app:2\n"]
    assert store.get("app:2").id == digest(config)
    assert Path(store.layer_dirs(store.get("app:1"))[0], "app").read_bytes() == b"app"


def test_load_reports_progress_unless_quiet(tmp_path: Path) -> None:
    store = new_store(tmp_path / "store")
    config = make_config([BASE])
    _, messages = load(store, docker_save_archive([(config, [BASE], ["bb:1"])]), quiet=False)
    progress = [m for m in messages if m.get("status") == "Loading layer"]
    assert progress and progress[-1]["progressDetail"] == {"current": len(BASE), "total": len(BASE)}
    assert progress[-1]["id"] == digest(BASE)[7:19]


def test_load_untagged_prints_ids(tmp_path: Path) -> None:
    store = new_store(tmp_path / "store")
    config = make_config([BASE])
    _, messages = load(store, docker_save_archive([(config, [BASE], [])]))
    assert streams(messages) == [f"Loaded image ID: {digest(config)}\n"]


def test_load_moves_an_existing_tag_and_says_so(tmp_path: Path) -> None:
    store = new_store(tmp_path / "store")
    old = add_image(store, [APP], tags=["bb:1"])
    config = make_config([BASE])
    _, messages = load(store, docker_save_archive([(config, [BASE], ["bb:1"])]))
    assert streams(messages) == [
        f"The image bb:1 already exists, renaming the old one with ID {old} to empty string\n",
        "Loaded image: bb:1\n",
    ]
    assert store.get("bb:1").id == digest(config) and store.get(old).repo_tags == []


def test_load_gzip_layers_and_a_gzipped_archive(tmp_path: Path) -> None:
    store = new_store(tmp_path / "store")
    config = make_config([BASE])
    archive = gzip.compress(docker_save_archive([(config, [BASE], ["bb:1"])], gzip_layers=True))
    assert load(store, archive)[0] == [digest(config)]


@pytest.mark.parametrize("nested", [False, True])
def test_load_oci_layouts(tmp_path: Path, nested: bool) -> None:
    store = new_store(tmp_path / "store")
    config = make_config([BASE, APP])
    ids, messages = load(store, oci_archive(config, [BASE, APP], ["docker.io/library/oci:1"], nested=nested))
    assert ids == [digest(config)]
    assert streams(messages) == ["Loaded image: oci:1\n"]


def test_an_oci_layer_blob_must_match_its_digest(tmp_path: Path) -> None:
    store = new_store(tmp_path / "store")
    config = make_config([BASE])
    archive = oci_archive(config, [BASE], ["x:1"], gzip_layers=False)
    with tarfile.open(fileobj=io.BytesIO(archive)) as t:
        members = {m.name: t.extractfile(m).read() for m in t.getmembers()}  # type: ignore[union-attr]
    members[f"blobs/sha256/{digest(BASE)[7:]}"] = BASE.replace(b"fake busybox", b"evil busybox")
    with pytest.raises(InvalidParameter, match="has digest"):
        load(store, tar_bytes([file(n, d) for n, d in members.items()]))
    assert empty(store)


@pytest.mark.parametrize(
    ("archive", "message"),
    [
        (tar_bytes([file("nothing", b"")]), "does not contain a manifest.json"),
        (tar_bytes([file("manifest.json", b"null")]), "manifest cannot be null"),
        (tar_bytes([file("manifest.json", b"{bad")]), "failed to decode manifest.json"),
        (b"garbage" * 300, "invalid archive"),
        (docker_save_archive([(make_config([BASE]), [APP], ["x:1"])]), 'invalid diffID for layer 0: expected "'),
        (docker_save_archive([(make_config([BASE, APP]), [BASE], ["x:1"])]),
         "layers length mismatch: expected 1, got 2"),
        (docker_save_archive([(make_config([BASE], os_name="windows"), [BASE], ["x:1"])]),
         "cannot load windows image on linux"),
        (b"", "invalid archive"),
    ],
)
def test_bad_archives_are_refused(tmp_path: Path, archive: bytes, message: str) -> None:
    store = new_store(tmp_path / "store")
    with pytest.raises(InvalidParameter, match=message):
        load(store, archive)
    assert empty(store)


def test_a_bad_tag_fails_the_load_after_the_image_is_in(tmp_path: Path) -> None:
    # As in dockerd: the image is registered, then its RepoTags entry is refused.
    store = new_store(tmp_path / "store")
    config = make_config([BASE])
    with pytest.raises(InvalidParameter, match='invalid tag "x@sha256:'):
        load(store, docker_save_archive([(config, [BASE], ["x@sha256:" + "a" * 64])]))
    assert store.get(digest(config)).repo_tags == []


def test_a_truncated_archive_stores_nothing(tmp_path: Path) -> None:
    config = make_config([BASE, APP])
    archive = docker_save_archive([(config, [BASE, APP], ["x:1"])])
    files = members(archive)
    # The same archive with manifest.json first, so that a cut can fall inside a layer that
    # the loader does read.
    manifest_first = tar_bytes([file("manifest.json", files["manifest.json"])]
                               + [file(n, d) for n, d in files.items() if n != "manifest.json"])
    cuts = []
    for data in (archive, manifest_first):
        with tarfile.open(fileobj=io.BytesIO(data)) as t:
            cuts += [(data, m.offset_data + m.size // 2) for m in t.getmembers() if m.size > 100]
    for i, (data, cut) in enumerate(cuts):
        store = new_store(tmp_path / f"store-{i}")
        with pytest.raises(InvalidParameter):
            load(store, data[:cut])
        assert empty(store)


def test_an_escaping_layer_in_an_archive_is_refused(tmp_path: Path) -> None:
    evil = tar_bytes([file("../../../../tmp/pwned", b"x")])
    store = new_store(tmp_path / "store")
    with pytest.raises(InvalidParameter, match="outside of the layer"):
        load(store, docker_save_archive([(make_config([evil]), [evil], ["evil:1"])]))
    assert empty(store)


def test_layers_already_present_are_not_read(tmp_path: Path) -> None:
    store = new_store(tmp_path / "store")
    add_image(store, [BASE], tags=["base"])
    config = make_config([BASE, APP])
    archive = docker_save_archive([(config, [BASE, APP], ["app:1"])])
    with tarfile.open(fileobj=io.BytesIO(archive)) as t:
        members = {m.name: t.extractfile(m).read() for m in t.getmembers()}  # type: ignore[union-attr]
    members[f"blobs/sha256/{digest(BASE)[7:]}"] = b"this blob is never looked at"
    assert load(store, tar_bytes([file(n, d) for n, d in members.items()]))[0] == [digest(config)]


# -- save ------------------------------------------------------------------------------------


def save(store: ImageStore, names: list[str]) -> bytes:
    out = io.BytesIO()
    save_images(store, RecordingEventSink(), plan_save(store, names), out)
    return out.getvalue()


def members(archive: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as t:
        return {m.name: (t.extractfile(m).read() if m.isfile() else b"") for m in t.getmembers()}  # type: ignore[union-attr]


def test_save_then_load_gives_the_same_images(tmp_path: Path) -> None:
    src = new_store(tmp_path / "src")
    app = add_image(src, [BASE, APP], tags=["app:1", "app:2"])
    base = add_image(src, [BASE], tags=["base"])
    archive = save(src, ["app", base])
    files = members(archive)
    manifest = json.loads(files["manifest.json"])
    assert [m["RepoTags"] for m in manifest] == [["app:1", "app:2"], []]
    assert json.loads(files["repositories"]) == {"app": {"1": digest(APP)[7:], "2": digest(APP)[7:]}}
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"])
    assert [m["annotations"]["io.containerd.image.name"] for m in index["manifests"] if "annotations" in m] == [
        "docker.io/library/app:1",
        "docker.io/library/app:2",
    ]
    assert files[f"blobs/sha256/{digest(APP)[7:]}"] == APP  # layer tars come back byte for byte
    assert files[f"blobs/sha256/{app[7:]}"] == src.config_bytes(app)

    dst = new_store(tmp_path / "dst")
    assert load(dst, archive)[0] == [app, base]
    assert dst.get("app:2").id == app and dst.get(base).repo_tags == []

    oci_only = tar_bytes([file(n, d) for n, d in files.items() if n != "manifest.json" and d])
    third = new_store(tmp_path / "third")
    assert sorted(load(third, oci_only)[0]) == sorted([app, base])
    assert third.get("app:1").id == app


def test_save_name_rules(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    iid = add_image(store, [BASE], tags=["bb:1", "bb:2"])
    by_tag = json.loads(members(save(store, ["bb:2"]))["manifest.json"])
    assert by_tag[0]["RepoTags"] == ["bb:2"]
    by_id = members(save(store, [iid[7:19]]))
    assert json.loads(by_id["manifest.json"])[0]["RepoTags"] == [] and "repositories" not in by_id
    with pytest.raises(NotFound, match="reference does not exist"):
        plan_save(store, ["bb:3"])
    with pytest.raises(NotFound, match="No such image: nosuch"):
        plan_save(store, ["nosuch"])
    with pytest.raises(InvalidParameter):
        plan_save(store, ["Bad"])
    assert json.loads(members(save(store, []))["manifest.json"]) == []


def test_save_emits_events(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    iid = add_image(store, [BASE], tags=["bb"])
    sink = RecordingEventSink()
    save_images(store, sink, plan_save(store, ["bb"]), io.BytesIO())
    assert sink.events == [("save", iid, {"name": iid})]
