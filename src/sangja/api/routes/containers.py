"""Container routes: `/containers/...` (Docker Engine API)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json

from aiohttp import web

from sangja.api import hijack
from sangja.api.http import Route, json_body, json_response, no_content, qbool, qfilters, qint, qstr
from sangja.api.version import at_least
from sangja.daemon import views
from sangja.daemon.attach import (
    AttachOptions,
    check_attachable,
    connect_when_started,
    open_stdin_socket,
    parse_detach_keys,
    pump,
)
from sangja.daemon.create import create_container
from sangja.daemon.daemon import Daemon
from sangja.daemon.kill import kill_container
from sangja.daemon.listing import list_containers
from sangja.daemon.logs import LogOptions, read_logs
from sangja.daemon.pause import pause_container, unpause_container
from sangja.daemon.prune import prune_containers
from sangja.daemon.remove import remove_container
from sangja.daemon.rename import rename_container
from sangja.daemon.restart import restart_container
from sangja.daemon.sizes import container_sizes
from sangja.daemon.start import start_container
from sangja.daemon.stop import stop_container
from sangja.daemon.timefmt import parse_timestamp, rfc3339_ns
from sangja.daemon.top import top_container
from sangja.daemon.wait import wait_future
from sangja.errors import InvalidParameter, NotModified

RAW = "application/vnd.docker.raw-stream"
MUX = "application/vnd.docker.multiplexed-stream"


def container_routes(d: Daemon) -> list[Route]:
    h = _Handlers(d)
    return [
        Route("POST", "/containers/create", h.post_containers_create),
        Route("GET", "/containers/json", h.get_containers_json),
        Route("POST", "/containers/prune", h.post_containers_prune),
        Route("GET", "/containers/{id}/json", h.get_container_json),
        Route("GET", "/containers/{id}/top", h.get_container_top),
        Route("GET", "/containers/{id}/logs", h.get_container_logs),
        Route("POST", "/containers/{id}/start", h.post_container_start),
        Route("POST", "/containers/{id}/stop", h.post_container_stop),
        Route("POST", "/containers/{id}/restart", h.post_container_restart),
        Route("POST", "/containers/{id}/kill", h.post_container_kill),
        Route("POST", "/containers/{id}/pause", h.post_container_pause),
        Route("POST", "/containers/{id}/unpause", h.post_container_unpause),
        Route("POST", "/containers/{id}/rename", h.post_container_rename),
        Route("POST", "/containers/{id}/wait", h.post_container_wait),
        Route("POST", "/containers/{id}/attach", h.post_container_attach),
        Route("POST", "/containers/{id}/resize", h.post_container_resize),
        Route("DELETE", "/containers/{id}", h.delete_container),
    ]


class _Handlers:
    def __init__(self, d: Daemon) -> None:
        self.d = d

    async def post_containers_create(self, request: web.Request) -> web.StreamResponse:
        body = await json_body(request, required=True)
        c, warnings = await create_container(self.d, body, qstr(request, "name"))
        return json_response({"Id": c.id, "Warnings": warnings}, status=201)

    async def get_containers_json(self, request: web.Request) -> web.StreamResponse:
        size = qbool(request, "size")
        args = (self.d, qbool(request, "all"), qint(request, "limit", -1) or -1, qfilters(request), size)
        # Sizes walk the writable layers: only then is the listing worth a thread hop.
        items = await asyncio.to_thread(list_containers, *args) if size else list_containers(*args)
        return json_response(items)

    async def post_containers_prune(self, request: web.Request) -> web.StreamResponse:
        return json_response(await prune_containers(self.d, qfilters(request)))

    async def get_container_json(self, request: web.Request) -> web.StreamResponse:
        c = self.d.containers.get(request.match_info["id"])
        sizes = await asyncio.to_thread(container_sizes, self.d, c) if qbool(request, "size") else None
        return json_response(views.inspect(c, sizes, self.d.execs.active_ids(c.id)))

    async def get_container_top(self, request: web.Request) -> web.StreamResponse:
        return json_response(
            await top_container(self.d, request.match_info["id"], qstr(request, "ps_args") or "-ef")
        )

    async def get_container_logs(self, request: web.Request) -> web.StreamResponse:
        ref = request.match_info["id"]
        c = self.d.containers.get(ref)
        stdout, stderr = qbool(request, "stdout"), qbool(request, "stderr")
        if not stdout and not stderr:
            raise InvalidParameter("Bad parameters: you must choose at least one stream")
        tail_raw = qstr(request, "tail", "all") or "all"
        tail: int | None = None
        if tail_raw != "all":
            try:
                tail = max(0, int(tail_raw))
            except ValueError:
                tail = None
        since = qstr(request, "since")
        until = qstr(request, "until")
        opts = LogOptions(
            stdout=stdout,
            stderr=stderr,
            follow=qbool(request, "follow"),
            since_ns=parse_timestamp(since) if since and since != "0" else None,
            until_ns=parse_timestamp(until) if until and until != "0" else None,
            tail=tail,
        )
        timestamps = qbool(request, "timestamps")
        tty = c.tty
        ctype = RAW if tty or not at_least(request, "1.42") else MUX
        resp = web.StreamResponse(status=200, headers={"Content-Type": ctype})
        resp.enable_chunked_encoding()
        entries = read_logs(self.d, ref, opts)
        prepared = False
        try:
            async for e in entries:
                if not prepared:
                    await resp.prepare(request)
                    prepared = True
                data = e.data
                if timestamps:
                    data = rfc3339_ns(e.time_ns).encode() + b" " + data
                await resp.write(data if tty else hijack.frame(1 if e.stream == "stdout" else 2, data))
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        if not prepared:
            await resp.prepare(request)
        await resp.write_eof()
        return resp

    async def post_container_start(self, request: web.Request) -> web.StreamResponse:
        try:
            await start_container(self.d, request.match_info["id"])
        except NotModified:
            return web.Response(status=304)
        return no_content()

    async def post_container_stop(self, request: web.Request) -> web.StreamResponse:
        try:
            await stop_container(
                self.d, request.match_info["id"], qint(request, "t"), qstr(request, "signal")
            )
        except NotModified:
            return web.Response(status=304)
        return no_content()

    async def post_container_restart(self, request: web.Request) -> web.StreamResponse:
        await restart_container(self.d, request.match_info["id"], qint(request, "t"), qstr(request, "signal"))
        return no_content()

    async def post_container_kill(self, request: web.Request) -> web.StreamResponse:
        await kill_container(self.d, request.match_info["id"], qstr(request, "signal"))
        return no_content()

    async def post_container_pause(self, request: web.Request) -> web.StreamResponse:
        await pause_container(self.d, request.match_info["id"])
        return no_content()

    async def post_container_unpause(self, request: web.Request) -> web.StreamResponse:
        await unpause_container(self.d, request.match_info["id"])
        return no_content()

    async def post_container_rename(self, request: web.Request) -> web.StreamResponse:
        await rename_container(self.d, request.match_info["id"], qstr(request, "name") or "")
        return no_content()

    async def post_container_wait(self, request: web.Request) -> web.StreamResponse:
        fut = wait_future(self.d, request.match_info["id"], qstr(request, "condition") or "")
        # Headers go out at once: the docker CLI waits for them before it calls /start (WIRE-NOTES).
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        try:
            code = await fut
        finally:
            fut.cancel()
        with contextlib.suppress(ConnectionResetError):
            await resp.write(json.dumps({"StatusCode": code}).encode() + b"\n")
            await resp.write_eof()
        return resp

    async def post_container_resize(self, request: web.Request) -> web.StreamResponse:
        c = self.d.containers.get(request.match_info["id"])
        h, w = qint(request, "h", 0) or 0, qint(request, "w", 0) or 0
        if not c.state.running:
            from sangja.errors import Conflict

            raise Conflict(f"Container {c.id} is not running")
        self.d.runtime.resize(c.id, h, w)
        return web.Response(status=200)

    async def delete_container(self, request: web.Request) -> web.StreamResponse:
        await remove_container(self.d, request.match_info["id"], qbool(request, "force"), qbool(request, "v"))
        return no_content()

    async def post_container_attach(self, request: web.Request) -> web.StreamResponse:
        c = self.d.containers.get(request.match_info["id"])
        check_attachable(c)
        opts = AttachOptions(
            stdin=qbool(request, "stdin"),
            stdout=qbool(request, "stdout"),
            stderr=qbool(request, "stderr"),
            stream=qbool(request, "stream"),
            logs=qbool(request, "logs"),
            detach_keys=parse_detach_keys(qstr(request, "detachKeys")),
        )
        tty = c.tty
        if not tty:  # like dockerd: detach keys only apply with a TTY (stdin is binary-clean without one)
            opts = dataclasses.replace(opts, detach_keys=b"")
        resp, conn = await hijack.upgrade(request, RAW if tty else MUX)
        client = _FramedClient(conn, tty)
        try:
            if opts.logs:
                async for e in read_logs(self.d, c.id, LogOptions(stdout=opts.stdout, stderr=opts.stderr)):
                    await client.write(1 if e.stream == "stdout" else 2, e.data)
            if opts.stream:
                sock = await connect_when_started(self.d, c)
                if sock is not None:
                    await pump(sock, client, opts, open_stdin_socket(self.d, c) if opts.stdin else None)
        except (ConnectionError, OSError):
            pass
        finally:
            conn.close()
        return resp


class _FramedClient:
    """The hijacked connection as the attach pump sees it: frames unless the container has a TTY."""

    def __init__(self, conn: hijack.HijackedConnection, tty: bool) -> None:
        self._conn = conn
        self._tty = tty

    async def read(self) -> bytes:
        return await self._conn.read()

    async def write(self, stream: int, data: bytes) -> None:
        await self._conn.write(data if self._tty else hijack.frame(stream, data))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.close()
