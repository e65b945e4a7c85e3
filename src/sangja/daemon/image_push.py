"""`docker push` (POST /images/{name}/push?tag=): send an image to a registry.

    await push_image(store, sink, name, tag, creds, progress, opts)

For each tag pushed (the given one, or every tag of the repository when none is given):
each layer's compressed blob (kept from the pull, or compressed once and kept:
distribution/layerblobs.py) is checked with HEAD ("Layer already exists"), mounted from
another repository of the same registry where it is known to be ("Mounted from x"), or
uploaded ("Pushed"), at most opts.max_concurrent_uploads at a time; then the config blob and
a Docker schema 2 manifest. The progress messages are dockerd's, ending with
"<tag>: digest: sha256:… size: N" and an aux message; the repository@digest reference is
recorded as a RepoDigest.
"""

from __future__ import annotations

import asyncio
import json

from sangja.daemon.image_events import ImageEventSink, emit_image_event
from sangja.daemon.image_load import progress_message
from sangja.daemon.registry_session import Progress, RegistryOptions, open_session, repository
from sangja.distribution import layerblobs
from sangja.distribution.auth import Credentials
from sangja.distribution.client import RegistryError, Repository
from sangja.distribution.manifest import DOCKER_CONFIG, DOCKER_LAYER, DOCKER_MANIFEST
from sangja.errors import NotFound, SangjaError, Unauthorized
from sangja.image.ids import sha256_digest, short_id
from sangja.image.reference import Reference, parse_normalized_named
from sangja.image.store import ImageStore

PROGRESS_EVERY = 512 * 1024


def push_targets(store: ImageStore, name: str, tag: str) -> list[Reference]:
    ref = parse_normalized_named(name)
    if tag:
        ref = ref.with_tag(tag)
    if ref.tag:
        if store.lookup_reference(ref) is None:
            raise NotFound(f"tag does not exist: {ref.familiar()}")
        return [ref]
    targets = sorted((r for r, _ in store.references_by_name(ref) if r.tag), key=lambda r: r.tag)
    if not targets:
        raise NotFound(f"An image does not exist locally with the tag: {ref.familiar_name}")
    return targets


async def push_image(store: ImageStore, sink: ImageEventSink, targets: list[Reference], creds: Credentials,
                     progress: Progress, opts: RegistryOptions) -> None:
    first = targets[0]
    progress.send({"status": f"The push refers to repository [{first.name}]"})
    async with open_session() as session:
        repo = repository(session, first, creds, opts, push=True)
        for ref in targets:
            try:
                await _push_one(store, sink, repo, ref, progress, opts)
            except RegistryError as exc:
                if exc.http_status in (401, 403):
                    # A refused HEAD has no body to quote: dockerd reports the denial the
                    # registry gives its upload, which is this.
                    raise Unauthorized(exc.message if exc.http_status == 401 and exc.code
                                       else "denied: requested access to the resource is denied") from None
                raise SangjaError(exc.message) from None


async def _push_one(store: ImageStore, sink: ImageEventSink, repo: Repository, ref: Reference, progress: Progress,
                    opts: RegistryOptions) -> None:
    image_id = store.lookup_reference(ref)
    if image_id is None:
        raise NotFound(f"tag does not exist: {ref.familiar()}")
    chains = store.chains(image_id)
    here = f"{repo.endpoint.domain}/{repo.path}"
    with store.pinned(chains):
        idents = [short_id(store.layer(c).diff_id) for c in chains]
        for ident in reversed(idents):
            progress.send({"status": "Preparing", "progressDetail": {}, "id": ident})
        sem = asyncio.Semaphore(max(opts.max_concurrent_uploads, 1))

        async def push_layer(chain: str, ident: str, queued: bool) -> layerblobs.LayerBlob:
            if queued:
                progress.send({"status": "Waiting", "progressDetail": {}, "id": ident})
            async with sem:
                blob = await asyncio.to_thread(layerblobs.ensure, store, chain)
                if await repo.blob_exists(blob.digest):
                    progress.send({"status": "Layer already exists", "progressDetail": {}, "id": ident})
                else:
                    mounted = ""
                    for source in blob.repos:
                        domain, _, path = source.partition("/")
                        if domain == repo.endpoint.domain and path != repo.path:
                            try:
                                if await repo.mount_blob(blob.digest, path):
                                    mounted = path
                                    break
                            except RegistryError:
                                continue
                    if mounted:
                        progress.send({"status": f"Mounted from {mounted}", "progressDetail": {}, "id": ident})
                    else:
                        reported = 0

                        async def on_bytes(n: int) -> None:
                            nonlocal reported
                            if n - reported >= PROGRESS_EVERY or n >= blob.size:
                                reported = n
                                progress.send(progress_message("Pushing", ident, n, blob.size))

                        await repo.upload_blob(blob.digest, blob.size, blob.path, on_bytes)
                        progress.send({"status": "Pushed", "progressDetail": {}, "id": ident})
                await asyncio.to_thread(layerblobs.note_repo, store, chain, here)
                return blob

        tasks = [asyncio.create_task(push_layer(c, ident, i >= opts.max_concurrent_uploads))
                 for i, (c, ident) in enumerate(zip(chains, idents, strict=True))]
        try:
            blobs = [await t for t in tasks]
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        config = await asyncio.to_thread(store.config_bytes, image_id)
        if not await repo.blob_exists(image_id):
            with store.blobs.temp_path(".config") as tmp:
                await asyncio.to_thread(tmp.write_bytes, config)
                await repo.upload_blob(image_id, len(config), tmp)
    manifest = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": DOCKER_CONFIG, "size": len(config), "digest": image_id},
        "layers": [{"mediaType": DOCKER_LAYER, "size": b.size, "digest": b.digest} for b in blobs],
    }
    raw = json.dumps(manifest, indent=3).encode()
    digest = await repo.put_manifest(ref.tag, raw, DOCKER_MANIFEST)
    assert digest == sha256_digest(raw)
    await asyncio.to_thread(store.add_reference, ref.trimmed().with_digest(digest), image_id)
    progress.send({"status": f"{ref.tag}: digest: {digest} size: {len(raw)}"})
    progress.send({"progressDetail": {}, "aux": {"Tag": ref.tag, "Digest": digest, "Size": len(raw)}})
    emit_image_event(sink, store, "push", image_id, ref.familiar())
