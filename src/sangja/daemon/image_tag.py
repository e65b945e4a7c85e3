"""`docker tag` (POST /images/{name}/tag?repo=&tag=), as moby's postImagesTag + TagImage."""

from __future__ import annotations

from sangja.daemon.image_events import ImageEventSink, emit_image_event
from sangja.errors import InvalidParameter, NotFound
from sangja.image.reference import Reference, repo_tag_reference
from sangja.image.store import ImageStore
from sangja.image.timeutil import now


def parse_tag_request(repo: str, tag: str) -> Reference:
    """The new reference; InvalidParameter with dockerd's messages."""
    ref = repo_tag_reference(repo, tag)
    if ref is None:
        raise InvalidParameter("repository name must have at least one component")
    if ref.familiar_name == "sha256":
        raise InvalidParameter("refusing to create an ambiguous tag using digest algorithm as name")
    return ref


def tag_image(store: ImageStore, sink: ImageEventSink, name: str, ref: Reference) -> str:
    """Point `ref` at the image `name` names (replacing any previous target). Returns its ID."""
    with store.lock:
        try:
            image_id = store.resolve(name)
        except InvalidParameter as exc:
            # moby answers any lookup failure of the source image with 404.
            raise NotFound(exc.message) from None
        store.add_reference(ref, image_id, force=True, touch=now().rfc3339_nano())
    emit_image_event(sink, store, "tag", image_id, ref.familiar())
    return image_id
