"""A container's files: `/containers/{id}/changes`, `/export` and `/archive` (HEAD, GET, PUT)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from sangja.api.http import Route, json_response, qbool, qstr
from sangja.daemon.archive import read_archive, stat_header, stat_path, write_archive
from sangja.daemon.changes import container_changes
from sangja.daemon.daemon import Daemon
from sangja.daemon.export import export_container
from sangja.errors import InvalidParameter, SangjaError

log = logging.getLogger(__name__)

TAR = "application/x-tar"
STAT_HEADER = "X-Docker-Container-Path-Stat"
SPOOL_CHUNK = 256 * 1024


def container_file_routes(d: Daemon) -> list[Route]:
    h = _Handlers(d)
    return [
        Route("GET", "/containers/{id}/changes", h.get_changes),
        Route("GET", "/containers/{id}/export", h.get_export),
        Route("HEAD", "/containers/{id}/archive", h.head_archive),
        Route("GET", "/containers/{id}/archive", h.get_archive),
        Route("PUT", "/containers/{id}/archive", h.put_archive),
    ]


def _path(request: web.Request) -> str:
    path = qstr(request, "path") or ""
    if not path:
        raise InvalidParameter("Path cannot be empty")
    return path


async def _stream(request: web.Request, chunks: AsyncIterator[bytes], headers: dict[str, str]) -> web.StreamResponse:
    resp = web.StreamResponse(status=200, headers={"Content-Type": TAR, **headers})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    try:
        async for chunk in chunks:
            await resp.write(chunk)
    except SangjaError as exc:
        # The status is sent: all a client can learn now is a cut-off stream.
        log.error("%s %s failed after the answer started: %s", request.method, request.path, exc.message)
        _abort(request)
        return resp
    except OSError as exc:
        log.error("%s %s failed after the answer started: %s", request.method, request.path, exc)
        _abort(request)
        return resp
    await resp.write_eof()
    return resp


def _abort(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


class _Handlers:
    def __init__(self, d: Daemon) -> None:
        self.d = d

    async def get_changes(self, request: web.Request) -> web.StreamResponse:
        return json_response(await container_changes(self.d, request.match_info["id"]))

    async def get_export(self, request: web.Request) -> web.StreamResponse:
        return await _stream(request, export_container(self.d, request.match_info["id"]), {})

    async def head_archive(self, request: web.Request) -> web.StreamResponse:
        info = await stat_path(self.d, request.match_info["id"], _path(request))
        return web.Response(status=200, headers={STAT_HEADER: stat_header(info), "Content-Type": "application/json"})

    async def get_archive(self, request: web.Request) -> web.StreamResponse:
        info, chunks = await read_archive(self.d, request.match_info["id"], _path(request))
        return await _stream(request, chunks, {STAT_HEADER: stat_header(info)})

    async def put_archive(self, request: web.Request) -> web.StreamResponse:
        cid, path = request.match_info["id"], _path(request)
        self.d.containers.get(cid)  # 404 before the upload is read
        copy_uid_gid = qbool(request, "copyUIDGID")
        with self.d.images.blobs.temp_path(".cp.tar") as tmp:
            f = await asyncio.to_thread(tmp.open, "xb")
            try:
                async for chunk in request.content.iter_chunked(SPOOL_CHUNK):
                    await asyncio.to_thread(f.write, chunk)
            finally:
                await asyncio.to_thread(f.close)
            await write_archive(self.d, cid, path, tmp, copy_uid_gid=copy_uid_gid)
        return web.Response(status=200)
