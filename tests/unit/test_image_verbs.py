"""The image verbs: rmi, prune, images (list), inspect, history, tag; Docker's rules and messages,
and every JSON body checked against the API swagger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sangja.daemon.image_delete import delete_image
from sangja.daemon.image_events import RecordingEventSink
from sangja.daemon.image_inspect import image_history, inspect_image
from sangja.daemon.image_list import list_images
from sangja.daemon.image_prune import prune_images
from sangja.daemon.image_tag import parse_tag_request, tag_image
from sangja.errors import Conflict, InvalidParameter, NotFound
from sangja.image.ids import chain_ids, short_id
from sangja.image.store import ImageStore
from sangja.image.timeutil import ZERO_TIME
from tests.support.swagger import validate
from tests.unit.test_image_support import add_image, busybox_like_layer, digest, file, new_store, tar_bytes

BASE = busybox_like_layer()
APP = tar_bytes([file("app", b"app")])
MORE = tar_bytes([file("more", b"more")])
CID = "c0ffee" + "0" * 58

HISTORY_ITEM = {
    "type": "object",
    "required": ["Id", "Created", "CreatedBy", "Tags", "Size", "Comment"],
    "properties": {
        "Id": {"type": "string"},
        "Created": {"type": "integer"},
        "CreatedBy": {"type": "string"},
        "Tags": {"type": "array", "items": {"type": "string"}},
        "Size": {"type": "integer"},
        "Comment": {"type": "string"},
    },
}
PRUNE_RESPONSE = {
    "type": "object",
    "properties": {
        "ImagesDeleted": {"type": "array", "items": {"$ref": "#/definitions/ImageDeleteResponseItem"}},
        "SpaceReclaimed": {"type": "integer"},
    },
}
DELETE_RESPONSE = {"type": "array", "items": {"$ref": "#/definitions/ImageDeleteResponseItem"}}


class FakeUsage:
    def __init__(self) -> None:
        self.by_image: dict[str, list[tuple[str, bool]]] = {}

    def containers_using(self, image_id: str) -> list[tuple[str, bool]]:
        return list(self.by_image.get(image_id, []))


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return new_store(tmp_path)


@pytest.fixture
def usage() -> FakeUsage:
    return FakeUsage()


def rmi(
    store: ImageStore, usage: FakeUsage, name: str, force: bool = False, prune: bool = True
) -> list[dict[str, str]]:
    records = delete_image(store, RecordingEventSink(), usage, name, force, prune)
    validate(records, DELETE_RESPONSE)
    return records


# -- rmi ------------------------------------------------------------------------------------


def test_untagging_one_of_several_tags_keeps_the_image(store: ImageStore, usage: FakeUsage) -> None:
    iid = add_image(store, [BASE], tags=["busybox", "bb:1"])
    assert rmi(store, usage, "busybox") == [{"Untagged": "busybox:latest"}]
    assert store.get(iid).repo_tags == ["bb:1"]


def test_removing_the_last_tag_deletes_image_and_layers(store: ImageStore, usage: FakeUsage) -> None:
    iid = add_image(store, [BASE, APP], tags=["app"])
    chains = chain_ids([digest(BASE), digest(APP)])
    sink = RecordingEventSink()
    records = delete_image(store, sink, usage, "app")
    assert records == [{"Untagged": "app:latest"}, {"Deleted": iid}, {"Deleted": chains[1]}, {"Deleted": chains[0]}]
    assert [e[0] for e in sink.events] == ["untag", "delete"]
    assert sink.events[1][1] == iid and sink.events[1][2] == {"name": iid}
    assert store.list() == [] and store.layers.chain_ids() == []
    assert list((store.root / "layers").iterdir()) == []


def test_a_container_blocks_removing_its_images_only_reference(store: ImageStore, usage: FakeUsage) -> None:
    iid = add_image(store, [BASE], tags=["busybox"])
    usage.by_image[iid] = [(CID, False)]
    with pytest.raises(Conflict) as exc:
        rmi(store, usage, "busybox")
    assert exc.value.message == (
        f'conflict: unable to remove repository reference "busybox" (must force) - container {CID[:12]} '
        f"is using its referenced image {short_id(iid)}"
    )
    # Force: untagged and deleted, but the layers stay for the container.
    assert rmi(store, usage, "busybox", force=True) == [{"Untagged": "busybox:latest"}, {"Deleted": iid}]
    assert store.layer_dirs(store.container_image(iid))
    assert store.layers.chain_ids() != []
    usage.by_image.clear()  # the container is removed: the next rmi collects what it held
    add_image(store, [APP], tags=["app"])
    rmi(store, usage, "app")
    assert store.layers.chain_ids() == []
    with pytest.raises(NotFound):
        store.container_image(iid)


def test_conflicts_by_id(store: ImageStore, usage: FakeUsage) -> None:
    iid = add_image(store, [BASE], tags=["busybox"])
    usage.by_image[iid] = [(CID, True)]
    for force in (False, True):
        with pytest.raises(Conflict) as exc:
            rmi(store, usage, iid, force=force)
        assert exc.value.message == (
            f"conflict: unable to delete {short_id(iid)} (cannot be forced) - image is being used by running "
            f"container {CID[:12]}"
        )
    usage.by_image[iid] = [(CID, False)]
    with pytest.raises(Conflict) as exc:
        rmi(store, usage, short_id(iid))
    assert exc.value.message == (
        f"conflict: unable to delete {short_id(iid)} (must be forced) - image is being used by stopped "
        f"container {CID[:12]}"
    )
    assert rmi(store, usage, short_id(iid), force=True) == [{"Untagged": "busybox:latest"}, {"Deleted": iid}]


def test_an_id_with_references_in_several_repositories(store: ImageStore, usage: FakeUsage) -> None:
    iid = add_image(store, [BASE], tags=["a", "b"])
    with pytest.raises(Conflict) as exc:
        rmi(store, usage, iid)
    assert exc.value.message == (
        f"conflict: unable to delete {short_id(iid)} (must be forced) - image is referenced in multiple repositories"
    )
    records = rmi(store, usage, iid, force=True)
    assert records[:3] == [{"Untagged": "a:latest"}, {"Untagged": "b:latest"}, {"Deleted": iid}]


def test_an_id_whose_references_are_one_repository_untags_them_all(store: ImageStore, usage: FakeUsage) -> None:
    iid = add_image(store, [BASE], tags=["a:1"])
    assert rmi(store, usage, iid)[:2] == [{"Untagged": "a:1"}, {"Deleted": iid}]


def test_child_images_block_deletion_and_parents_are_pruned(store: ImageStore, usage: FakeUsage) -> None:
    parent = add_image(store, [BASE])
    child = add_image(store, [BASE, APP], tags=["child"], parent=parent)
    with pytest.raises(Conflict, match=r"\(cannot be forced\) - image has dependent child images"):
        rmi(store, usage, parent, force=True)
    deleted = [r["Deleted"] for r in rmi(store, usage, "child") if "Deleted" in r]
    assert deleted[:2] == [child, chain_ids([digest(BASE), digest(APP)])[1]]
    assert parent in deleted  # the untagged parent went too
    assert store.list() == []


def test_noprune_keeps_untagged_parents(store: ImageStore, usage: FakeUsage) -> None:
    parent = add_image(store, [BASE])
    add_image(store, [BASE, APP], tags=["child"], parent=parent)
    rmi(store, usage, "child", prune=False)
    assert [i.id for i in store.list()] == [parent]


def test_tagged_or_used_parents_are_kept_quietly(store: ImageStore, usage: FakeUsage) -> None:
    parent = add_image(store, [BASE], tags=["base"])
    add_image(store, [BASE, APP], tags=["child"], parent=parent)
    rmi(store, usage, "child")
    assert store.get("base").id == parent


def test_rmi_errors(store: ImageStore, usage: FakeUsage) -> None:
    with pytest.raises(InvalidParameter, match="image name cannot be blank"):
        rmi(store, usage, " ")
    with pytest.raises(NotFound, match="No such image: nosuch:latest"):
        rmi(store, usage, "nosuch")


# -- prune ----------------------------------------------------------------------------------


def prune(store: ImageStore, usage: FakeUsage, **filters: list[str]) -> dict[str, Any]:
    report = prune_images(store, RecordingEventSink(), usage, {k.replace("_", "!"): v for k, v in filters.items()})
    validate(report, PRUNE_RESPONSE)
    return report


def test_prune_dangling_only_by_default(store: ImageStore, usage: FakeUsage) -> None:
    tagged = add_image(store, [BASE], tags=["keep"])
    dangling = add_image(store, [APP])
    used = add_image(store, [MORE])
    usage.by_image[used] = [(CID, False)]
    app_chain = chain_ids([digest(APP)])[0]
    app_size = store.layer(app_chain).size
    report = prune(store, usage)
    assert report["ImagesDeleted"] == [{"Deleted": dangling}, {"Deleted": app_chain}]
    assert report["SpaceReclaimed"] == app_size == 3
    assert sorted(i.id for i in store.list()) == sorted([tagged, used])


def test_prune_all_removes_every_unused_image(store: ImageStore, usage: FakeUsage) -> None:
    add_image(store, [BASE], tags=["a"])
    add_image(store, [APP], tags=["b", "c"])
    used = add_image(store, [MORE], tags=["used"])
    usage.by_image[used] = [(CID, True)]
    report = prune(store, usage, dangling=["false"])
    untagged = sorted(r["Untagged"] for r in report["ImagesDeleted"] if "Untagged" in r)
    assert untagged == ["a:latest", "b:latest", "c:latest"]
    assert [i.id for i in store.list()] == [used]


def test_prune_filters(store: ImageStore, usage: FakeUsage) -> None:
    old = add_image(store, [BASE], created="2020-01-01T00:00:00Z", labels={"tier": "x"})
    new = add_image(store, [APP], created="2024-01-01T00:00:00Z", labels={"tier": "y"})
    assert prune(store, usage, label=["tier=z"])["ImagesDeleted"] == []
    assert prune(store, usage, label_=["tier=x"], until=["2030-01-01"])["ImagesDeleted"][0]["Deleted"] == new
    assert prune(store, usage, until=["2021-01-01"])["ImagesDeleted"][0]["Deleted"] == old
    with pytest.raises(InvalidParameter, match="invalid filter 'reference'"):
        prune(store, usage, reference=["x"])
    with pytest.raises(InvalidParameter, match="more than one until filter specified"):
        prune(store, usage, until=["1h", "2h"])
    with pytest.raises(InvalidParameter, match="invalid value for 'until' filter"):
        prune(store, usage, until=["2020-99-99"])


# -- images (list) --------------------------------------------------------------------------


def names(items: list[dict[str, Any]]) -> list[str]:
    return [t for i in items for t in (i["RepoTags"] or [i["Id"]])]


def listing(
    store: ImageStore, usage: FakeUsage, all_images: bool = False, **filters: list[str]
) -> list[dict[str, Any]]:
    items = list_images(store, usage, filters, all_images)
    validate(items, {"type": "array", "items": {"$ref": "#/definitions/ImageSummary"}})
    return items


def test_list_shape_order_and_counts(store: ImageStore, usage: FakeUsage) -> None:
    old = add_image(store, [BASE], tags=["old"], created="2020-01-01T00:00:00Z", labels={"a": "1"})
    new = add_image(store, [APP], tags=["new"], created="2024-01-01T00:00:00Z")
    usage.by_image[old] = [(CID, False), ("d" * 64, True)]
    items = listing(store, usage)
    assert [i["Id"] for i in items] == [new, old]
    first = items[1]
    assert first == {
        "Containers": 2,
        "Created": 1577836800,
        "Id": old,
        "Labels": {"a": "1"},
        "ParentId": "",
        "RepoDigests": [],
        "RepoTags": ["old:latest"],
        "SharedSize": -1,
        "Size": store.get(old).size,
    }


def test_untagged_parents_only_with_all(store: ImageStore, usage: FakeUsage) -> None:
    parent = add_image(store, [BASE])
    child = add_image(store, [BASE, APP], tags=["child"], parent=parent)
    lone = add_image(store, [MORE])
    assert sorted(i["Id"] for i in listing(store, usage)) == sorted([child, lone])
    assert sorted(i["Id"] for i in listing(store, usage, all_images=True)) == sorted([parent, child, lone])
    assert [i["Id"] for i in listing(store, usage, dangling=["true"])] == [lone]
    assert [i["Id"] for i in listing(store, usage, dangling=["false"])] == [child]
    with pytest.raises(InvalidParameter, match=r"invalid filter 'dangling=\[maybe\]'"):
        listing(store, usage, dangling=["maybe"])


def test_reference_filter(store: ImageStore, usage: FakeUsage) -> None:
    add_image(store, [BASE], tags=["busybox:1", "busybox:2", "localhost:5000/tools/bb:1"])
    add_image(store, [APP], tags=["app"])
    add_image(store, [MORE])
    assert names(listing(store, usage, reference=["busybox"])) == ["busybox:1", "busybox:2"]
    assert names(listing(store, usage, reference=["busybox:2"])) == ["busybox:2"]
    assert names(listing(store, usage, reference=["*:1"])) == ["busybox:1"]
    assert names(listing(store, usage, reference=["localhost:5000/*/*"])) == ["localhost:5000/tools/bb:1"]
    assert names(listing(store, usage, reference=["docker.io/library/app"])) == ["app:latest"]
    assert listing(store, usage, reference=["nothing*"]) == []


def test_time_and_label_filters(store: ImageStore, usage: FakeUsage) -> None:
    a = add_image(store, [BASE], tags=["a"], created="2020-01-01T00:00:00Z", labels={"k": "v"})
    b = add_image(store, [APP], tags=["b"], created="2022-01-01T00:00:00Z", labels={"k": "w", "x": ""})
    c = add_image(store, [MORE], tags=["c"], created="2024-01-01T00:00:00Z")

    def ids(**f: list[str]) -> list[str]:
        return sorted(i["Id"] for i in listing(store, usage, False, **f))

    assert ids(before=["b"]) == [a]
    assert ids(since=["a"]) == sorted([b, c])
    assert ids(until=["2023-01-01"]) == sorted([a, b])
    assert ids(label=["k"]) == sorted([a, b])
    assert ids(label=["k=w"]) == [b]
    assert ids(label=["k=w", "x"]) == [b]
    with pytest.raises(NotFound):
        ids(before=["nosuch"])
    with pytest.raises(InvalidParameter, match="invalid filter 'bogus'"):
        ids(bogus=["1"])


def test_shared_size(store: ImageStore, usage: FakeUsage) -> None:
    add_image(store, [BASE, APP], tags=["one"])
    add_image(store, [BASE, MORE], tags=["two"])
    add_image(store, [MORE], tags=["alone"])
    items = {i["RepoTags"][0]: i for i in list_images(store, usage, {}, shared_size=True)}
    base_size = store.layer(chain_ids([digest(BASE)])[0]).size
    assert items["one:latest"]["SharedSize"] == base_size
    assert items["alone:latest"]["SharedSize"] == 0


# -- inspect, history, tag ------------------------------------------------------------------


def test_inspect_shape(store: ImageStore) -> None:
    iid = add_image(store, [BASE, APP], tags=["app"], labels={"l": "1"})
    data = inspect_image(store, "app")
    body = data.response
    validate(body, "ImageInspect")
    assert body["Id"] == iid and body["RepoTags"] == ["app:latest"] and body["RepoDigests"] == []
    assert body["Created"] == "2024-01-02T03:04:05Z"
    assert body["Config"] == {"Cmd": ["sh"], "Env": ["PATH=/bin"], "Labels": {"l": "1"}}
    assert body["RootFS"] == {"Type": "layers", "Layers": [digest(BASE), digest(APP)]}
    assert body["GraphDriver"]["Name"] == "overlay2"
    dirs = store.layer_dirs(store.get(iid))
    assert body["GraphDriver"]["Data"] == {"UpperDir": dirs[0], "LowerDir": dirs[1]}
    assert body["Metadata"]["LastTagTime"] == "2024-05-06T07:08:09Z"
    assert body["Size"] == store.get(iid).size
    assert data.container_config["Hostname"] == ""


def test_inspect_of_a_never_tagged_image(store: ImageStore) -> None:
    iid = add_image(store, [BASE])
    body = inspect_image(store, iid).response
    validate(body, "ImageInspect")
    assert body["Metadata"]["LastTagTime"] == ZERO_TIME
    assert body["RepoTags"] == []


def test_history_newest_first_with_ids_and_tags(store: ImageStore) -> None:
    parent = add_image(store, [BASE], tags=["base"])
    child = add_image(store, [BASE, APP], tags=["child"], parent=parent)
    items = image_history(store, "child")
    validate(items, {"type": "array", "items": HISTORY_ITEM})
    assert [i["Id"] for i in items] == [child, parent]
    assert [i["Tags"] for i in items] == [["child:latest"], ["base:latest"]]
    assert [i["CreatedBy"] for i in items] == ["layer 1", "layer 0"]
    assert items[0]["Size"] == store.layer(chain_ids([digest(BASE), digest(APP)])[1]).size
    assert items[0]["Created"] == 1704164645
    lone = image_history(store, add_image(store, [MORE, APP]))
    assert [i["Id"] for i in lone][1:] == ["<missing>"]


def test_tag(store: ImageStore) -> None:
    iid = add_image(store, [BASE])
    sink = RecordingEventSink()
    assert tag_image(store, sink, iid[7:19], parse_tag_request("localhost:5000/x", "v1")) == iid
    assert store.get("localhost:5000/x:v1").id == iid
    assert sink.events == [("tag", iid, {"name": "localhost:5000/x:v1"})]
    assert store.last_tag_time(iid) != ""
    with pytest.raises(NotFound):
        tag_image(store, sink, "nosuch", parse_tag_request("x", ""))
    with pytest.raises(NotFound):  # dockerd answers a bad source name with 404 too
        tag_image(store, sink, "Bad", parse_tag_request("x", ""))
    with pytest.raises(InvalidParameter, match="invalid tag format"):
        parse_tag_request("x", "bad tag")
    with pytest.raises(InvalidParameter, match="must be lowercase"):
        parse_tag_request("Upper", "")
    with pytest.raises(InvalidParameter, match="ambiguous tag using digest algorithm as name"):
        parse_tag_request("sha256", "x")
