"""Disk usage routes: `GET /system/df`, and `POST /build/prune` for `docker system prune`.

API-version differences are applied here, as in moby's system router: `type=` is honoured
from 1.42 on (before, every type is computed), and images get VirtualSize below 1.44.

`/build/prune` exists because the docker CLI's `system prune` always calls it (API >= 1.31)
and fails on a 404. sangja keeps no build cache apart from images (the classic builder's
cache is its intermediate images, removed by image prune), so there is never anything to
delete: the report is truthfully empty.
"""

from __future__ import annotations

from aiohttp import web

from sangja.api.http import Route, json_response, qfilters
from sangja.api.version import at_least
from sangja.daemon.daemon import Daemon
from sangja.daemon.system_df import DiskUsage, DiskUsageOptions


def system_df_routes(d: Daemon) -> list[Route]:
    usage = DiskUsage(d)

    async def get_system_df(request: web.Request) -> web.StreamResponse:
        types = request.rel_url.query.getall("type", None) if at_least(request, "1.42") else None
        body = await usage.compute(DiskUsageOptions.from_types(types))
        if not at_least(request, "1.44"):
            for image in body["Images"] or []:
                image["VirtualSize"] = image["Size"]
        return json_response(body)

    async def post_build_prune(request: web.Request) -> web.StreamResponse:
        qfilters(request)  # a malformed filters= is still a 400
        return json_response({"CachesDeleted": [], "SpaceReclaimed": 0})

    return [
        Route("GET", "/system/df", get_system_df),
        Route("POST", "/build/prune", post_build_prune),
    ]
