"""`docker save`: write images (with their layers and tags) as one tar archive.

    images = plan_save(store, ["busybox", "sha256:…"])    # resolves names, raises before any output
    save_images(store, sink, images, out)                  # streams the tar to `out`

Names follow dockerd's parseNames: an ID or digest saves that image untagged; a bare repository
name saves every tag of that repository; name:tag saves that tag ("reference does not exist"
when it is not there).
"""

from __future__ import annotations

from sangja.daemon.image_events import ImageEventSink, emit_image_event
from sangja.errors import NotFound, NotImplementedYet
from sangja.image.archive import SaveImage, Writable, write_save_archive
from sangja.image.ids import search_ids
from sangja.image.reference import Reference, parse_any_reference
from sangja.image.store import ImageStore


def plan_save(store: ImageStore, names: list[str]) -> list[SaveImage]:
    """The images (and tags) to save. NotFound/InvalidParameter with dockerd's messages."""
    chosen: dict[str, list[Reference]] = {}

    def add(image_id: str, ref: Reference | None) -> None:
        refs = chosen.setdefault(image_id, [])
        if ref is None or (ref.digest and not ref.tag):
            return
        tagged = ref.tag_name_only()
        if tagged.digest:
            return
        if all(str(r) != str(tagged) for r in refs):
            refs.append(tagged)

    def by_id(term: str) -> str:
        found = search_ids(store.ids(), term)
        if found is None:
            raise NotFound(f"No such image: {term}")
        return found

    for name in names:
        parsed = parse_any_reference(name)
        if isinstance(parsed, str):
            if not store.exists(parsed):
                raise NotFound(f"No such image: {parsed}")
            add(parsed, None)
        elif parsed.familiar_name == "sha256":
            add(by_id(name), None)
        elif parsed.name_only:
            pairs = store.references_by_name(parsed)
            for ref, image_id in pairs:
                add(image_id, ref)
            if not pairs:
                add(by_id(name), None)
        else:
            found = store.lookup_reference(parsed)
            if found is None:
                raise NotFound("reference does not exist")
            add(found, parsed)

    images = []
    for image_id, refs in chosen.items():
        created = store.created(image_id)
        chains = store.chains(image_id)
        if not chains:
            raise NotImplementedYet("empty export - not implemented")
        parent = store.parent(image_id)
        images.append(
            SaveImage(
                image_id=image_id,
                config=store.config_bytes(image_id),
                created=created.unix if created is not None else 0,
                layers=[(store.layer(c).diff_id, store.layer(c).tar_size) for c in chains],
                repo_tags=refs,
                parent=parent if parent in chosen else "",
            )
        )
    return images


def save_images(store: ImageStore, sink: ImageEventSink, images: list[SaveImage], out: Writable) -> None:
    chain_of_diff: dict[str, str] = {}
    for img in images:
        for chain in store.chains(img.image_id):
            chain_of_diff.setdefault(store.layer(chain).diff_id, chain)
    with store.pinned(chain_of_diff.values()):
        write_save_archive(out, images, lambda diff_id: store.layers.tar_reader(chain_of_diff[diff_id]))
    for img in images:
        emit_image_event(sink, store, "save", img.image_id, img.image_id)
