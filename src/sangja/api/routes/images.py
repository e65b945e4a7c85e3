"""Image routes: `/images/...` (Docker Engine API).

Handlers parse the request, call the image verbs in daemon/image_*.py in a worker thread (the
store does blocking I/O and tar work), and serialize; API-version differences are applied
here, as moby's image router does. Request bodies (import, load) are streamed to a file under
the store's ingest directory, never held in memory.

Image names contain "/", hence `{name:.+}`. aiohttp tries routes in order and a route whose
path matches with another method does not stop the search, so `/images/json`, `/images/load`
and friends coexist with `/images/{name:.+}` (DELETE).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from sangja.api.http import JsonLines, Route, json_response, qbool, qfilters, qstr
from sangja.api.version import at_least
from sangja.daemon.events import EventLog
from sangja.daemon.image_delete import delete_image
from sangja.daemon.image_events import LoopEventSink
from sangja.daemon.image_import import import_image, prepare_import
from sangja.daemon.image_inspect import image_history, inspect_image
from sangja.daemon.image_list import list_images
from sangja.daemon.image_prune import prune_images
from sangja.daemon.image_save import plan_save, save_images
from sangja.daemon.image_tag import parse_tag_request, tag_image
from sangja.daemon.image_usage import ImageUsage
from sangja.daemon.registry_session import Message, Progress, RegistryOptions
from sangja.distribution.auth import decode_registry_auth
from sangja.errors import NotImplementedYet, SangjaError
from sangja.image.store import ImageStore
from sangja.image.timeutil import ZERO_TIME

log = logging.getLogger(__name__)

__all__ = ["ImageUsage", "image_routes"]

# load, pull and push import their verbs on first use: they bring the registry client, ISA-L and
# zstd (~1 MiB of resident memory that a daemon which never pulls would carry).

SPOOL_CHUNK = 1 << 20
SPOOL_BATCH = 4 << 20
WRITE_BATCH = 1 << 20


def image_routes(store: ImageStore, events: EventLog, usage: ImageUsage,
                 registry: RegistryOptions | None = None) -> list[Route]:
    h = _ImageHandlers(store, events, usage)
    if registry is not None:
        h.registry = registry
    return [
        Route("GET", "/images/json", h.get_images_json),
        Route("GET", "/images/search", h.get_images_search),
        Route("GET", "/images/get", h.get_images_get),
        Route("GET", "/images/{name:.+}/get", h.get_images_get),
        Route("GET", "/images/{name:.+}/history", h.get_images_history),
        Route("GET", "/images/{name:.+}/json", h.get_images_by_name),
        Route("POST", "/images/load", h.post_images_load),
        Route("POST", "/images/create", h.post_images_create),
        Route("POST", "/images/prune", h.post_images_prune),
        Route("POST", "/images/{name:.+}/push", h.post_images_push),
        Route("POST", "/images/{name:.+}/tag", h.post_images_tag),
        Route("DELETE", "/images/{name:.+}", h.delete_images),
    ]


# Config fields moby adds back for old API versions when the image leaves them out
# (legacyConfigFields). Fields Docker would send as null are left out: the swagger types
# them as non-nullable arrays/objects, and Go clients decode "absent" and null alike.
_LEGACY_CONFIG_V149: dict[str, Any] = {
    "AttachStderr": False,
    "AttachStdin": False,
    "AttachStdout": False,
    "Domainname": "",
    "Hostname": "",
    "Image": "",
    "OnBuild": None,
    "OpenStdin": False,
    "StdinOnce": False,
    "Tty": False,
    "User": "",
    "WorkingDir": "",
}
_LEGACY_CONFIG_V150: dict[str, Any] = {"OnBuild": None, "User": "", "WorkingDir": ""}


def adapt_inspect(body: dict[str, Any], request: web.Request, container: str, container_config: Any) -> None:
    if not at_least(request, "1.44"):
        body["VirtualSize"] = body["Size"]
        body.setdefault("Created", ZERO_TIME)
    if not at_least(request, "1.45"):
        body["Container"] = container
        body["ContainerConfig"] = container_config
    legacy = _LEGACY_CONFIG_V150 if at_least(request, "1.50") else _LEGACY_CONFIG_V149
    for key, value in legacy.items():
        body["Config"].setdefault(key, value)


def adapt_summary(item: dict[str, Any], request: web.Request) -> None:
    if not at_least(request, "1.43") and not item["RepoTags"] and not item["RepoDigests"]:
        item["RepoTags"] = ["<none>:<none>"]
        item["RepoDigests"] = ["<none>@<none>"]
    if not at_least(request, "1.44"):
        item["VirtualSize"] = item["Size"]


class _LoopWriter:
    """A blocking, write-only file for a worker thread, onto a prepared aiohttp response.
    Each batch waits until the loop has written it: the response's backpressure reaches the
    thread."""

    def __init__(self, response: web.StreamResponse, loop: asyncio.AbstractEventLoop) -> None:
        self._response = response
        self._loop = loop
        self._buf = bytearray()

    def write(self, data: bytes) -> int:
        self._buf += data
        if len(self._buf) >= WRITE_BATCH:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self._buf:
            chunk, self._buf = bytes(self._buf), bytearray()
            asyncio.run_coroutine_threadsafe(self._response.write(chunk), self._loop).result()


class _ImageHandlers:
    def __init__(self, store: ImageStore, events: EventLog, usage: ImageUsage) -> None:
        self.store = store
        self.events = events
        self.usage = usage
        self.registry = RegistryOptions()

    def _sink(self) -> LoopEventSink:
        return LoopEventSink(self.events, asyncio.get_running_loop())

    @contextlib.asynccontextmanager
    async def _spool(self, request: web.Request) -> AsyncIterator[Path]:
        """The request body, streamed to a temporary file that is removed afterwards."""
        with self.store.blobs.temp_path(".upload") as path:
            f = await asyncio.to_thread(path.open, "xb")
            try:
                buf = bytearray()
                async for chunk in request.content.iter_chunked(SPOOL_CHUNK):
                    buf += chunk
                    if len(buf) >= SPOOL_BATCH:
                        await asyncio.to_thread(f.write, bytes(buf))
                        buf.clear()
                if buf:
                    await asyncio.to_thread(f.write, bytes(buf))
            finally:
                await asyncio.to_thread(f.close)
            yield path

    async def get_images_json(self, request: web.Request) -> web.StreamResponse:
        filters = qfilters(request)
        legacy_filter = qstr(request, "filter")
        if not at_least(request, "1.25") and "reference" not in filters and legacy_filter:
            filters["reference"] = [legacy_filter]
        items = await asyncio.to_thread(
            list_images,
            self.store,
            self.usage,
            filters,
            qbool(request, "all"),
            at_least(request, "1.42") and qbool(request, "shared-size"),
            at_least(request, "1.51"),
        )
        for item in items:
            adapt_summary(item, request)
        return json_response(items)

    async def get_images_by_name(self, request: web.Request) -> web.StreamResponse:
        data = await asyncio.to_thread(inspect_image, self.store, request.match_info["name"])
        adapt_inspect(data.response, request, data.container, data.container_config)
        return json_response(data.response)

    async def get_images_history(self, request: web.Request) -> web.StreamResponse:
        return json_response(await asyncio.to_thread(image_history, self.store, request.match_info["name"]))

    async def post_images_tag(self, request: web.Request) -> web.StreamResponse:
        ref = parse_tag_request(qstr(request, "repo") or "", qstr(request, "tag") or "")
        await asyncio.to_thread(tag_image, self.store, self._sink(), request.match_info["name"], ref)
        return web.Response(status=201)

    async def delete_images(self, request: web.Request) -> web.StreamResponse:
        records = await asyncio.to_thread(
            delete_image,
            self.store,
            self._sink(),
            self.usage,
            request.match_info["name"],
            qbool(request, "force"),
            not qbool(request, "noprune"),
        )
        return json_response(records)

    async def post_images_prune(self, request: web.Request) -> web.StreamResponse:
        report = await asyncio.to_thread(prune_images, self.store, self._sink(), self.usage, qfilters(request))
        return json_response(report)

    async def post_images_create(self, request: web.Request) -> web.StreamResponse:
        from_image = qstr(request, "fromImage") or ""
        if from_image:
            return await self._pull(request, from_image)
        opts = prepare_import(
            src=qstr(request, "fromSrc") or "",
            repo=qstr(request, "repo") or "",
            tag=qstr(request, "tag") or "",
            message=qstr(request, "message") or "",
            changes=request.query.getall("changes", []),
            platform=(qstr(request, "platform") or "") if at_least(request, "1.32") else "",
        )
        async with self._spool(request) as body:
            image_id = await asyncio.to_thread(import_image, self.store, self._sink(), body, opts)
        stream = JsonLines(request)
        await stream.send({"status": image_id})
        return await stream.finish()

    async def post_images_load(self, request: web.Request) -> web.StreamResponse:
        from sangja.daemon.image_load import load_images

        quiet = qbool(request, "quiet", True)
        sink = self._sink()
        async with self._spool(request) as body:
            stream = JsonLines(request)
            await stream.start()
            loop = asyncio.get_running_loop()

            def emit(message: dict[str, Any]) -> None:
                asyncio.run_coroutine_threadsafe(stream.send(message), loop).result()

            try:
                await asyncio.to_thread(load_images, self.store, sink, body, emit, quiet)
            except SangjaError as exc:
                await stream.error(exc.message)
            except (ConnectionResetError, BrokenPipeError):
                raise
            except Exception as exc:
                log.exception("image load failed")
                await stream.error(f"internal error: {exc}")
        return await stream.finish()

    async def get_images_get(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info.get("name")
        names = [name] if name is not None else request.query.getall("names", [])
        images = await asyncio.to_thread(plan_save, self.store, names)
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/x-tar"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        writer = _LoopWriter(response, asyncio.get_running_loop())

        def write_all() -> None:
            save_images(self.store, sink, images, writer)
            writer.flush()

        sink = self._sink()
        try:
            await asyncio.to_thread(write_all)
        except (ConnectionResetError, BrokenPipeError):
            return response
        except Exception:
            # The tar is half sent: cut the connection so the client sees a failed transfer
            # instead of a short archive that looks complete.
            log.exception("image save failed")
            response.force_close()
            if request.transport is not None:
                request.transport.close()
            return response
        await response.write_eof()
        return response

    async def _pull(self, request: web.Request, from_image: str) -> web.StreamResponse:
        from sangja.daemon.image_pull import pull_image, pull_reference

        ref = pull_reference(from_image, qstr(request, "tag") or "")
        creds, _ = decode_registry_auth(request.headers.get("X-Registry-Auth", ""))
        platform = (qstr(request, "platform") or "") if at_least(request, "1.32") else ""
        sink = self._sink()
        return await self._registry_stream(
            request, lambda progress: pull_image(self.store, sink, ref, creds, platform, progress, self.registry))

    async def post_images_push(self, request: web.Request) -> web.StreamResponse:
        from sangja.daemon.image_push import push_image, push_targets

        targets = await asyncio.to_thread(push_targets, self.store, request.match_info["name"],
                                          qstr(request, "tag") or "")
        creds, _ = decode_registry_auth(request.headers.get("X-Registry-Auth", ""))
        sink = self._sink()
        return await self._registry_stream(
            request, lambda progress: push_image(self.store, sink, targets, creds, progress, self.registry))

    async def _registry_stream(self, request: web.Request,
                               work: Callable[[Progress], Awaitable[object]]) -> web.StreamResponse:
        """Run a pull or push, streaming its progress; a failure becomes the last JSON line."""
        stream = JsonLines(request)
        started = False

        async def write(message: Message) -> None:
            nonlocal started
            started = True
            await stream.send(message)

        progress = Progress(write)
        pump = asyncio.create_task(progress.pump())
        failure: SangjaError | None = None
        try:
            await work(progress)
        except SangjaError as exc:
            failure = exc
        except (ConnectionResetError, BrokenPipeError):
            pump.cancel()
            raise
        except Exception as exc:
            log.exception("registry transfer failed")
            progress.send({"errorDetail": {"message": f"internal error: {exc}"}, "error": f"internal error: {exc}"})
        finally:
            progress.close()
            with contextlib.suppress(ConnectionResetError, BrokenPipeError):
                await pump
        if failure is not None:
            if not started:
                raise failure  # nothing sent yet: an error answer with its status, as dockerd
            await stream.error(failure.message)
        return await stream.finish()

    async def get_images_search(self, request: web.Request) -> web.StreamResponse:
        raise NotImplementedYet("searching a registry is not supported by sangja: it has no registry access")
