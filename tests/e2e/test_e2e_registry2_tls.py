"""Registries over HTTPS with a private CA: the real registry serves TLS with a certificate of a
CA made by the test; sangjad finds `<certs-dir>/<host:port>/ca.crt` (and client.cert +
client.key) under the directory given with --registry-certs-dir, so nothing is written to /etc.

A loopback registry is reached over plain HTTP unless a certs.d directory is configured for it;
with one, it is HTTPS verified with that CA (a wrong CA is refused with Go's x509 message, as
dockerd prints it).

sangjad only: dockerd treats 127.0.0.0/8 registries as insecure and skips verification.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import _ensure_busybox
from tests.e2e.conftest import make_cli
from tests.support.daemon import SangjaDaemon, target_kind
from tests.support.ports import free_local_port
from tests.support.prereq import require, require_programs
from tests.support.registry import RegistryServer, available
from tests.support.testca import CertAuthority


class CertsDirDaemon(SangjaDaemon):
    def __init__(self, base_dir: str, certs_dir: Path) -> None:
        super().__init__(base_dir)
        self.certs_dir = certs_dir

    def argv(self) -> list[str]:
        return [*super().argv(), "--registry-certs-dir", str(self.certs_dir)]


TlsSetup = tuple[CertsDirDaemon, CertAuthority, CertAuthority, Path]


@pytest.fixture
def tls_setup(tmp_path: Path, busybox_tar: Path) -> Iterator[TlsSetup]:
    if target_kind() != "sangjad":
        pytest.skip("sangjad's --registry-certs-dir; dockerd skips TLS verification for loopback registries")
    require(available(), "docker-registry is not installed (scripts/setup.sh)")
    require_programs("openssl")
    ca, other = CertAuthority.create(tmp_path / "ca"), CertAuthority.create(tmp_path / "other-ca", "another-ca")
    certs = tmp_path / "certs.d"
    certs.mkdir()
    d = CertsDirDaemon.create(certs_dir=certs)
    try:
        d.start()
        _ensure_busybox(d, busybox_tar)
        yield d, ca, other, certs
    finally:
        leaked = d.close()
        assert not leaked, f"the daemon leaked {leaked}"


def test_tls_registry_with_a_private_ca(tls_setup: TlsSetup, tmp_path: Path, names: Callable[[str], str]) -> None:
    d, ca, other, certs = tls_setup
    server_cert, server_key = ca.issue("server", ip="127.0.0.1")
    sangja = make_cli("sangja", d, tmp_path / "home")
    docker_cli = make_cli("docker", d, tmp_path / "docker-home")
    with RegistryServer.start(tmp_path / "registry", free_local_port(), tls=(server_cert, server_key, None)) as reg:
        repo = f"{reg.host}/{names('tls')}"
        sangja.ok("tag", "busybox", repo)
        host_dir = certs / reg.host
        host_dir.mkdir()
        # A CA that did not sign the registry's certificate: refused.
        shutil.copy(other.cert, host_dir / "ca.crt")
        refused = sangja("push", repo, timeout=60)
        assert refused.rc == 1
        assert f'"https://{reg.host}/v2/' in refused.err, refused
        assert "x509: certificate signed by unknown authority" in refused.err, refused
        refused = docker_cli("pull", repo, timeout=60)
        assert refused.rc == 1 and "x509: certificate signed by unknown authority" in refused.err, refused

        # The right CA: push, pull back, run.
        shutil.copy(ca.cert, host_dir / "ca.crt")
        assert "Pushed" in sangja.ok("push", repo, timeout=120)
        sangja.ok("rmi", repo)
        assert "Downloaded newer image" in docker_cli.ok("pull", repo, timeout=120)
        sangja.ok("rmi", repo)


def test_tls_registry_requiring_a_client_certificate(tls_setup: TlsSetup, tmp_path: Path,
                                                     names: Callable[[str], str]) -> None:
    d, ca, _, certs = tls_setup
    server_cert, server_key = ca.issue("server", ip="127.0.0.1")
    client_cert, client_key = ca.issue("client", client=True)
    sangja = make_cli("sangja", d, tmp_path / "home")
    with RegistryServer.start(tmp_path / "registry", free_local_port(), tls=(server_cert, server_key, ca.cert)) as reg:
        repo = f"{reg.host}/{names('mtls')}"
        sangja.ok("tag", "busybox", repo)
        host_dir = certs / reg.host
        host_dir.mkdir()
        shutil.copy(ca.cert, host_dir / "ca.crt")
        refused = sangja("push", repo, timeout=120)
        assert refused.rc == 1, refused
        assert "remote error: tls: bad certificate" in refused.err, refused
        shutil.copy(client_cert, host_dir / "client.cert")
        shutil.copy(client_key, host_dir / "client.key")
        assert "Pushed" in sangja.ok("push", repo, timeout=120)
        sangja.ok("rmi", repo)
        assert "Downloaded newer image" in sangja.ok("pull", repo, timeout=120)
        sangja.ok("rmi", repo)
