"""What pull and push share: registry options, the progress stream, and opening a repository.

`Progress` is the JSON-lines stream of a pull or push. Messages are queued in order from the
event loop (`send`) or from worker threads (`send_threadsafe`) and written by `pump()`, so a
slow client never blocks the transfer loop and the order of messages is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from sangja.daemon.config import DaemonConfig
from sangja.distribution.auth import Authorizer, Credentials
from sangja.distribution.client import RegistryError, Repository
from sangja.distribution.endpoint import CERTS_DIRS, DEFAULT_DOMAIN, Endpoint, endpoint_at, endpoint_for
from sangja.errors import Forbidden, NotFound, SangjaError, Unauthorized
from sangja.image.reference import Reference

Message = dict[str, Any]


@dataclass(frozen=True)
class RegistryOptions:
    """dockerd's --insecure-registry, --max-concurrent-downloads and --max-concurrent-uploads."""

    insecure: tuple[str, ...] = ()
    max_concurrent_downloads: int = 3
    max_concurrent_uploads: int = 5
    attempts: int = 5
    backoff: float = 0.5
    certs_dirs: tuple[Path, ...] = CERTS_DIRS   # <dir>/<host:port>/{ca.crt, client.cert, client.key}
    mirrors: tuple[str, ...] = ()   # --registry-mirror URLs, tried in order for docker.io pulls
    hub_url: str = ""               # docker.io's origin ("" = https://registry-1.docker.io)


def registry_options(cfg: DaemonConfig) -> RegistryOptions:
    return RegistryOptions(insecure=cfg.insecure_registries, max_concurrent_downloads=cfg.max_concurrent_downloads,
                           certs_dirs=cfg.registry_certs_dirs or CERTS_DIRS,
                           max_concurrent_uploads=cfg.max_concurrent_uploads,
                           mirrors=cfg.registry_mirrors, hub_url=cfg.docker_io_endpoint)


def endpoint(domain: str, opts: RegistryOptions) -> Endpoint:
    """Where `domain` is reached for a push, a login, or a pull from the origin."""
    return endpoint_for(domain, opts.insecure, opts.certs_dirs, opts.hub_url)


def pull_endpoints(domain: str, opts: RegistryOptions) -> list[tuple[Endpoint, bool]]:
    """(endpoint, is a mirror) in the order a pull tries them: docker.io's mirrors first, then
    the origin (moby's lookupV2Endpoints). Other registries have no mirrors."""
    mirrors = [(endpoint_at(domain, m, opts.certs_dirs), True) for m in opts.mirrors] \
        if domain == DEFAULT_DOMAIN else []
    return [*mirrors, (endpoint(domain, opts), False)]


class Progress:
    def __init__(self, write: Callable[[Message], Awaitable[None]]) -> None:
        self._write = write
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()

    def send(self, msg: Message) -> None:
        self._queue.put_nowait(msg)

    def send_threadsafe(self, msg: Message) -> None:
        self._loop.call_soon_threadsafe(self._queue.put_nowait, msg)

    def close(self) -> None:
        self._queue.put_nowait(None)

    async def pump(self) -> None:
        while (msg := await self._queue.get()) is not None:
            await self._write(msg)


@contextlib.asynccontextmanager
async def open_session() -> AsyncIterator[aiohttp.ClientSession]:
    timeout = aiohttp.ClientTimeout(total=None, connect=30, sock_connect=30, sock_read=60)
    async with aiohttp.ClientSession(timeout=timeout, auto_decompress=False,
                                     headers={"User-Agent": "sangja (docker compatible)"}) as s:
        yield s


def repository(session: aiohttp.ClientSession, ref: Reference, creds: Credentials, opts: RegistryOptions,
               *, push: bool = False, domain: str | None = None, at: Endpoint | None = None) -> Repository:
    """The repository `ref` names, at `at` (a mirror) or where its domain is reached."""
    where = at or endpoint(domain or ref.domain, opts)
    auth = Authorizer(session, creds, where.ssl)
    return Repository(session, where, ref.path, auth, push=push, attempts=opts.attempts, backoff=opts.backoff)


def pull_error(exc: SangjaError, ref: Reference) -> SangjaError:
    """Docker's wording for registry errors during a pull (moby's translatePullError)."""
    denied = f"pull access denied for {ref.familiar_name}, repository does not exist or may require 'docker login'"
    if isinstance(exc, RegistryError):
        if exc.code == "MANIFEST_UNKNOWN" or (exc.http_status == 404 and exc.code != "NAME_UNKNOWN"):
            what = ref.tag or ref.digest
            return NotFound(f"manifest for {ref.familiar_name}:{what} not found: {exc.message}"
                            if ref.tag else f"manifest for {ref.familiar_name}@{what} not found: {exc.message}")
        if exc.code == "NAME_UNKNOWN" or exc.http_status in (401, 403):
            return NotFound(f"{denied}: {exc.message}")
        return SangjaError(f"error from registry: {exc.message}")
    if isinstance(exc, Unauthorized | Forbidden):
        return NotFound(f"{denied}: {exc.message}")
    return exc
