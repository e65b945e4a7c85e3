"""Request parsing and response helpers shared by every route module.

Docker's query booleans accept 1/true/True/yes; JSON bodies must be objects;
JSON answers carry Content-Type exactly `application/json`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from sangja.errors import InvalidParameter

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=json.dumps(data).encode(), content_type="application/json")


def no_content() -> web.Response:
    return web.Response(status=204)


def qbool(request: web.Request, name: str, default: bool = False) -> bool:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    return raw.lower() not in ("0", "false", "no", "off")


def qint(request: web.Request, name: str, default: int | None = None) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidParameter(f"invalid value for {name}: {raw!r} is not an integer") from None


def qstr(request: web.Request, name: str, default: str | None = None) -> str | None:
    raw = request.query.get(name)
    return default if raw is None else raw


def qfilters(request: web.Request) -> dict[str, list[str]]:
    """Parse Docker's `filters` query parameter.

    Accepts both the current form `{"name": ["a", "b"]}` and the legacy form
    `{"name": {"a": true}}` that older clients send.
    """
    raw = request.query.get("filters")
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidParameter(f"invalid filter: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidParameter("invalid filter: filters must be a JSON object")
    out: dict[str, list[str]] = {}
    for key, value in data.items():
        if isinstance(value, list):
            out[key] = [str(v) for v in value]
        elif isinstance(value, dict):
            out[key] = [str(k) for k, on in value.items() if on]
        elif isinstance(value, str):
            out[key] = [value]
        else:
            raise InvalidParameter(f"invalid filter {key!r}")
    return out


async def json_body(request: web.Request, *, required: bool = False) -> dict[str, Any]:
    """The request's JSON object body; `{}` when empty and not required."""
    raw = await request.read()
    if not raw.strip():
        if required:
            raise InvalidParameter("request body is required")
        return {}
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidParameter(f"invalid JSON: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidParameter("invalid JSON: expected an object")
    return data


class JsonLines:
    """A chunked `application/json` response written one JSON object per line
    (pull/push/load/build progress, events)."""

    def __init__(self, request: web.Request) -> None:
        self._request = request
        self.response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        self._prepared = False

    async def start(self) -> None:
        if not self._prepared:
            self.response.enable_chunked_encoding()
            await self.response.prepare(self._request)
            self._prepared = True

    async def send(self, obj: dict[str, Any]) -> None:
        await self.start()
        await self.response.write(json.dumps(obj).encode() + b"\r\n")

    async def error(self, message: str) -> None:
        await self.send({"errorDetail": {"message": message}, "error": message})

    async def finish(self) -> web.StreamResponse:
        await self.start()
        await self.response.write_eof()
        return self.response
