"""Assemble the aiohttp application from the route groups.

Every route is served twice, as `/vX.Y/<path>` and as `/<path>` (WIRE-NOTES §2).
"""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from sangja.api.errors import error_middleware
from sangja.api.http import Route
from sangja.api.version import version_middleware

# Large enough for create bodies; streamed endpoints (load, import, build, archive)
# read request.content themselves and are not bound by it.
CLIENT_MAX_SIZE = 64 * 1024 * 1024


def build_app(route_groups: Iterable[Iterable[Route]]) -> web.Application:
    app = web.Application(middlewares=[error_middleware, version_middleware], client_max_size=CLIENT_MAX_SIZE)
    for group in route_groups:
        for route in group:
            app.router.add_route(route.method, route.path, route.handler)
            app.router.add_route(route.method, r"/v{api_version:[0-9]+\.[0-9]+}" + route.path, route.handler)
    return app
