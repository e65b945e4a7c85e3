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
import contextlib
import errno
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sangja.daemon.image_events import ImageEventSink, emit_image_event
from sangja.daemon.image_load import progress_message
from sangja.daemon.registry_session import (
    Progress,
    RegistryOptions,
    open_session,
    pull_endpoints,
    pull_error,
    repository,
)
from sangja.distribution import layerblobs
from sangja.distribution.auth import Credentials
from sangja.distribution.client import Repository
from sangja.distribution.manifest import (
    DOCKER_FOREIGN_LAYER,
    Descriptor,
    Index,
    Manifest,
    host_platform,
    parse,
    parse_platform,
    select,
)
from sangja.errors import Forbidden, InvalidParameter, SangjaError, System
from sangja.image.compression import inflate_to
from sangja.image.ids import chain_ids, short_id
from sangja.image.reference import Reference, is_digest, parse_normalized_named
from sangja.image.store import ImageStore, diff_ids_of, validate_config

log = logging.getLogger(__name__)

PROGRESS_EVERY = 512 * 1024


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


@dataclass
class _Layer:
    desc: Descriptor
    diff_id: str
    chain: str
    parent: str
    ident: str
    path: Path | None = None      # the verified download, in ingest/


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
    layers = [_Layer(d, diff_ids[i], chains[i], chains[i - 1] if i else "", short_id(d.digest))
              for i, d in enumerate(manifest.layers)]
    with store.pinned(chains):
        missing = [x for x in layers if not store.layers.exists(x.chain)]
        for x in layers:
            progress.send({"status": "Already exists" if x not in missing else "Pulling fs layer",
                           "progressDetail": {}, "id": x.ident})
        try:
            await _download_and_register(store, repo, missing, progress, opts)
        finally:
            for x in missing:
                if x.path is not None:
                    x.path.unlink(missing_ok=True)
        image_id = await asyncio.to_thread(store.create, config_raw)
    return await asyncio.to_thread(_tag, store, sink, ref, image_id, digest, progress)


async def _download_and_register(store: ImageStore, repo: Repository, missing: list[_Layer], progress: Progress,
                                 opts: RegistryOptions) -> None:
    sem = asyncio.Semaphore(max(opts.max_concurrent_downloads, 1))
    by_digest: dict[str, asyncio.Task[Path]] = {}

    async def download(x: _Layer, queued: bool) -> Path:
        if queued:
            progress.send({"status": "Waiting", "progressDetail": {}, "id": x.ident})
        async with sem:
            path = store.blobs.ingest_dir / f"{uuid.uuid4().hex}.blob"
            reported = 0

            async def on_bytes(n: int) -> None:
                nonlocal reported
                if n - reported >= PROGRESS_EVERY or n >= x.desc.size:
                    reported = n
                    progress.send(progress_message("Downloading", x.ident, n, x.desc.size))

            try:
                await repo.download_blob(x.desc.digest, x.desc.size, path, on_bytes)
            except BaseException:
                path.unlink(missing_ok=True)
                raise
            progress.send({"status": "Verifying Checksum", "progressDetail": {}, "id": x.ident})
            progress.send({"status": "Download complete", "progressDetail": {}, "id": x.ident})
            return path

    for i, x in enumerate(missing):
        if x.desc.digest not in by_digest:
            by_digest[x.desc.digest] = asyncio.create_task(download(x, i >= opts.max_concurrent_downloads))
    try:
        for x in missing:
            path = await by_digest[x.desc.digest]
            x.path = path
            if await asyncio.to_thread(store.layers.exists, x.chain):
                progress.send({"status": "Pull complete", "progressDetail": {}, "id": x.ident})
                continue
            await asyncio.to_thread(_register, store, repo, x, path, progress)
            progress.send({"status": "Pull complete", "progressDetail": {}, "id": x.ident})
    finally:
        for task in by_digest.values():
            task.cancel()
        for task in by_digest.values():
            with contextlib.suppress(BaseException):
                p = await task
                p.unlink(missing_ok=True)


class _ExtractProgress:
    def __init__(self, src: Any, total: int, ident: str, progress: Progress) -> None:
        self._src = src
        self._total = total
        self._ident = ident
        self._progress = progress
        self._current = 0
        self._reported = 0

    def read(self, n: int = -1) -> bytes:
        data: bytes = self._src.read(n)
        self._current += len(data)
        if self._current - self._reported >= PROGRESS_EVERY or (not data and self._current != self._reported):
            self._reported = self._current
            self._progress.send_threadsafe(progress_message("Extracting", self._ident, self._current, self._total))
        return data


def _register(store: ImageStore, repo: Repository, x: _Layer, blob: Path, progress: Progress) -> None:
    with store.blobs.temp_path(".tar") as tar:
        with blob.open("rb") as f:
            inflated = inflate_to(_ExtractProgress(f, x.desc.size, x.ident, progress), tar)  # type: ignore[arg-type]
        if inflated.diff_id != x.diff_id:
            raise InvalidParameter(f"filesystem layer verification failed for digest {x.desc.digest}")
        store.layers.register(tar, x.diff_id, x.parent)
    if inflated.compression == "gzip":
        with contextlib.suppress(OSError):
            layerblobs.keep(store, x.chain, blob, x.desc.digest, x.desc.size, x.desc.media_type or
                            "application/vnd.docker.image.rootfs.diff.tar.gzip",
                            f"{repo.endpoint.domain}/{repo.path}")


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
