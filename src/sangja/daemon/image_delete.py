"""`docker rmi` (DELETE /images/{name}), following moby's daemon/images/image_delete.go.

A repository reference is untagged first; the image itself is deleted only when no reference
is left. An ID deletes the image (and its references, when they are all in one repository).
Conflicts:
    hard (never forced)   a child image; a running container using the image
    soft (force = yes)    a stopped container using the image; other references
With `prune` (the default), untagged parents are then deleted quietly. A force-deleted image
that stopped containers still use keeps its layers for them (ImageStore.container_image).
"""

from __future__ import annotations

from sangja.daemon.image_events import ImageEventSink, emit_image_event
from sangja.daemon.image_usage import ImageUsage
from sangja.errors import Conflict, InvalidParameter
from sangja.image.ids import is_id_prefix, short_id
from sangja.image.reference import Reference, parse_normalized_named
from sangja.image.store import ImageStore

CHILD = 1
RUNNING = 2
ACTIVE_REFERENCE = 4
STOPPED = 8
HARD = CHILD | RUNNING
SOFT = ACTIVE_REFERENCE | STOPPED

Records = list[dict[str, str]]


class DeleteConflict(Conflict):
    def __init__(self, image_id: str, hard: bool, used: bool, reason: str) -> None:
        forced = "cannot be forced" if hard else "must be forced"
        super().__init__(f"conflict: unable to delete {short_id(image_id)} ({forced}) - {reason}")
        self.hard = hard
        self.used = used


def is_single_reference(refs: list[Reference]) -> bool:
    """All references in one repository, with at most one tag (moby's isSingleReference)."""
    if len(refs) <= 1:
        return len(refs) == 1
    single: Reference | None = None
    digest_names: set[str] = set()
    for ref in refs:
        if ref.digest:
            digest_names.add(ref.name)
        elif single is None:
            single = ref
        else:
            return False
    if single is None:
        single = refs[0]
    return len(digest_names) == 1 and single.name in digest_names


def check_conflict(store: ImageStore, usage: ImageUsage, image_id: str, mask: int) -> DeleteConflict | None:
    if mask & CHILD and store.children(image_id):
        return DeleteConflict(image_id, True, False, "image has dependent child images")
    users = usage.containers_using(image_id)
    running = [c for c, up in users if up]
    if mask & RUNNING and running:
        return DeleteConflict(image_id, True, True, f"image is being used by running container {short_id(running[0])}")
    if mask & ACTIVE_REFERENCE and store.references(image_id):
        return DeleteConflict(image_id, False, False, "image is referenced in multiple repositories")
    stopped = [c for c, up in users if not up]
    if mask & STOPPED and stopped:
        return DeleteConflict(image_id, False, True, f"image is being used by stopped container {short_id(stopped[0])}")
    return None


def _untag(store: ImageStore, sink: ImageEventSink, image_id: str, ref: Reference, records: Records) -> None:
    ref = ref.tag_name_only()
    store.remove_reference(ref)
    emit_image_event(sink, store, "untag", image_id, image_id)
    records.append({"Untagged": ref.familiar()})


def delete_image(
    store: ImageStore, sink: ImageEventSink, usage: ImageUsage, name: str, force: bool = False, prune: bool = True
) -> Records:
    """Untag and/or delete; returns the Untagged/Deleted records in dockerd's order."""
    if not name.strip():
        raise InvalidParameter("image name cannot be blank")
    records: Records = []
    with store.lock:
        store.release_retained(lambda iid: bool(usage.containers_using(iid)))
        image_id = store.resolve(name)
        refs = store.references(image_id)
        removed_repository_ref = False
        if not is_id_prefix(image_id, name):
            if not force and is_single_reference(refs):
                users = usage.containers_using(image_id)
                if users:
                    raise Conflict(
                        f'conflict: unable to remove repository reference "{name}" (must force) - container '
                        f"{short_id(users[0][0])} is using its referenced image {short_id(image_id)}"
                    )
            parsed = parse_normalized_named(name).tag_name_only()
            _untag(store, sink, image_id, parsed, records)
            refs = store.references(image_id)
            if not parsed.digest and not any(not r.digest and r.name == parsed.name for r in refs):
                # The last tag of this repository went: its digest references go with it.
                for ref in [r for r in refs if r.digest and r.name == parsed.name]:
                    store.remove_reference(ref)
                    records.append({"Untagged": ref.familiar()})
                refs = store.references(image_id)
            if refs:
                return records
            removed_repository_ref = True
        elif is_single_reference(refs):
            conflict = check_conflict(store, usage, image_id, HARD | (0 if force else STOPPED))
            if conflict is not None:
                raise conflict
            for ref in refs:
                _untag(store, sink, image_id, ref, records)
        _delete(store, sink, usage, image_id, records, force, prune, quiet=removed_repository_ref)
    store.empty_trash()
    return records


def _is_dangling(store: ImageStore, image_id: str) -> bool:
    return not store.references(image_id) and not store.children(image_id)


def _delete(
    store: ImageStore,
    sink: ImageEventSink,
    usage: ImageUsage,
    image_id: str,
    records: Records,
    force: bool,
    prune: bool,
    quiet: bool,
) -> None:
    for _ in range(10_000):  # one step per ancestor; bounded against a corrupt parent cycle
        conflict = check_conflict(store, usage, image_id, HARD | (0 if force else SOFT))
        if conflict is not None:
            if quiet and (not _is_dangling(store, image_id) or conflict.used):
                return
            raise conflict
        parent = store.parent(image_id)
        for ref in store.references(image_id):
            _untag(store, sink, image_id, ref, records)
        in_use = bool(usage.containers_using(image_id))
        removed = store.delete(image_id, retain_layers=in_use)
        emit_image_event(sink, store, "delete", image_id, image_id, labels={})
        records.append({"Deleted": image_id})
        records.extend({"Deleted": chain} for chain in removed)
        if not prune or not parent or not store.exists(parent):
            return
        image_id, force, prune, quiet = parent, False, True, True
