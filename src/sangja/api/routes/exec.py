"""Exec routes: `POST /containers/{id}/exec` and `/exec/{id}/...` (Docker Engine API)."""

from __future__ import annotations

import contextlib

from aiohttp import web

from sangja.api import hijack
from sangja.api.http import Route, json_body, json_response, qint
from sangja.daemon.daemon import Daemon
from sangja.daemon.exec import console_size, create_exec, inspect_exec, resize_exec
from sangja.daemon.exec_start import prepare_start, start_exec
from sangja.errors import SangjaError

RAW = "application/vnd.docker.raw-stream"
MUX = "application/vnd.docker.multiplexed-stream"


def exec_routes(d: Daemon) -> list[Route]:
    h = _Handlers(d)
    return [
        Route("POST", "/containers/{id}/exec", h.post_container_exec),
        Route("POST", "/exec/{id}/start", h.post_exec_start),
        Route("POST", "/exec/{id}/resize", h.post_exec_resize),
        Route("GET", "/exec/{id}/json", h.get_exec_json),
    ]


class _Handlers:
    def __init__(self, d: Daemon) -> None:
        self.d = d

    async def post_container_exec(self, request: web.Request) -> web.StreamResponse:
        body = await json_body(request, required=True)
        rec = create_exec(self.d, request.match_info["id"], body)
        return json_response({"Id": rec.id}, status=201)

    async def post_exec_start(self, request: web.Request) -> web.StreamResponse:
        body = await json_body(request)
        rec = self.d.execs.get(request.match_info["id"])
        size = console_size(body.get("ConsoleSize"))
        prepared = prepare_start(self.d, rec)  # refuse with a status while we still can
        if body.get("Detach"):
            await start_exec(self.d, rec, prepared, None, size)
            return web.Response(status=200)
        tty = rec.tty or bool(body.get("Tty"))
        resp, conn = await hijack.upgrade(request, RAW if tty else MUX)
        client = hijack.FramedClient(conn, rec.tty)
        try:
            await start_exec(self.d, rec, prepared, client, size)
        except SangjaError as exc:  # a refusal after the 101: dockerd writes it into the stream
            with contextlib.suppress(ConnectionError, OSError):
                await client.write(1, f"{exc.message}\r\n".encode())
        finally:
            client.close()
        return resp

    async def post_exec_resize(self, request: web.Request) -> web.StreamResponse:
        await resize_exec(self.d, request.match_info["id"], qint(request, "h", 0) or 0, qint(request, "w", 0) or 0)
        return web.Response(status=200)

    async def get_exec_json(self, request: web.Request) -> web.StreamResponse:
        return json_response(inspect_exec(self.d, request.match_info["id"]))
