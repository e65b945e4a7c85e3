"""The Docker Engine API client the commands use: version negotiation, JSON calls, errors.

Contract:
- The first call pings the daemon (`HEAD /_ping`, then `GET /_ping` on 405) and uses
  min(server `Api-Version`, 1.51) for every later path `/v<X>/...`; without the header,
  1.24 (as the docker CLI does). A pinned version (`SANGJA_API_VERSION` or
  `DOCKER_API_VERSION`) skips the ping.
- An HTTP status >= 400 raises `DaemonError` carrying the daemon's `{"message"}`.
- A daemon that cannot be reached raises `DaemonUnreachable` with one clear line.
- JSON helpers read the whole body and return the decoded value; `stream()` returns the
  open `Response` for the caller to read (progress lines, logs, tar archives);
  `hijack()` returns the raw socket after the `101 UPGRADED`.
"""

from __future__ import annotations

from sangja import __version__
from sangja.cli import jsoncodec
from sangja.cli.errors import PROG, CLIError, DaemonError, DaemonUnreachable
from sangja.cli.transport import Connection, Endpoint, ProtocolError, Response

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, BinaryIO

    Query = dict[str, Any]  # values: str, int, bool, None, or lists of them

MAX_API_VERSION = "1.51"
FALLBACK_API_VERSION = "1.24"
DEFAULT_HOST = "unix:///run/sangja/sangja.sock"
USER_AGENT = f"sangja-cli/{__version__} (linux)"


def version_tuple(v: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in v.split("."))
    except ValueError:
        return (0,)


def encode_query(query: Query | None) -> str:
    """Encode like Go's url.Values.Encode: keys sorted, bools as 1/0, None skipped, lists repeated."""
    if not query:
        return ""
    parts: list[str] = []
    for key in sorted(query):
        value = query[key]
        if value is None:
            continue
        values = value if isinstance(value, list | tuple) else [value]
        for v in values:
            if isinstance(v, bool):
                v = "1" if v else "0"
            parts.append(f"{_escape(key)}={_escape(str(v))}")
    return "&".join(parts)


_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def _escape(text: str) -> str:
    out = []
    for b in text.encode():
        if b in _SAFE:
            out.append(chr(b))
        elif b == 0x20:
            out.append("+")
        else:
            out.append(f"%{b:02X}")
    return "".join(out)


def encode_filters(filters: dict[str, list[str]]) -> str | None:
    """Docker's `filters` parameter: {"key": {"value": true}}, or None when empty."""
    if not filters:
        return None
    return jsoncodec.dumps({k: dict.fromkeys(vs, True) for k, vs in filters.items()}, separators=(",", ":"))


