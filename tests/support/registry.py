"""A real registry for the registry tests: Debian's docker-registry (distribution 2.8).

    with RegistryServer.start(tmp_path, port) as reg:            # plain HTTP, no auth
    with RegistryServer.start(tmp_path, port, htpasswd=("u", "p")) as reg:   # basic auth
    with RegistryServer.start(tmp_path, port, token=ts.registry_config()) as reg:   # bearer tokens
                                                                     # (tests/support/tokenserver.py)

It listens on 127.0.0.1:<port> with a config and storage under `base` and is stopped by its
PID when the block ends. `blob_data(digest)` is the file holding a blob in its storage (tests
corrupt it to check digest verification).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.support.tokenserver import RegistryTokenConfig

REGISTRY = "/usr/bin/docker-registry"


def available() -> bool:
    return shutil.which("docker-registry") is not None or Path(REGISTRY).exists()


class RegistryServer:
    def __init__(self, base: Path, port: int, proc: subprocess.Popen[bytes]) -> None:
        self.base = base
        self.port = port
        self.proc = proc

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def storage(self) -> Path:
        return self.base / "storage"

    def blob_data(self, digest: str) -> Path:
        hexd = digest.split(":", 1)[1]
        return self.storage / "docker/registry/v2/blobs/sha256" / hexd[:2] / hexd / "data"

    @classmethod
    def start(cls, base: Path, port: int, htpasswd: tuple[str, str] | None = None,
              token: RegistryTokenConfig | None = None,
              tls: tuple[Path, Path, Path | None] | None = None) -> RegistryServer:
        """`tls`: (certificate, key, CA that client certificates must chain to, or None)."""
        base.mkdir(parents=True, exist_ok=True)
        auth = ""
        if htpasswd is not None:
            pw_file = base / "htpasswd"
            subprocess.run(["htpasswd", "-Bbc", str(pw_file), *htpasswd], check=True, capture_output=True,
                           timeout=30)
            auth = f"auth:\n  htpasswd:\n    realm: sangja-test\n    path: {pw_file}\n"
        elif token is not None:
            auth = (f"auth:\n  token:\n    realm: {token.realm}\n    service: {token.service}\n"
                    f"    issuer: {token.issuer}\n    rootcertbundle: {token.rootcertbundle}\n")
        (base / "config.yml").write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {base / 'storage'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{port}\n  secret: sangja-test-secret\n"
            + auth
        )
        if tls is not None:
            cert, key, client_ca = tls
            text = (base / "config.yml").read_text().replace(
                "  secret: sangja-test-secret\n",
                f"  secret: sangja-test-secret\n  tls:\n    certificate: {cert}\n    key: {key}\n"
                + (f"    clientcas:\n      - {client_ca}\n" if client_ca else ""))
            (base / "config.yml").write_text(text)
        log = (base / "registry.log").open("wb")
        proc = subprocess.Popen([REGISTRY, "serve", str(base / "config.yml")], stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL)
        log.close()
        reg = cls(base, port, proc)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {(base / 'registry.log').read_text()[-2000:]}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return reg
            time.sleep(0.05)
        reg.stop()
        raise RuntimeError("docker-registry did not start listening within 20s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def __enter__(self) -> RegistryServer:
        return self

    def __exit__(self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
