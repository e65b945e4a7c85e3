"""`POST /build`: the classic builder (what `DOCKER_BUILDKIT=0 docker build` and docker-py use).

The body is the context as a tar (optionally compressed). It is streamed from the request to a
file in the build's scratch directory, never held in memory, then unpacked next to it. The
answer is docker's JSON stream; an error before anything was written is an HTTP error (as
dockerd does while its output is not yet flushed), afterwards it is the stream's last message.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sangja.api.http import JsonLines, Route, qbool, qstr
from sangja.daemon.daemon import Daemon
from sangja.errors import InvalidParameter, SangjaError

CHUNK = 1 << 20


if TYPE_CHECKING:
    from sangja.daemon.build import BuildOptions


def build_routes(d: Daemon) -> list[Route]:
    async def post_build(request: web.Request) -> web.StreamResponse:
        # The builder is imported on the first build: it would add ~5 MB to every idle daemon.
        from sangja.builder.context import extract_context
        from sangja.daemon.build import build_image, parse_tags

        opts = _options(request)
        parse_tags(opts.tags)
        work = d.config.data_root / "build" / f"ctx-{secrets.token_hex(8)}"
        ctx = work / "context"
        ctx.mkdir(parents=True)
        stream = JsonLines(request)
        started = False

        async def send(message: dict[str, Any]) -> None:
            nonlocal started
            started = True
            await stream.send(message)

        try:
            body = work / "context.tar"
            f = await asyncio.to_thread(body.open, "wb")
            try:
                async for chunk in request.content.iter_chunked(CHUNK):
                    await asyncio.to_thread(f.write, chunk)
            finally:
                await asyncio.to_thread(f.close)
            await asyncio.to_thread(extract_context, body, ctx)
            await asyncio.to_thread(body.unlink)
            try:
                await build_image(d, ctx, opts, send)
            except Exception as exc:
                if not started:
                    raise
                await stream.send(_error_message(exc))
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)
        return await stream.finish()

    return [Route("POST", "/build", post_build)]


def _error_message(exc: Exception) -> dict[str, Any]:
    """moby's streamformatter.FormatError: a failed RUN's exit status is errorDetail.code (the
    docker CLI exits with it); other errors carry only the message."""
    from sangja.daemon.build import BuildFailed

    message = exc.message if isinstance(exc, SangjaError) else f"internal error: {exc}"
    detail: dict[str, Any] = {"message": message}
    if isinstance(exc, BuildFailed) and exc.code:
        detail = {"code": exc.code, "message": message}
    return {"errorDetail": detail, "error": message}


def _json_map(request: web.Request, name: str) -> dict[str, Any]:
    raw = qstr(request, name) or ""
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise InvalidParameter(f"invalid {name} JSON: {raw}") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidParameter(f"invalid {name} JSON: expected an object")
    return value


def _options(request: web.Request) -> BuildOptions:
    from sangja.daemon.build import BuildOptions
    from sangja.distribution.auth import decode_registry_config

    platform = qstr(request, "platform") or ""
    if platform and not platform.startswith("linux"):
        raise InvalidParameter(f'"{platform}": operating system is not supported')
    buildargs = {str(k): (None if v is None else str(v)) for k, v in _json_map(request, "buildargs").items()}
    labels = {str(k): str(v) for k, v in _json_map(request, "labels").items()}
    return BuildOptions(
        tags=request.query.getall("t", []),
        dockerfile=qstr(request, "dockerfile") or "Dockerfile",
        buildargs=buildargs,
        labels=labels,
        target=qstr(request, "target") or "",
        nocache=qbool(request, "nocache"),
        pull=qbool(request, "pull"),
        rm=qbool(request, "rm", default=True),
        forcerm=qbool(request, "forcerm"),
        quiet=qbool(request, "q"),
        networkmode=qstr(request, "networkmode") or "",
        auth_configs=decode_registry_config(request.headers.get("X-Registry-Config", "")),
    )
