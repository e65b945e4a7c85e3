"""`docker login` (POST /auth): check credentials against a registry.

dockerd does not store credentials: it only tries them (GET /v2/ with basic auth, or the
token flow the registry's challenge asks for) and answers "Login Succeeded"; the client keeps
them in ~/.docker/config.json and sends them back in X-Registry-Auth.
"""

from __future__ import annotations

from typing import Any

from sangja.daemon.registry_session import RegistryOptions, open_session
from sangja.daemon.registry_session import endpoint as registry_endpoint
from sangja.distribution.auth import Authorizer, Credentials
from sangja.distribution.client import RegistryError, Repository
from sangja.distribution.endpoint import DEFAULT_DOMAIN
from sangja.errors import InvalidParameter, Unauthorized


def registry_domain(server: str) -> str:
    """"https://index.docker.io/v1/", "localhost:5000", "http://h:5000/v2/" → the reference domain."""
    host = server.strip()
    for scheme in ("https://", "http://"):
        if host.startswith(scheme):
            host = host[len(scheme):]
    host = host.split("/", 1)[0]
    if not host or host in ("index.docker.io", "registry-1.docker.io", "docker.io"):
        return DEFAULT_DOMAIN
    return host


async def login(auth_config: Any, opts: RegistryOptions) -> dict[str, str]:
    if not isinstance(auth_config, dict):
        raise InvalidParameter("invalid auth configuration: expected a JSON object")
    creds = Credentials.from_auth_config(auth_config)
    server = auth_config.get("serveraddress")
    domain = registry_domain(server if isinstance(server, str) else "")
    endpoint = registry_endpoint(domain, opts)
    async with open_session() as session:
        repo = Repository(session, endpoint, "", Authorizer(session, creds, endpoint.ssl), attempts=opts.attempts,
                          backoff=opts.backoff)
        try:
            await repo.ping()
        except (RegistryError, Unauthorized) as exc:
            status = getattr(exc, "http_status", 401)
            if status not in (401, 403):
                raise
            if "token" in exc.message or "incorrect" in exc.message:
                raise Unauthorized(f'Get "{endpoint.base_url}/v2/": {exc.message}') from None
            reason = "401 Unauthorized" if status == 401 else "403 Forbidden"
            raise Unauthorized(f"login attempt to {endpoint.base_url}/v2/ failed with status: {reason}") from None
    return {"Status": "Login Succeeded", "IdentityToken": ""}
