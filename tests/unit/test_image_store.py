"""The image store: lookup, references, layer sharing and collection, restart and crash recovery."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sangja.errors import Conflict, InvalidParameter, NotFound
from sangja.image.ids import chain_ids, hex_of
from sangja.image.reference import parse_normalized_named
from tests.unit.test_image_support import (
    add_image,
    busybox_like_layer,
    digest,
    file,
    make_config,
    new_store,
    tar_bytes,
)

BASE = busybox_like_layer()
APP = tar_bytes([file("app/main", b"print('hi')")])
OTHER = tar_bytes([file("other", b"o")])


def ref(s: str):  # type: ignore[no-untyped-def]
    return parse_normalized_named(s)


def test_get_by_every_kind_of_name(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    iid = add_image(store, [BASE], tags=["busybox", "localhost:5000/bb:1"])
    hexid = hex_of(iid)
    for name in ("busybox", "busybox:latest", "docker.io/library/busybox:latest", "library/busybox",
                 "localhost:5000/bb:1", iid, hexid, hexid[:12], hexid[:3], "sha256:" + hexid[:12]):
        assert store.get(name).id == iid, name
    image = store.get("busybox")
    assert image.repo_tags == ["busybox:latest", "localhost:5000/bb:1"]
    assert image.repo_digests == []
    assert image.config["rootfs"]["diff_ids"] == [digest(BASE)]
    assert image.created == "2024-01-02T03:04:05Z"
    assert image.size > 0 and image.parent == ""


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("nosuch", "No such image: nosuch:latest"),
        ("nosuch:1", "No such image: nosuch:1"),
        ("localhost:5000/x", "No such image: localhost:5000/x:latest"),
        ("sha256:" + "e" * 64, "No such image: sha256:" + "e" * 64),
        ("e" * 64, "No such image: sha256:" + "e" * 64),
    ],
)
def test_not_found_messages_are_dockers(tmp_path: Path, name: str, message: str) -> None:
    store = new_store(tmp_path)
    add_image(store, [BASE], tags=["busybox"])
    with pytest.raises(NotFound) as exc:
        store.get(name)
    assert exc.value.message == message


def test_invalid_names_are_invalid_parameters(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    with pytest.raises(InvalidParameter, match="must be lowercase"):
        store.get("Busybox")
    with pytest.raises(InvalidParameter, match="invalid reference format"):
        store.get("a b")


def test_a_tag_wins_over_an_id_prefix_and_ambiguous_prefixes_find_nothing(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    first = add_image(store, [BASE])
    second = add_image(store, [APP])
    named = hex_of(second)[:6]
    store.add_reference(ref(named), first)
    assert store.get(named).id == first
    common = ""
    for a, b in zip(hex_of(first), hex_of(second), strict=True):
        if a != b:
            break
        common += a
    if common:  # IDs sharing a prefix (rare): that prefix names no single image
        with pytest.raises(NotFound):
            store.resolve(common)


def test_layer_dirs_are_top_first_and_shared_layers_unpacked_once(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    one = store.get(add_image(store, [BASE, APP], tags=["app"]))
    two = store.get(add_image(store, [BASE, OTHER], tags=["other"]))
    dirs_one, dirs_two = store.layer_dirs(one), store.layer_dirs(two)
    chains = chain_ids([digest(BASE), digest(APP)])
    assert dirs_one == [str(store.layers.diff_dir(c)) for c in reversed(chains)]
    assert dirs_one[-1] == dirs_two[-1]  # the base layer, shared
    assert Path(dirs_one[0], "app", "main").read_bytes() == b"print('hi')"
    assert len(store.layers.chain_ids()) == 3
    assert all(Path(d).is_absolute() for d in dirs_one)


def test_an_image_without_layers_has_no_lower_dirs(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    iid = store.create(make_config([]))
    assert store.layer_dirs(store.get(iid)) == []


def test_references_tag_untag_and_conflicts(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    a = add_image(store, [BASE], tags=["busybox"])
    b = add_image(store, [APP])
    assert store.add_reference(ref("busybox"), b) == a  # force moves the tag
    assert store.get("busybox").id == b and store.get(a).repo_tags == []
    with pytest.raises(Conflict, match=f"tag busybox:latest is already set to image {b}"):
        store.add_reference(ref("busybox"), a, force=False)
    digested = ref("busybox@sha256:" + "1" * 64)
    store.add_reference(digested, a)
    assert store.get(a).repo_digests == ["busybox@sha256:" + "1" * 64]
    with pytest.raises(Conflict, match="cannot overwrite digest"):
        store.add_reference(digested, b)
    with pytest.raises(InvalidParameter, match="ambiguous tag using digest algorithm as name"):
        store.add_reference(ref("sha256:1"), a)
    assert store.remove_reference(ref("busybox")) == b
    assert store.remove_reference(ref("busybox")) is None
    with pytest.raises(NotFound):
        store.add_reference(ref("x"), "sha256:" + "9" * 64)


def test_create_checks_the_config(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    with pytest.raises(InvalidParameter, match="no RootFS key"):
        store.create(b'{"os":"linux"}')
    with pytest.raises(InvalidParameter, match='image operating system "windows" cannot be used on this platform'):
        store.create(make_config([], os_name="windows"))
    with pytest.raises(InvalidParameter, match="layer does not exist"):
        store.create(make_config([BASE]))
    with pytest.raises(InvalidParameter, match="too many non-empty layers"):
        store.create(make_config([], history=[{"created_by": "x"}]))
    with pytest.raises(InvalidParameter, match="invalid image config"):
        store.create(b"not json")
    assert store.list() == []


def test_delete_collects_only_unshared_layers_upper_first(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    one = add_image(store, [BASE, APP, OTHER], tags=["one"])
    add_image(store, [BASE], tags=["base"])
    store.remove_reference(ref("one"))
    removed = store.delete(one)
    store.empty_trash()
    chains = chain_ids([digest(BASE), digest(APP), digest(OTHER)])
    assert removed == [chains[2], chains[1]]
    assert sorted(store.layers.chain_ids()) == [chains[0]]
    assert list((tmp_path / "layers").iterdir()) == [tmp_path / "layers" / hex_of(chains[0])]
    assert not store.exists(one) and not store.blobs.exists(one)


def test_children_lose_their_parent_when_it_goes(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    parent = add_image(store, [BASE])
    child = add_image(store, [BASE, APP], parent=parent)
    assert store.children(parent) == [child] and store.parent(child) == parent
    store.delete(parent)
    assert store.parent(child) == ""


def test_retained_layers_serve_containers_of_a_deleted_image(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    iid = add_image(store, [BASE, APP])
    dirs = store.layer_dirs(store.get(iid))
    assert store.delete(iid, retain_layers=True) == []
    with pytest.raises(NotFound):
        store.get(iid)
    kept = store.container_image(iid)
    assert store.layer_dirs(kept) == dirs and all(Path(d).is_dir() for d in dirs)
    assert store.release_retained(lambda i: True) == []
    restarted = new_store(tmp_path)  # the retention survives a restart
    assert restarted.container_image(iid).id == iid
    removed = restarted.release_retained(lambda i: False)
    restarted.empty_trash()
    assert len(removed) == 2 and restarted.layers.chain_ids() == []
    with pytest.raises(NotFound):
        restarted.container_image(iid)


def test_pinned_layers_survive_collection(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    iid = add_image(store, [BASE])
    chain = chain_ids([digest(BASE)])[0]
    with store.pinned([chain]):
        assert store.delete(iid) == []
        assert store.layers.exists(chain)
    other = add_image(store, [APP])
    assert chain in store.delete(other)  # collected at the next chance once unpinned


def test_everything_survives_a_restart(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    parent = add_image(store, [BASE], tags=["base"])
    child = add_image(store, [BASE, APP], tags=["app:1", "app:2"], parent=parent)
    again = new_store(tmp_path)
    assert sorted(i.id for i in again.list()) == sorted([parent, child])
    assert again.get("app:2").repo_tags == ["app:1", "app:2"]
    assert again.parent(child) == parent
    assert again.last_tag_time(child) == "2024-05-06T07:08:09Z"
    assert again.layer_dirs(again.get(child)) == store.layer_dirs(store.get(child))


def test_recovery_after_a_crash_at_any_step(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    keep = add_image(store, [BASE], tags=["keep"])
    # A layer unpacked but its image never registered (crash before images/<id>.json):
    orphan = add_image(store, [APP])
    (tmp_path / "images" / f"{hex_of(orphan)}.json").unlink()
    # An image whose layer vanished (external damage): skipped, not listed half-made.
    broken = add_image(store, [OTHER], tags=["broken"])
    store.layers.remove(chain_ids([digest(OTHER)])[0])
    # Half-written temporary files of every kind:
    (tmp_path / "ingest" / "upload").write_bytes(b"partial body")
    (tmp_path / "layers" / ".tmp-1234" / "diff").mkdir(parents=True)
    (tmp_path / "images" / f".{hex_of(keep)}.json.5678.tmp").write_bytes(b"{")

    again = new_store(tmp_path)
    assert [i.id for i in again.list()] == [keep]
    assert again.get("keep").id == keep
    with pytest.raises(NotFound):
        again.get("broken")
    assert broken not in json.loads((tmp_path / "repositories.json").read_text())["Repositories"].get("broken", {})
    assert again.layers.chain_ids() == [chain_ids([digest(BASE)])[0]]
    assert list((tmp_path / "ingest").iterdir()) == []
    assert not (tmp_path / "layers" / ".tmp-1234").exists()
    assert not any(p.name.startswith(".") for p in (tmp_path / "images").iterdir())


def test_an_image_registered_but_not_yet_tagged_comes_back_untagged(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    iid = add_image(store, [BASE])  # crash between registration and tagging
    again = new_store(tmp_path)
    assert again.get(iid).repo_tags == []
