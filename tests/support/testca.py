"""A certificate authority made with openssl for a test: a CA, and certificates it signs.

    ca = CertAuthority.create(tmp_path / "ca")                 # ca.crt / ca.key
    server = ca.issue("server", ip="127.0.0.1")          # (cert, key) with subjectAltName IP:127.0.0.1
    client = ca.issue("client", client=True)             # a client certificate (clientAuth)
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


@dataclass(frozen=True)
class CertAuthority:
    base: Path

    @property
    def cert(self) -> Path:
        return self.base / "ca.crt"

    @property
    def key(self) -> Path:
        return self.base / "ca.key"

    @classmethod
    def create(cls, base: Path, name: str = "sangja-test-ca") -> CertAuthority:
        base.mkdir(parents=True, exist_ok=True)
        ca = cls(base)
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca.key), "-out", str(ca.cert),
                 "-days", "2", "-subj", f"/CN={name}")
        return ca

    def issue(self, name: str, ip: str = "", client: bool = False) -> tuple[Path, Path]:
        cert, key, csr, ext = (self.base / f"{name}.{s}" for s in ("crt", "key", "csr", "ext"))
        lines = ["basicConstraints=CA:FALSE", f"extendedKeyUsage={'clientAuth' if client else 'serverAuth'}"]
        if ip:
            lines.append(f"subjectAltName=IP:{ip}")
        ext.write_text("\n".join(lines) + "\n")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
                 "-subj", f"/CN={ip or name}")
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(self.cert), "-CAkey", str(self.key),
                 "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext))
        return cert, key
