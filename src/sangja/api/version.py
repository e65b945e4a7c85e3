"""API versions served, and the per-request version check (like dockerd's version middleware)."""

from __future__ import annotations

from aiohttp import web

from sangja.api.http import Handler
from sangja.errors import InvalidParameter

API_VERSION = "1.51"
MIN_API_VERSION = "1.24"
VERSION_KEY = web.RequestKey("api_version", str)


def parse(v: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in v.split("."))
    except ValueError:
        raise InvalidParameter(f"invalid API version: {v!r}") from None


def at_least(request: web.Request, v: str) -> bool:
    """True when the request's negotiated API version is >= v."""
    return parse(request.get(VERSION_KEY, API_VERSION)) >= parse(v)


@web.middleware
async def version_middleware(
    request: web.Request,
    handler: Handler,
) -> web.StreamResponse:
    requested = request.match_info.get("api_version")
    if requested:
        got = parse(requested)
        if got < parse(MIN_API_VERSION):
            raise InvalidParameter(
                f"client version {requested} is too old. Minimum supported API version is "
                f"{MIN_API_VERSION}, please upgrade your client to a newer version"
            )
        if got > parse(API_VERSION):
            raise InvalidParameter(
                f"client version {requested} is too new. Maximum supported API version is {API_VERSION}"
            )
        request[VERSION_KEY] = requested
    else:
        request[VERSION_KEY] = API_VERSION
    return await handler(request)
