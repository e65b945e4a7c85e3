"""A tiny Docker Engine API client over a Unix socket, for the test harness itself.

The harness uses it to wait for a daemon, import the test image and clean up; the tests
that exercise the API go through the docker CLI, the sangja CLI and docker-py instead.

    status, body = request("/tmp/sj-x/sock", "GET", "/_ping")
    containers = get_json(sock, "/containers/json?all=1")
"""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client on an AF_UNIX stream socket (the Host header is a placeholder)."""

    def __init__(self, socket_path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class ApiError(Exception):
    """A non-2xx answer: carries the status and Docker's `message`."""

    def __init__(self, method: str, path: str, status: int, body: bytes) -> None:
        self.status = status
        self.message = _message(body)
        super().__init__(f"{method} {path} -> {status}: {self.message}")


def _message(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode(errors="replace")
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])
    return body.decode(errors="replace")


def request(
    socket_path: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> tuple[int, bytes]:
    """One HTTP request; returns (status, body). Raises OSError when nothing listens."""
    conn = UnixHTTPConnection(socket_path, timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def call(
    socket_path: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> bytes:
    """Like `request`, but a status >= 400 raises ApiError."""
    status, data = request(socket_path, method, path, body, headers, timeout)
    if status >= 400:
        raise ApiError(method, path, status, data)
    return data


def get_json(socket_path: str, path: str, timeout: float = 60.0) -> Any:
    return json.loads(call(socket_path, "GET", path, timeout=timeout))


def ping(socket_path: str, timeout: float = 2.0) -> bool:
    """True when a daemon answers GET /_ping with 200 on the socket."""
    try:
        status, _ = request(socket_path, "GET", "/_ping", timeout=timeout)
    except (OSError, http.client.HTTPException):
        return False
    return status == 200
