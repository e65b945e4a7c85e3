"""A fake Docker Engine API on a temporary Unix socket, for testing the sangja CLI.

The fake speaks HTTP/1.1 itself (threads and raw sockets), so tests control exactly what
goes on the wire: keep-alive, chunked bodies, a `101 UPGRADED` hijack followed by raw
frames, and a wait response whose headers are sent at once and body later.

    with FakeAPI(tmp_path) as api:
        api.json("GET", "/containers/json", [...])
        rc, out, err = invoke(api, ["ps"])
        api.requests[-1].path   # "/v1.51/containers/json"

This module also tests the CLI's HTTP transport against the fake.
"""

from __future__ import annotations

import io
import json
import re
import socket
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sangja.cli import main as cli_main
from sangja.cli.client import APIClient
from sangja.cli.errors import DaemonError, DaemonUnreachable
from sangja.cli.stdcopy import frame
from sangja.cli.transport import Endpoint


class Request:
    def __init__(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.target = target
        split = urlsplit(target)
        self.path = split.path
        self.query: dict[str, Any] = {
            k: v if len(v) > 1 else v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        self.headers = headers
        self.body = body
        m = re.match(r"^/v[0-9.]+(/.*)$", self.path)
        self.route = m.group(1) if m else self.path

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<{self.method} {self.target}>"


class Conn:
    """The server side of one client connection (what handlers write to)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""
        self.keep_open = True

    def recv_until(self, marker: bytes) -> bytes | None:
        while marker not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buf += data
        head, _, self.buf = self.buf.partition(marker)
        return head

    def recv_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("short body")
            self.buf += data
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def send_response(self, status: int, body: bytes = b"", content_type: str | None = "application/json",
                      headers: dict[str, str] | None = None) -> None:
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'OK')}", "Api-Version: 1.51"]
        if content_type and status not in (204, 304):
            lines.append(f"Content-Type: {content_type}")
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        if status not in (204, 304):
            lines.append(f"Content-Length: {len(body)}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    def start_chunked(self, status: int = 200, content_type: str = "application/json") -> None:
        head = (f"HTTP/1.1 {status} OK\r\nApi-Version: 1.51\r\nContent-Type: {content_type}\r\n"
                "Transfer-Encoding: chunked\r\n\r\n")
        self.sock.sendall(head.encode())

    def chunk(self, data: bytes) -> None:
        if data:
            self.sock.sendall(b"%x\r\n" % len(data) + data + b"\r\n")

    def end_chunked(self) -> None:
        self.sock.sendall(b"0\r\n\r\n")

    def upgrade(self, tty: bool = False) -> None:
        ctype = "application/vnd.docker.raw-stream" if tty else "application/vnd.docker.multiplexed-stream"
        self.sock.sendall(f"HTTP/1.1 101 UPGRADED\r\nContent-Type: {ctype}\r\nConnection: Upgrade\r\n"
                          "Upgrade: tcp\r\n\r\n".encode())
        self.keep_open = False


REASONS = {200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified", 400: "Bad Request",
           404: "Not Found", 409: "Conflict", 500: "Internal Server Error"}

Handler = Callable[[Request, Conn], None]


class FakeAPI:
    """Routes are (method, regex over the unversioned path) → handler(request, conn)."""

    def __init__(self, tmp_path: Path, api_version: str | None = "1.51") -> None:
        self.socket_path = str(tmp_path / "fake-api.sock")
        self.host = "unix://" + self.socket_path
        self.api_version = api_version
        self.requests: list[Request] = []
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.errors: list[BaseException] = []
        self._server: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        self._stopping = False
        self.stopped = threading.Event()  # set on exit: long-running handlers should return

    # -- routes --------------------------------------------------------------------------------

    def on(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.insert(0, (method, re.compile("^" + pattern + "$"), handler))

    def json(self, method: str, pattern: str, body: Any, status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.on(method, pattern, lambda req, conn: conn.send_response(status, data))

    def error(self, method: str, pattern: str, status: int, message: str) -> None:
        self.json(method, pattern, {"message": message}, status)

    def no_content(self, method: str, pattern: str) -> None:
        self.on(method, pattern, lambda req, conn: conn.send_response(204, content_type=None))

    def routed(self, route: str) -> list[Request]:
        return [r for r in self.requests if r.route == route]

    # -- server ----------------------------------------------------------------------------------

    def __enter__(self) -> FakeAPI:
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        Path(self.socket_path).unlink(missing_ok=True)
        self._server.bind(self.socket_path)
        self._server.listen(16)
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping = True
        self.stopped.set()
        assert self._server is not None
        try:
            self._server.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        except OSError:
            pass
        self._server.close()
        for s in list(self._socks):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        for t in self._threads:
            t.join(timeout=5)
        Path(self.socket_path).unlink(missing_ok=True)
        if self.errors:
            raise self.errors[0]

    def _accept(self) -> None:
        assert self._server is not None
        while not self._stopping:
            try:
                sock, _ = self._server.accept()
            except OSError:
                return
            self._socks.append(sock)
            t = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, sock: socket.socket) -> None:
        conn = Conn(sock)
        try:
            while conn.keep_open:
                head = conn.recv_until(b"\r\n\r\n")
                if head is None:
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    k, _, v = line.partition(":")
                    headers[k.strip().lower()] = v.strip()
                body = b""
                if headers.get("transfer-encoding", "").lower() == "chunked":
                    while True:
                        size_line = conn.recv_until(b"\r\n")
                        assert size_line is not None
                        size = int(size_line.split(b";")[0], 16)
                        if size == 0:
                            conn.recv_until(b"\r\n")
                            break
                        body += conn.recv_exact(size)
                        conn.recv_exact(2)
                elif "content-length" in headers:
                    body = conn.recv_exact(int(headers["content-length"]))
                req = Request(method, target, headers, body)
                self.requests.append(req)
                self._dispatch(req, conn)
        except OSError:
            pass
        except BaseException as exc:  # surfaced by __exit__
            self.errors.append(exc)
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def _dispatch(self, req: Request, conn: Conn) -> None:
        if req.route == "/_ping":
            lines = ["HTTP/1.1 200 OK", "Content-Type: text/plain; charset=utf-8", "Ostype: linux",
                     "Content-Length: 2"]
            if self.api_version:
                lines.append(f"Api-Version: {self.api_version}")
            conn.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + (b"OK" if req.method == "GET" else b""))
            return
        for method, pattern, handler in self.routes:
            if method == req.method and pattern.match(req.route):
                handler(req, conn)
                return
        conn.send_response(404, json.dumps({"message": f"page not found: {req.method} {req.route}"}).encode())


class Streams:
    """In-memory stdin/stdout/stderr for invoking the CLI in-process."""

    def __init__(self, stdin: bytes = b"") -> None:
        self.stdin = io.BytesIO(stdin)
        self.stdout = io.BytesIO()
        self.stderr = io.BytesIO()


def invoke(api: FakeAPI | None, argv: list[str], stdin: bytes = b"",
           environ: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run `sangja <argv>` in-process against the fake; return (status, stdout, stderr)."""
    streams = Streams(stdin)
    env = dict(environ or {})
    if api is not None:
        env.setdefault("SANGJA_HOST", api.host)
    rc = cli_main.execute(argv, streams, env)
    return rc, streams.stdout.getvalue().decode(), streams.stderr.getvalue().decode()


# -- scripted container helpers -----------------------------------------------------------------


class ScriptedContainer:
    """A container for `run`/`start -a`: attach → (start) → output frames → exit with status.

    The wait handler sends its headers at once and holds the body until the attach stream
    ends, as dockerd does; `echo_stdin` sends stdin back as stdout until the client's EOF.
    """

    def __init__(self, api: FakeAPI, cid: str, frames: Iterable[tuple[int, bytes]] = (), status: int = 0,
                 tty: bool = False, echo_stdin: bool = False, start_error: tuple[int, str] | None = None) -> None:
        self.api = api
        self.cid = cid
        self.frames = list(frames)
        self.status = status
        self.tty = tty
        self.echo_stdin = echo_stdin
        self.started = threading.Event()
        self.exited = threading.Event()
        self.wait_conditions: list[str] = []
        api.on("POST", f"/containers/{cid}/attach", self.attach)
        api.on("POST", f"/containers/{cid}/wait", self.wait)
        if start_error is None:
            api.on("POST", f"/containers/{cid}/start", self.start)
        else:
            api.error("POST", f"/containers/{cid}/start", *start_error)
            self.exited.set()

    def start(self, req: Request, conn: Conn) -> None:
        conn.send_response(204, content_type=None)
        self.started.set()

    def wait_until(self, event: threading.Event, timeout: float = 10.0) -> bool:
        """Wait for event, giving up early when the fake is shutting down."""
        for _ in range(int(timeout / 0.02)):
            if event.wait(0.02):
                return True
            if self.api.stopped.is_set():
                return False
        return False

    def attach(self, req: Request, conn: Conn) -> None:
        conn.upgrade(self.tty)
        if not self.wait_until(self.started):
            conn.sock.close()
            return
        for stream, payload in self.frames:
            conn.sock.sendall(payload if self.tty else frame(stream, payload))
        if self.echo_stdin:
            while True:
                data = conn.buf or conn.sock.recv(65536)
                conn.buf = b""
                if not data:
                    break
                conn.sock.sendall(data if self.tty else frame(1, data))
        conn.sock.shutdown(socket.SHUT_RDWR)
        conn.sock.close()
        self.exited.set()

    def wait(self, req: Request, conn: Conn) -> None:
        self.wait_conditions.append(str(req.query.get("condition", "")))
        conn.start_chunked()
        if self.wait_until(self.exited):
            conn.chunk(json.dumps({"StatusCode": self.status, "Error": None}).encode())
            conn.end_chunked()


# -- tests of the transport and client against the fake -----------------------------------------


def test_negotiates_version_from_ping_and_prefixes_paths(tmp_path: Path) -> None:
    with FakeAPI(tmp_path, api_version="1.43") as api:
        api.json("GET", "/info", {"ID": "x"})
        client = APIClient(api.host)
        assert client.get("/info") == {"ID": "x"}
        assert [r.method for r in api.requests] == ["HEAD", "GET"]
        assert api.requests[0].path == "/_ping"
        assert api.requests[1].path == "/v1.43/info"


def test_caps_newer_daemons_at_151_and_falls_back_to_124_without_header(tmp_path: Path) -> None:
    with FakeAPI(tmp_path, api_version="1.99") as api:
        assert APIClient(api.host).version == "1.51"
    with FakeAPI(tmp_path, api_version=None) as api:
        assert APIClient(api.host).version == "1.24"


def test_pinned_version_skips_the_ping(tmp_path: Path) -> None:
    with FakeAPI(tmp_path) as api:
        api.json("GET", "/version", {"Version": "1"})
        APIClient(api.host, "1.41").get("/version")
        assert [r.path for r in api.requests] == ["/v1.41/version"]


def test_keep_alive_reuses_one_connection(tmp_path: Path) -> None:
    with FakeAPI(tmp_path) as api:
        api.json("GET", "/info", {})
        client = APIClient(api.host)
        for _ in range(3):
            client.get("/info")
        assert len(api._socks) == 1


def test_decodes_chunked_bodies_split_anywhere(tmp_path: Path) -> None:
    def handler(req: Request, conn: Conn) -> None:
        conn.start_chunked()
        payload = json.dumps([{"Id": "a" * 64, "n": list(range(300))}]).encode()
        for i in range(0, len(payload), 7):
            conn.chunk(payload[i:i + 7])
        conn.end_chunked()

    with FakeAPI(tmp_path) as api:
        api.on("GET", "/containers/json", handler)
        client = APIClient(api.host)
        assert client.get("/containers/json")[0]["n"][-1] == 299
        assert client.get("/containers/json")[0]["Id"] == "a" * 64  # the connection is still usable


def test_daemon_errors_carry_the_message(tmp_path: Path) -> None:
    with FakeAPI(tmp_path) as api:
        api.error("DELETE", "/containers/x", 404, "No such container: x")
        with pytest.raises(DaemonError) as info:
            APIClient(api.host).delete("/containers/x")
        assert str(info.value) == "Error response from daemon: No such container: x"
        assert info.value.not_found


def test_plain_text_errors_are_shown_as_is(tmp_path: Path) -> None:
    with FakeAPI(tmp_path) as api:
        api.on("GET", "/info", lambda req, conn: conn.send_response(500, b"boom\n", "text/plain"))
        with pytest.raises(DaemonError, match=r"Error response from daemon: boom$"):
            APIClient(api.host).get("/info")


def test_unreachable_daemon_is_one_clear_error(tmp_path: Path) -> None:
    client = APIClient(f"unix://{tmp_path}/nothing.sock")
    with pytest.raises(DaemonUnreachable) as info:
        client.get("/info")
    assert str(info.value) == (f"Cannot connect to the sangja daemon at unix://{tmp_path}/nothing.sock. "
                               "Is sangjad running? (start it with: sangjad &)")


def test_streamed_upload_uses_chunked_encoding_for_pipes(tmp_path: Path) -> None:
    with FakeAPI(tmp_path) as api:
        api.json("POST", "/images/load", {})
        client = APIClient(api.host)
        r, w = socket.socketpair()
        payload = bytes(range(256)) * 1000
        def send() -> None:
            w.sendall(payload)
            w.close()

        sender = threading.Thread(target=send)
        sender.start()
        with r.makefile("rb") as stream:
            resp = client.request("POST", "/images/load", raw_body=stream, content_type="application/x-tar")
            resp.read()
        sender.join()
        req = api.routed("/images/load")[0]
        assert req.headers["transfer-encoding"] == "chunked"
        assert req.body == payload


def test_regular_files_are_sent_with_content_length(tmp_path: Path) -> None:
    archive = tmp_path / "a.tar"
    archive.write_bytes(b"x" * 100_000)
    with FakeAPI(tmp_path) as api:
        api.json("POST", "/images/load", {})
        with archive.open("rb") as f:
            APIClient(api.host).request("POST", "/images/load", raw_body=f).read()
        req = api.routed("/images/load")[0]
        assert req.headers["content-length"] == "100000" and req.body == b"x" * 100_000


@pytest.mark.parametrize(("url", "unix", "tcp"), [
    ("unix:///run/x.sock", "/run/x.sock", None),
    ("tcp://127.0.0.1:2376", None, ("127.0.0.1", 2376)),
    ("tcp://localhost", None, ("localhost", 2375)),
])
def test_endpoint_parsing(url: str, unix: str | None, tcp: tuple[str, int] | None) -> None:
    ep = Endpoint.parse(url)
    assert ep.unix_path == unix and ep.tcp == tcp


def test_endpoint_rejects_unknown_schemes() -> None:
    with pytest.raises(ValueError, match="unable to parse docker host `ftp://x`"):
        Endpoint.parse("ftp://x")


def test_body_less_answers_return_their_connection_once(tmp_path: Path) -> None:
    with FakeAPI(tmp_path) as api:
        api.no_content("POST", "/containers/a/start")
        client = APIClient(api.host)
        for _ in range(3):
            client.post("/containers/a/start")
        assert len(client._idle) == 1 and len(api._socks) == 1
