"""Network routes: `/networks/...` (Docker Engine API)."""

from __future__ import annotations

from aiohttp import web

from sangja.api.http import Route, json_body, json_response, no_content, qfilters
from sangja.daemon.daemon import Daemon
from sangja.daemon.network_verbs import (
    connect_container,
    create_network,
    disconnect_container,
    inspect_network,
    list_networks,
    prune_networks,
    remove_network,
)


def network_routes(d: Daemon) -> list[Route]:
    async def get_networks(request: web.Request) -> web.StreamResponse:
        return json_response(list_networks(d, qfilters(request)))

    async def post_networks_create(request: web.Request) -> web.StreamResponse:
        return json_response(await create_network(d, await json_body(request)), status=201)

    async def get_network(request: web.Request) -> web.StreamResponse:
        return json_response(inspect_network(d, request.match_info["id"]))

    async def delete_network(request: web.Request) -> web.StreamResponse:
        await remove_network(d, request.match_info["id"])
        return no_content()

    async def post_connect(request: web.Request) -> web.StreamResponse:
        await connect_container(d, request.match_info["id"], await json_body(request))
        return web.Response(status=200)

    async def post_disconnect(request: web.Request) -> web.StreamResponse:
        await disconnect_container(d, request.match_info["id"], await json_body(request))
        return web.Response(status=200)

    async def post_networks_prune(request: web.Request) -> web.StreamResponse:
        return json_response(await prune_networks(d, qfilters(request)))

    return [
        Route("GET", "/networks", get_networks),
        Route("POST", "/networks/create", post_networks_create),
        Route("POST", "/networks/prune", post_networks_prune),
        Route("GET", "/networks/{id}", get_network),
        Route("DELETE", "/networks/{id}", delete_network),
        Route("POST", "/networks/{id}/connect", post_connect),
        Route("POST", "/networks/{id}/disconnect", post_disconnect),
    ]
