"""Container resource routes: `/containers/{id}/update` and `/containers/{id}/stats`."""

from __future__ import annotations

import json

from aiohttp import web

from sangja.api.http import Route, json_body, json_response, qbool
from sangja.daemon.daemon import Daemon
from sangja.daemon.stats import container_stats
from sangja.daemon.update import update_container


def container_resource_routes(d: Daemon) -> list[Route]:
    async def post_container_update(request: web.Request) -> web.StreamResponse:
        warnings = await update_container(d, request.match_info["id"], await json_body(request))
        return json_response({"Warnings": warnings})

    async def get_container_stats(request: web.Request) -> web.StreamResponse:
        stream = qbool(request, "stream", True)
        samples = container_stats(d, request.match_info["id"], stream, qbool(request, "one-shot"))
        try:
            first = await anext(samples)  # errors (no such container) before the 200 goes out
        except StopAsyncIteration:
            return json_response(None)
        if not stream:
            await samples.aclose()
            return json_response(first)
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        try:
            await resp.write(json.dumps(first).encode() + b"\n")
            async for sample in samples:
                await resp.write(json.dumps(sample).encode() + b"\n")
        finally:
            await samples.aclose()
        return resp

    return [
        Route("POST", "/containers/{id}/update", post_container_update),
        Route("GET", "/containers/{id}/stats", get_container_stats),
    ]