class APIClient:
    """Talks to one daemon endpoint; negotiates the API version on first use."""

    def __init__(self, host: str, pinned_version: str | None = None,
                 trace: Callable[[str], None] | None = None) -> None:
        """trace, when given, receives one line per request and response (--log-level debug)."""
        self.trace = trace
        try:
            self.endpoint = Endpoint.parse(host)
        except ValueError as exc:
            raise CLIError(str(exc)) from None
        self.host = self.endpoint.url
        self._version = pinned_version
        self.ping_headers: dict[str, str] = {}  # the ping's answer: Api-Version, Ostype, ...
        self._idle: list[Connection] = []

    # -- connections -----------------------------------------------------------------------

    def connect(self) -> Connection:
        try:
            return self.endpoint.connect()
        except PermissionError:
            raise DaemonUnreachable(
                f"permission denied while trying to connect to the {PROG} daemon socket at {self.host}"
            ) from None
        except OSError:
            raise DaemonUnreachable(
                f"Cannot connect to the {PROG} daemon at {self.host}. Is sangjad running? "
                "(start it with: sangjad &)"
            ) from None

    def _checkout(self) -> tuple[Connection, bool]:
        while True:
            try:
                conn = self._idle.pop()  # atomic: commands may call from several threads
            except IndexError:
                return self.connect(), False
            if not conn.closed:
                return conn, True

    def _checkin(self, conn: Connection, resp: Response) -> None:
        if conn in self._idle:
            return  # already returned (a body-less answer is checked in when its head arrives)
        if resp.keep_alive and not conn.closed:
            self._idle.append(conn)
        else:
            conn.close()

    def close(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()

    # -- version negotiation ---------------------------------------------------------------

    @property
    def version(self) -> str:
        if self._version is None:
            self._version = self._negotiate()
        return self._version

    def _negotiate(self) -> str:
        resp = self._send("HEAD", "/_ping", None, None, {})
        if resp.status == 405:
            resp = self._send("GET", "/_ping", None, None, {})
            resp.read()
        self.ping_headers = resp.headers
        server = resp.headers.get("api-version")
        if not server:
            return FALLBACK_API_VERSION if resp.status < 400 else MAX_API_VERSION
        if version_tuple(server) > version_tuple(MAX_API_VERSION):
            return MAX_API_VERSION
        return server

    # -- requests --------------------------------------------------------------------------

    def _target(self, path: str, query: Query | None, versioned: bool) -> str:
        prefix = f"/v{self.version}" if versioned else ""
        qs = encode_query(query)
        return prefix + path + ("?" + qs if qs else "")

    def _send(
        self,
        method: str,
        target: str,
        body: bytes | BinaryIO | None,
        content_type: str | None,
        extra: dict[str, str],
    ) -> Response:
        headers = [("Host", self.endpoint.host_header), ("User-Agent", USER_AGENT)]
        if content_type:
            headers.append(("Content-Type", content_type))
        headers.extend(extra.items())
        if self.trace is not None:
            self.trace(f"{method} {target}")
        conn, reused = self._checkout()
        try:
            try:
                resp = conn.request(method, target, headers, body)
            except (ProtocolError, ConnectionError):
                conn.close()
                if not (reused and (body is None or isinstance(body, bytes))):
                    raise
                # The daemon closed an idle keep-alive connection: retry once, fresh.
                conn = self.connect()
                resp = conn.request(method, target, headers, body)
        except (ProtocolError, ConnectionError) as exc:
            conn.close()
            raise CLIError(f"error during connect: {method} {target}: {exc}") from None
        if self.trace is not None:
            self.trace(f"-> {resp.status} {resp.reason} ({resp.content_type or 'no body'})")
        if resp.complete:
            self._checkin(conn, resp)
        return resp

    def request(
        self,
        method: str,
        path: str,
        query: Query | None = None,
        body: Any = None,
        *,
        raw_body: bytes | BinaryIO | None = None,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
        versioned: bool = True,
    ) -> Response:
        """Send a request; raise DaemonError on an error status; return the unread Response."""
        payload: bytes | BinaryIO | None = raw_body
        if body is not None:
            payload = jsoncodec.dumps(body, separators=(",", ":")).encode()
            content_type = content_type or "application/json"
        target = self._target(path, query, versioned)
        resp = self._send(method, target, payload, content_type, headers or {})
        if resp.status >= 400:
            raise self._error(resp, target)
        return resp

    def _error(self, resp: Response, target: str) -> DaemonError:
        try:
            raw = resp.read()
        except OSError:
            raw = b""
        resp.conn.close()
        text = raw.decode(errors="replace").strip()
        if resp.content_type == "application/json":
            try:
                message = jsoncodec.loads(raw).get("message", "") if raw else ""
            except (ValueError, AttributeError):
                message = ""
            if not message:
                message = f"API returned a {resp.status} ({resp.reason}) but provided no error-message"
            return DaemonError(resp.status, str(message).strip())
        if resp.status == 404 and not text:
            text = (f"request returned {resp.status} {resp.reason} for API route and version "
                    f"{target.split('?')[0]}, check if the server supports the requested API version")
        return DaemonError(resp.status, text or resp.reason)

    def call(self, method: str, path: str, query: Query | None = None, body: Any = None) -> Any:
        """A request whose answer is JSON (or empty); returns the decoded value or None."""
        resp = self.request(method, path, query, body)
        conn = resp.conn
        data = resp.read()
        self._checkin(conn, resp)
        if not data.strip():
            return None
        try:
            return jsoncodec.loads(data)
        except ValueError:
            raise CLIError(f"error decoding the daemon's answer to {method} {path}: {data[:200]!r}") from None

    def get(self, path: str, query: Query | None = None) -> Any:
        return self.call("GET", path, query)

    def post(self, path: str, query: Query | None = None, body: Any = None) -> Any:
        return self.call("POST", path, query, body)

    def delete(self, path: str, query: Query | None = None) -> Any:
        return self.call("DELETE", path, query)

    def stream(self, method: str, path: str, query: Query | None = None, **kw: Any) -> Response:
        """Like request(); the caller reads the body and then calls `finish(resp)`."""
        return self.request(method, path, query, **kw)

    def finish(self, resp: Response) -> None:
        if resp.complete:
            self._checkin(resp.conn, resp)
        else:
            resp.conn.close()

    def hijack(self, path: str, query: Query | None = None, body: Any = None) -> tuple[Any, bytes, bool]:
        """POST with `Upgrade: tcp`; return (socket, bytes already read, is_multiplexed)."""
        payload = jsoncodec.dumps(body, separators=(",", ":")).encode() if body is not None else None
        target = self._target(path, query, True)
        headers = [
            ("Host", self.endpoint.host_header),
            ("User-Agent", USER_AGENT),
            ("Connection", "Upgrade"),
            ("Upgrade", "tcp"),
            ("Content-Type", "application/json" if payload is not None else "text/plain"),
        ]
        conn = self.connect()
        try:
            resp = conn.request("POST", target, headers, payload)
        except (ProtocolError, ConnectionError) as exc:
            conn.close()
            raise CLIError(f"error during connect: {exc}") from None
        if resp.status >= 400:
            raise self._error(resp, target)
        sock, leftover = resp.detach()
        multiplexed = resp.content_type != "application/vnd.docker.raw-stream"
        return sock, leftover, multiplexed
