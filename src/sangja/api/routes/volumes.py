"""Volume routes: `/volumes/...` (Docker Engine API)."""

from __future__ import annotations

from aiohttp import web

from sangja.api.http import Route, json_body, json_response, no_content, qbool, qfilters
from sangja.api.version import at_least
from sangja.daemon.daemon import Daemon
from sangja.daemon.volume_verbs import create_volume, inspect_volume, list_volumes, prune_volumes, remove_volume


def volume_routes(d: Daemon) -> list[Route]:
    async def get_volumes(request: web.Request) -> web.StreamResponse:
        return json_response(list_volumes(d, qfilters(request)))

    async def post_volumes_create(request: web.Request) -> web.StreamResponse:
        return json_response(await create_volume(d, await json_body(request)), status=201)

    async def get_volume(request: web.Request) -> web.StreamResponse:
        return json_response(inspect_volume(d, request.match_info["name"]))

    async def delete_volume(request: web.Request) -> web.StreamResponse:
        await remove_volume(d, request.match_info["name"], qbool(request, "force"))
        return no_content()

    async def post_volumes_prune(request: web.Request) -> web.StreamResponse:
        # Before API 1.42 prune removed every unused volume; since, only anonymous ones by default.
        return json_response(await prune_volumes(d, qfilters(request), not at_least(request, "1.42")))

    return [
        Route("GET", "/volumes", get_volumes),
        Route("POST", "/volumes/create", post_volumes_create),
        Route("POST", "/volumes/prune", post_volumes_prune),
        Route("GET", "/volumes/{name}", get_volume),
        Route("DELETE", "/volumes/{name}", delete_volume),
    ]
