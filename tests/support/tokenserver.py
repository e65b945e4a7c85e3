"""A JWT token server for the distribution registry's `auth: token` mode (registry tests).

    with TokenServer.start(base, port, users={"alice": "s3cret"}) as ts:
        with RegistryServer.start(base / "reg", reg_port, token=ts.registry_config()) as reg:
            ...
            ts.requests          # every token request: account (or ""), scopes, granted access

It is what the registry's token authentication expects (distribution registry/auth/token):
a compact JWS signed RS256 with a key made by openssl in the test, whose self-signed
certificate is both the `rootcertbundle` the registry trusts and the `x5c` of each token's
header; claims iss (the issuer), aud (the service), sub, exp/nbf/iat, jti and `access`
([{"type": "repository", "name": …, "actions": […]}]).

Policy: a user with the right password gets every action it asks for; anonymous requests
get pull on repositories under `public/` and nothing else; a wrong password is a 401.
`lifetime` is the expires_in announced (and the exp claim); `stale_tokens = n` makes the
next n tokens already expired (beyond the registry's 60 s leeway), so the registry refuses
them and the client has to fetch a fresh one.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

SERVICE = "sangja-test-registry"
ISSUER = "sangja-test-token-issuer"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class TokenRequest:
    account: str
    scopes: tuple[str, ...]
    access: tuple[tuple[str, tuple[str, ...]], ...]   # (repository, actions) granted


@dataclass(frozen=True)
class RegistryTokenConfig:
    """The registry's auth.token settings."""

    realm: str
    service: str
    issuer: str
    rootcertbundle: Path


@dataclass
class TokenServer:
    base: Path
    port: int
    users: dict[str, str]
    lifetime: int = 300
    stale_tokens: int = 0
    requests: list[TokenRequest] = field(default_factory=list)
    _x5c: str = ""
    _loop: asyncio.AbstractEventLoop | None = None
    _runner: web.AppRunner | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def key(self) -> Path:
        return self.base / "token.key"

    @property
    def cert(self) -> Path:
        return self.base / "token.crt"

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def registry_config(self) -> RegistryTokenConfig:
        return RegistryTokenConfig(self.realm, SERVICE, ISSUER, self.cert)

    def scopes_requested(self) -> list[tuple[str, ...]]:
        with self._lock:
            return [r.scopes for r in self.requests]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- signing ---------------------------------------------------------------------------

    def _make_key(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(self.key),
                        "-out", str(self.cert), "-days", "2", "-subj", "/CN=sangja-test-token-signer"],
                       check=True, capture_output=True, timeout=60)
        self._x5c = base64.b64encode(ssl.PEM_cert_to_DER_cert(self.cert.read_text())).decode()

    def _sign(self, claims: dict[str, Any]) -> str:
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self._x5c]}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(self.key)], input=signing_input.encode(),
                             check=True, capture_output=True, timeout=30).stdout
        return f"{signing_input}.{_b64url(sig)}"

    # -- the HTTP side ---------------------------------------------------------------------

    def _account(self, request: web.Request) -> str | None:
        """The authenticated user, "" when anonymous, None when the credentials are wrong."""
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return ""
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return user if self.users.get(user) == password else None

    async def _token(self, request: web.Request) -> web.Response:
        account = self._account(request)
        if account is None:
            return web.json_response({"details": "incorrect username or password"}, status=401)
        scopes = tuple(request.query.getall("scope", []))
        access: list[tuple[str, tuple[str, ...]]] = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind != "repository" or not name:
                continue
            wanted = tuple(a for a in actions.split(",") if a)
            granted = wanted if account else tuple(a for a in wanted if a == "pull" and name.startswith("public/"))
            if granted:
                access.append((name, granted))
        with self._lock:
            self.requests.append(TokenRequest(account, scopes, tuple(access)))
            stale = self.stale_tokens > 0
            if stale:
                self.stale_tokens -= 1
        now = int(time.time()) - (3600 if stale else 0)
        claims = {"iss": ISSUER, "sub": account, "aud": SERVICE, "exp": now + self.lifetime, "nbf": now - 1,
                  "iat": now, "jti": uuid.uuid4().hex,
                  "access": [{"type": "repository", "name": n, "actions": list(a)} for n, a in access]}
        token = await asyncio.to_thread(self._sign, claims)
        return web.json_response({"token": token, "access_token": token, "expires_in": self.lifetime,
                                  "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))})

    @classmethod
    def start(cls, base: Path, port: int, users: dict[str, str], lifetime: int = 300) -> TokenServer:
        ts = cls(base, port, users, lifetime)
        ts._make_key()
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            ts._loop = loop
            app = web.Application()
            app.router.add_get("/token", ts._token)
            runner = web.AppRunner(app, access_log=None)
            ts._runner = runner
            try:
                loop.run_until_complete(runner.setup())
                loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        ts._thread = threading.Thread(target=run, name="token-server", daemon=True)
        ts._thread.start()
        if not ready.wait(30) or failure:
            raise RuntimeError(f"token server did not start: {failure[0] if failure else 'timeout'}")
        return ts

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)

    def __enter__(self) -> TokenServer:
        return self

    def __exit__(self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
