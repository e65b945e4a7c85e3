"""`POST /commit`: create an image from a container's changes."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from sangja.api.http import Route, json_response, qbool, qstr
from sangja.daemon.commit import CommitOptions, commit_container
from sangja.daemon.daemon import Daemon
from sangja.errors import InvalidParameter


def commit_routes(d: Daemon) -> list[Route]:
    async def post_commit(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        config: dict[str, Any] | None = None
        if raw.strip():
            try:
                value = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise InvalidParameter(f"invalid JSON: {exc}") from None
            if value is not None and not isinstance(value, dict):
                raise InvalidParameter("invalid JSON: expected an object")
            config = value
        opts = CommitOptions(
            container=qstr(request, "container") or "",
            repo=qstr(request, "repo") or "",
            tag=qstr(request, "tag") or "",
            comment=qstr(request, "comment") or "",
            author=qstr(request, "author") or "",
            pause=qbool(request, "pause", default=True),
            changes=request.query.getall("changes", []),
            config=config,
        )
        image_id = await commit_container(d, opts)
        return json_response({"Id": image_id}, status=201)

    return [Route("POST", "/commit", post_commit)]
