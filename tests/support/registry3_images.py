"""Images built by hand in a real registry, and a proxy that stalls a blob half-way.

    img = HandImage.build([Layer(tar_bytes, "zstd"), Layer(other_tar, "none")], cmd=["sh"])
    img.upload(f"127.0.0.1:{port}", "ns/name", "v1")     # blobs, config, then the manifest
    img.image_id                                          # the config digest: the image ID a pull must give

    with StallProxy(upstream="127.0.0.1:5000", stall={digest: 1 << 20}) as proxy:
        ... pull from proxy.host ...; proxy.stalled.wait(...)   # the blob's first MiB was sent
        proxy.release.set()                                      # then its connection is cut

The images go in with plain Registry API v2 calls (POST + PUT of each blob, PUT of an OCI or
Docker manifest), so a test controls the exact media types and compression of every layer:
zstd (`application/vnd.oci.image.layer.v1.tar+zstd`), gzip, or an uncompressed tar.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import http.server
import io
import json
import tarfile
import threading
import urllib.request
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import zstandard

from sangja.distribution.manifest import host_platform

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA = {"zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
         "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
         "none": "application/vnd.oci.image.layer.v1.tar"}


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_of(files: dict[str, bytes]) -> bytes:
    """A layer tar holding `files` (path → content, mode 0644)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            t.addfile(info, io.BytesIO(content))
    return buf.getvalue()


@dataclass(frozen=True)
class Layer:
    tar: bytes
    compression: str = "gzip"          # "zstd", "gzip" or "none"

    def blob(self) -> bytes:
        if self.compression == "zstd":
            # Two frames, as multi-threaded zstd writers may produce: both must be read.
            half = len(self.tar) // 2
            c = zstandard.ZstdCompressor(level=3)
            return c.compress(self.tar[:half]) + c.compress(self.tar[half:])
        if self.compression == "gzip":
            return gzip.compress(self.tar, mtime=0)
        return self.tar


@dataclass(frozen=True)
class HandImage:
    config: bytes
    blobs: list[tuple[str, bytes]]     # (media type, blob) per layer, bottom first
    manifest: bytes

    @property
    def image_id(self) -> str:
        return digest_of(self.config)

    @property
    def manifest_digest(self) -> str:
        return digest_of(self.manifest)

    @classmethod
    def build(cls, layers: list[Layer], cmd: list[str] | None = None) -> HandImage:
        config = json.dumps({
            "architecture": host_platform()["architecture"], "os": "linux", "created": "2024-01-01T00:00:00Z",
            "config": {"Cmd": cmd or ["sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
            "rootfs": {"type": "layers", "diff_ids": [digest_of(x.tar) for x in layers]},
            "history": [{"created": "2024-01-01T00:00:00Z", "created_by": f"test layer {i}"}
                        for i in range(len(layers))],
        }, separators=(",", ":")).encode()
        blobs = [(MEDIA[x.compression], x.blob()) for x in layers]
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": digest_of(config), "size": len(config)},
            "layers": [{"mediaType": m, "digest": digest_of(b), "size": len(b)} for m, b in blobs],
        }, separators=(",", ":")).encode()
        return cls(config, blobs, manifest)

    def upload(self, host: str, repo: str, tag: str) -> None:
        for data in [self.config, *(b for _, b in self.blobs)]:
            upload_blob(host, repo, data)
        req = urllib.request.Request(f"http://{host}/v2/{repo}/manifests/{tag}", data=self.manifest, method="PUT",
                                     headers={"Content-Type": OCI_MANIFEST})
        with urllib.request.urlopen(req, timeout=60) as resp:
            assert resp.status == 201, resp.status


def upload_blob(host: str, repo: str, data: bytes) -> str:
    """A monolithic upload (POST, then PUT ?digest=) of `data`; its digest."""
    digest = digest_of(data)
    req = urllib.request.Request(f"http://{host}/v2/{repo}/blobs/uploads/", data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=60) as resp:
        location = resp.headers["Location"]
    if location.startswith("/"):
        location = f"http://{host}{location}"
    sep = "&" if "?" in location else "?"
    req = urllib.request.Request(f"{location}{sep}digest={digest}", data=data, method="PUT",
                                 headers={"Content-Type": "application/octet-stream"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        assert resp.status == 201, resp.status
    return digest


class StallProxy:
    """A pull-only HTTP proxy on 127.0.0.1 in front of a registry. A GET of a blob listed in
    `stall` sends its headers and its first `stall[digest]` bytes, sets `stalled`, then waits
    (bounded) for `release` and cuts the connection. Everything else is passed through."""

    WAIT = 120.0

    def __init__(self, upstream: str, stall: dict[str, int]) -> None:
        self.upstream = upstream
        self.stall = dict(stall)
        self.stalled = threading.Event()
        self.release = threading.Event()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_HEAD(self) -> None:
                self._forward(head=True)

            def do_GET(self) -> None:
                self._forward(head=False)

            def _forward(self, head: bool) -> None:
                conn = http.client.HTTPConnection(proxy.upstream, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("accept", "range", "authorization")}
                conn.request(self.command, self.path, headers=headers)
                resp = conn.getresponse()
                body = b"" if head else resp.read()
                conn.close()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding", "keep-alive"):
                        self.send_header(k, v)
                self.end_headers()
                digest = self.path.rsplit("/", 1)[-1]
                cut = proxy.stall.get(digest) if "/blobs/" in self.path and not head else None
                if cut is None:
                    self.wfile.write(body)
                    return
                self.wfile.write(body[:cut])
                self.wfile.flush()
                proxy.stalled.set()
                proxy.release.wait(proxy.WAIT)
                self.close_connection = True

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> StallProxy:
        self.thread.start()
        return self

    def __exit__(self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=30)
