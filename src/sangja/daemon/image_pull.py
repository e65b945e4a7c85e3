"""`docker pull` (POST /images/create?fromImage=…): fetch an image from a registry.

    ref = pull_reference(from_image, tag)
    image_id = await pull_image(store, sink, ref, creds, platform, progress, opts)

The manifest (or the host platform's entry of an index) and the config are fetched first;
then the layers the store lacks are downloaded concurrently (opts.max_concurrent_downloads),
each verified against its digest while it streams to the ingest directory, and registered in
order, bottom first. The progress messages are dockerd's (WIRE-NOTES §4), keyed by the short
blob digest, so the docker CLI draws its bars. Nothing partial is stored: downloads live in
ingest/ until verified, layers are registered atomically, and the image record comes last.
The compressed blob of each new layer is kept beside it (distribution/layerblobs.py) so a
later push sends it as it is.
"""

from __future__ import annotations

import asyncio
import errno
import logging

from sangja.daemon import layer_flush
from sangja.daemon.image_events import ImageEventSink, emit_image_event
from sangja.daemon.image_pull_layers import PullLayer, fetch_layers
from sangja.daemon.registry_session import (
    Progress,
    RegistryOptions,
    open_session,
    pull_endpoints,
    pull_error,
    repository,
)
from sangja.distribution.auth import Credentials
from sangja.distribution.client import Repository
from sangja.distribution.manifest import (
    DOCKER_FOREIGN_LAYER,
    Index,
    Manifest,
    host_platform,
    parse,
    parse_platform,
    select,
)
from sangja.errors import Forbidden, InvalidParameter, SangjaError, System
from sangja.image.ids import chain_ids, short_id
from sangja.image.reference import Reference, is_digest, parse_normalized_named
from sangja.image.store import ImageStore, diff_ids_of, validate_config

log = logging.getLogger(__name__)



def pull_reference(from_image: str, tag: str) -> Reference:
    """The reference a pull request names (moby's postImagesCreate); a bare name means :latest."""
    # "pull -a" may send the name with a trailing ":".
    name = from_image[:-1] if from_image.endswith(":") else from_image
    ref = parse_normalized_named(name)
    if tag:
        ref = ref.trimmed().with_digest(tag) if is_digest(tag) else ref.with_tag(tag)
    if ref.familiar_name == "scratch":
        raise Forbidden("'scratch' is a reserved name")
    return ref.tag_name_only()


async def pull_image(store: ImageStore, sink: ImageEventSink, ref: Reference, creds: Credentials, platform: str,
                     progress: Progress, opts: RegistryOptions) -> str:
    want = parse_platform(platform) if platform else host_platform()
    *mirrors, (origin, _) = pull_endpoints(ref.domain, opts)
    async with open_session() as session:
        # docker.io's mirrors first: any failure there falls back to the next one, then to the
        # origin (moby's continueOnError for mirror endpoints). What a failed attempt stored is
        # only verified, complete layers, which the next attempt finds as "Already exists".
        for where, _ in mirrors:
            try:
                return await _pull(store, sink, repository(session, ref, creds, opts, at=where), ref, want, progress,
                                   opts)
            except (SangjaError, OSError) as exc:
                if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
                    raise _translate(exc, ref) from None
                log.info("pulling %s from mirror %s failed, trying the next endpoint: %s", ref.familiar(),
                         where.base_url, exc)
        try:
            return await _pull(store, sink, repository(session, ref, creds, opts, at=origin), ref, want, progress,
                               opts)
        except (SangjaError, OSError) as exc:
            raise _translate(exc, ref) from None


def _translate(exc: SangjaError | OSError, ref: Reference) -> SangjaError:
    if isinstance(exc, SangjaError):
        return pull_error(exc, ref)
    if exc.errno == errno.ENOSPC:
        return System(f"failed to register layer: write {exc.filename or ''}: no space left on device")
    return System(f"error pulling {ref.familiar()}: {exc}")


async def _pull(store: ImageStore, sink: ImageEventSink, repo: Repository, ref: Reference, want: dict[str, str],
                progress: Progress, opts: RegistryOptions) -> str:
    raw, ctype, digest = await repo.get_manifest(ref.digest or ref.tag)
    # After the manifest, as dockerd: a missing tag is an error answer, not a started stream.
    progress.send({"status": f"Pulling from {ref.path}", "id": ref.tag or ref.digest})
    manifest = parse(raw, ctype)
    if isinstance(manifest, Index):
        entry = select(manifest, want)
        raw, ctype, _ = await repo.get_manifest(entry.digest)
        manifest = parse(raw, ctype)
        if isinstance(manifest, Index):
            raise InvalidParameter("invalid index: an entry is itself an index")
    assert isinstance(manifest, Manifest)
    config_raw = await repo.get_blob_bytes(manifest.config.digest)
    config = validate_config(config_raw)
    diff_ids = diff_ids_of(config)
    if len(diff_ids) != len(manifest.layers):
        raise InvalidParameter("layers from manifest don't match image configuration")
    for d in manifest.layers:
        if d.media_type == DOCKER_FOREIGN_LAYER:
            raise InvalidParameter("foreign layers are not supported")
    chains = chain_ids(diff_ids)
    layers = [PullLayer(d, diff_ids[i], chains[i], chains[i - 1] if i else "", short_id(d.digest))
              for i, d in enumerate(manifest.layers)]
    with store.pinned(chains):
        missing = [x for x in layers if not store.layers.exists(x.chain)]
        for x in layers:
            progress.send({"status": "Already exists" if x not in missing else "Pulling fs layer",
                           "progressDetail": {}, "id": x.ident})
        unflushed = await fetch_layers(store, repo, missing, progress, opts)
        try:
            image_id = await asyncio.to_thread(store.create, config_raw)
            return await asyncio.to_thread(_tag, store, sink, ref, image_id, digest, progress)
        finally:
            if unflushed:
                # Only now: the image record's fsyncs would otherwise wait behind this flush.
                layer_flush.settle_soon(store.layers, unflushed)


def _tag(store: ImageStore, sink: ImageEventSink, ref: Reference, image_id: str, digest: str,
         progress: Progress) -> str:
    digest_ref = ref.trimmed().with_digest(digest)
    before = store.lookup_reference(ref)
    had_digest = store.lookup_reference(digest_ref) == image_id
    store.add_reference(digest_ref, image_id, force=True)
    if ref.tag:
        store.add_reference(ref, image_id, force=True)
    progress.send_threadsafe({"status": f"Digest: {digest}"})
    up_to_date = before == image_id if ref.tag else had_digest
    word = "Image is up to date for" if up_to_date else "Downloaded newer image for"
    progress.send_threadsafe({"status": f"Status: {word} {ref.familiar()}"})
    emit_image_event(sink, store, "pull", image_id, ref.familiar())
    return image_id
