"""The one place where engine errors become HTTP answers."""

from __future__ import annotations

import json
import logging

from aiohttp import web

from sangja.api.http import Handler
from sangja.errors import SangjaError

log = logging.getLogger(__name__)


def status_for(exc: BaseException) -> int:
    """HTTP status for an exception: the error class decides; anything unclassified is 500."""
    if isinstance(exc, SangjaError):
        return exc.status
    return 500


def error_response(exc: BaseException) -> web.Response:
    status = status_for(exc)
    message = exc.message if isinstance(exc, SangjaError) else f"internal error: {exc}"
    if status == 304:
        # A 304 carries no body by HTTP's rules; docker's client only reads the status.
        return web.Response(status=304)
    # Content-Type must be exactly application/json: the Go client does not parse
    # the body when a charset follows (WIRE-NOTES §2).
    return web.Response(
        status=status, body=json.dumps({"message": message}).encode(), content_type="application/json"
    )


@web.middleware
async def error_middleware(
    request: web.Request,
    handler: Handler,
) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400:
            return error_response(_http_error(exc))
        raise
    except SangjaError as exc:
        return error_response(exc)
    except (ConnectionResetError, BrokenPipeError):
        raise
    except Exception as exc:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return error_response(exc)


def _http_error(exc: web.HTTPException) -> SangjaError:
    from sangja.errors import InvalidParameter, NotFound

    if exc.status == 404:
        return NotFound(f"page not found: {exc.reason}")
    if exc.status == 405:
        e = SangjaError("method not allowed")
        e.status = 405
        return e
    if exc.status == 413:
        return InvalidParameter("request body too large")
    e = SangjaError(exc.text or exc.reason)
    e.status = exc.status
    return e
