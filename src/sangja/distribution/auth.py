"""Registry authentication: anonymous, HTTP basic and the bearer-token flow.

A request is first sent with what the cache holds for its scope; a 401 carries a challenge
(`WWW-Authenticate: Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`) that
says how to authenticate. Bearer tokens are fetched from the realm (with basic credentials
when there are any, anonymously otherwise) and cached per (realm, service, scopes) until
they expire; a 401 with a cached token drops it and asks once more.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from sangja.errors import Unauthorized

_PARAM_RE = re.compile(r'([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')


@dataclass(frozen=True)
class Credentials:
    username: str = ""
    password: str = ""
    identity_token: str = ""      # an OAuth refresh token (Docker's IdentityToken)
    registry_token: str = ""      # a bearer token to send as it is (Docker's RegistryToken)

    @property
    def anonymous(self) -> bool:
        return not (self.username or self.password or self.identity_token or self.registry_token)

    @classmethod
    def from_auth_config(cls, cfg: dict[str, object]) -> Credentials:
        """From Docker's AuthConfig (X-Registry-Auth, POST /auth): username/password, or a
        base64 "auth" of "user:password", identitytoken, registrytoken."""
        def s(key: str) -> str:
            v = cfg.get(key)
            return v if isinstance(v, str) else ""

        user, password = s("username"), s("password")
        if not user and s("auth"):
            try:
                user, _, password = base64.b64decode(s("auth")).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user, password = "", ""
        return cls(user, password, s("identitytoken"), s("registrytoken"))


def _b64url_json_object(header: str) -> dict[str, Any]:
    """The JSON object in a base64url header (padding optional); {} when empty or undecodable."""
    if not header:
        return {}
    try:
        value = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def decode_registry_auth(header: str) -> tuple[Credentials, str]:
    """The X-Registry-Auth header: base64url JSON AuthConfig. Returns (credentials, serveraddress);
    an empty or undecodable header means anonymous, as with dockerd."""
    cfg = _b64url_json_object(header)
    if not cfg:
        return Credentials(), ""
    server = cfg.get("serveraddress")
    return Credentials.from_auth_config(cfg), server if isinstance(server, str) else ""


def decode_registry_config(header: str) -> dict[str, dict[str, Any]]:
    """X-Registry-Config (build): base64url JSON of registry → AuthConfig; undecodable means none."""
    return {str(k): v for k, v in _b64url_json_object(header).items() if isinstance(v, dict)}


@dataclass(frozen=True)
class Challenge:
    scheme: str                     # "bearer" or "basic"
    params: dict[str, str] = field(default_factory=dict)


def parse_challenges(header: str) -> list[Challenge]:
    """Parse a WWW-Authenticate header (one or more challenges)."""
    out: list[Challenge] = []
    for m in re.finditer(r"([A-Za-z]+)\s+((?:[A-Za-z0-9_-]+\s*=\s*(?:\"(?:[^\"\\]|\\.)*\"|[^\s,]*)\s*,?\s*)*)", header):
        params = {k.lower(): (q if q or not u else u).replace('\\"', '"') for k, q, u in _PARAM_RE.findall(m.group(2))}
        out.append(Challenge(m.group(1).lower(), params))
    return out


def token_refused(www_authenticate: str) -> bool:
    """Whether a 401 says the bearer token sent is not valid (expired, revoked: RFC 6750's
    error="invalid_token"), as opposed to valid but without the access asked for
    ("insufficient_scope"). Only the first is worth a fresh token."""
    return any(c.scheme == "bearer" and c.params.get("error") == "invalid_token"
               for c in parse_challenges(www_authenticate))


def basic_header(creds: Credentials) -> str:
    return "Basic " + base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()


class Authorizer:
    """Authorization headers for one registry and one set of credentials."""

    def __init__(self, session: aiohttp.ClientSession, creds: Credentials, ssl: object = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._session = session
        self.creds = creds
        self._ssl = ssl
        self._clock = clock       # the seam tests use to make a cached token expire
        self._challenge: Challenge | None = None
        self._tokens: dict[tuple[str, str, tuple[str, ...]], tuple[str, float]] = {}

    def header(self, scopes: tuple[str, ...]) -> str | None:
        """What to send before any 401 was seen (None: nothing known yet)."""
        if self.creds.registry_token:
            return "Bearer " + self.creds.registry_token
        ch = self._challenge
        if ch is None:
            return None
        if ch.scheme == "basic":
            return None if self.creds.anonymous else basic_header(self.creds)
        cached = self._tokens.get(self._token_key(ch, scopes))
        if cached and cached[1] > self._clock():
            return "Bearer " + cached[0]
        return None

    def _token_key(self, ch: Challenge, scopes: tuple[str, ...]) -> tuple[str, str, tuple[str, ...]]:
        return (ch.params.get("realm", ""), ch.params.get("service", ""), scopes)

    async def on_unauthorized(self, www_authenticate: str, scopes: tuple[str, ...], sent: str | None) -> str:
        """Handle a 401: return the header to retry with, or raise Unauthorized."""
        challenges = parse_challenges(www_authenticate)
        ch = next((c for c in challenges if c.scheme == "bearer"), None) or next(
            (c for c in challenges if c.scheme == "basic"), None
        )
        if ch is None:
            raise Unauthorized("unauthorized: authentication required")
        self._challenge = ch
        if ch.scheme == "basic":
            if self.creds.anonymous or (sent is not None and sent.startswith("Basic ")):
                raise Unauthorized("unauthorized: authentication required" if self.creds.anonymous
                                   else "unauthorized: incorrect username or password")
            return basic_header(self.creds)
        key = self._token_key(ch, scopes)
        if sent is not None and sent.startswith("Bearer "):
            self._tokens.pop(key, None)
            # The token we sent was refused: a fresh one for the same scopes would be refused too.
            if sent == "Bearer " + (await self._fetch_token(ch, scopes)):
                raise Unauthorized("unauthorized: authentication required")
        token = await self._fetch_token(ch, scopes)
        return "Bearer " + token

    async def _fetch_token(self, ch: Challenge, scopes: tuple[str, ...]) -> str:
        key = self._token_key(ch, scopes)
        cached = self._tokens.get(key)
        if cached and cached[1] > self._clock():
            return cached[0]
        realm = ch.params.get("realm", "")
        if not realm:
            raise Unauthorized("unauthorized: bearer challenge without a realm")
        query: list[tuple[str, str]] = []
        if ch.params.get("service"):
            query.append(("service", ch.params["service"]))
        query.extend(("scope", s) for s in scopes)
        headers: dict[str, str] = {}
        if self.creds.username or self.creds.password:
            headers["Authorization"] = basic_header(self.creds)
            query.append(("account", self.creds.username))
        if self.creds.identity_token:
            form = {"grant_type": "refresh_token", "refresh_token": self.creds.identity_token,
                    "service": ch.params.get("service", ""), "client_id": "sangja", "scope": " ".join(scopes)}
            req = self._session.post(realm, data=form, ssl=self._ssl)  # type: ignore[arg-type]
        else:
            req = self._session.get(realm, params=query, headers=headers, ssl=self._ssl)  # type: ignore[arg-type]
        async with req as resp:
            if resp.status in (401, 403):
                raise Unauthorized("unauthorized: incorrect username or password")
            if resp.status != 200:
                raise Unauthorized(f"unable to fetch an auth token from {realm}: status {resp.status}")
            body = await resp.json(content_type=None)
        token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise Unauthorized(f"unable to fetch an auth token from {realm}: no token in the answer")
        expires = body.get("expires_in")
        lifetime = float(expires) if isinstance(expires, int | float) and expires > 0 else 60.0
        # Refresh a little early so a token never expires between the check and the request.
        self._tokens[key] = (token, self._clock() + max(lifetime - 10, lifetime / 2))
        return token
