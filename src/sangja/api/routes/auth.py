"""Registry routes: `POST /auth` (docker login)."""

from __future__ import annotations

import json

from aiohttp import web

from sangja.api.http import Route, json_response
from sangja.daemon.auth import login
from sangja.daemon.registry_session import RegistryOptions
from sangja.errors import InvalidParameter


def auth_routes(opts: RegistryOptions | None = None) -> list[Route]:
    options = opts or RegistryOptions()

    async def post_auth(request: web.Request) -> web.StreamResponse:
        try:
            body = json.loads(await request.read() or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidParameter(f"invalid JSON: {exc}") from None
        return json_response(await login(body, options))

    return [Route("POST", "/auth", post_auth)]
