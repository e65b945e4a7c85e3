"""Where a registry host is reached: scheme, base URL and TLS settings.

Like dockerd: "docker.io" is served by registry-1.docker.io; HTTPS with the system CA store
plus /etc/sangja/certs.d/<host>/ and /etc/docker/certs.d/<host>/ (ca.crt, client.cert +
client.key); plain HTTP only for loopback hosts and hosts listed as insecure, unless a
certs.d directory is configured for such a host: then it is HTTPS, verified with that CA.
Mirrors of docker.io (--registry-mirror) are URLs: their scheme says HTTP or HTTPS.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_DOMAIN = "docker.io"
DOCKER_HUB_HOST = "registry-1.docker.io"
INDEX_SERVER = "https://index.docker.io/v1/"
CERTS_DIRS = (Path("/etc/sangja/certs.d"), Path("/etc/docker/certs.d"))


@dataclass(frozen=True)
class Endpoint:
    domain: str            # as written in references: "docker.io", "127.0.0.1:5000"
    base_url: str          # "https://registry-1.docker.io"
    ssl: ssl.SSLContext | bool   # False: plain HTTP

    @property
    def host(self) -> str:
        return self.base_url.split("://", 1)[1]


def hostname_of(domain: str) -> str:
    if domain.startswith("["):
        return domain[1 : domain.index("]")]
    return domain.rsplit(":", 1)[0] if domain.count(":") == 1 else domain


def is_loopback(domain: str) -> bool:
    host = hostname_of(domain)
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _in_insecure_network(domain: str, insecure: Sequence[str]) -> bool:
    """Whether an IP-literal registry is inside a CIDR given to --insecure-registry (moby also
    resolves host names for this; sangja matches addresses written in the reference)."""
    try:
        addr = ipaddress.ip_address(hostname_of(domain))
    except ValueError:
        return False
    return any(cidr is not None and addr in ipaddress.ip_network(cidr) for cidr in map(insecure_cidr, insecure))


def insecure_cidr(entry: str) -> str | None:
    """The network an --insecure-registry entry names ("10.1.0.0/16"), or None for a host."""
    if "/" not in entry:
        return None
    try:
        return str(ipaddress.ip_network(entry, strict=False))
    except ValueError:
        return None


def tls_context(domain: str, certs_dirs: Sequence[Path] = CERTS_DIRS) -> ssl.SSLContext:
    """The system trust store plus the private CAs and client certificates configured for `domain`."""
    ctx = ssl.create_default_context()
    for base in certs_dirs:
        d = base / domain
        if not d.is_dir():
            continue
        for ca in sorted(d.glob("*.crt")):
            ctx.load_verify_locations(cafile=str(ca))
        for cert in sorted(d.glob("*.cert")):
            key = cert.with_suffix(".key")
            if key.is_file():
                ctx.load_cert_chain(str(cert), str(key))
    return ctx


def has_certs_dir(domain: str, certs_dirs: Sequence[Path] = CERTS_DIRS) -> bool:
    return any((base / domain).is_dir() for base in certs_dirs)


def endpoint_for(domain: str, insecure: Sequence[str] = (), certs_dirs: Sequence[Path] = CERTS_DIRS,
                 hub_url: str = "") -> Endpoint:
    """`hub_url` replaces https://registry-1.docker.io as docker.io's origin (sangjad's
    --docker-io-endpoint, which tests use so nothing ever reaches the real Hub)."""
    if domain == DEFAULT_DOMAIN and hub_url:
        return endpoint_at(domain, hub_url, certs_dirs)
    host = DOCKER_HUB_HOST if domain == DEFAULT_DOMAIN else domain
    plain = is_loopback(domain) or domain in insecure or hostname_of(domain) in insecure \
        or _in_insecure_network(domain, insecure)
    if plain and not has_certs_dir(domain, certs_dirs):
        return Endpoint(domain, f"http://{host}", False)
    return Endpoint(domain, f"https://{host}", tls_context(domain, certs_dirs))


def validate_mirror(url: str) -> str:
    """A --registry-mirror value, as moby's ValidateMirror checks it; returned with one trailing "/"."""
    parsed = urlsplit(url)
    if parsed.scheme not in ("http", "https"):
        raise ValueError(f'invalid mirror: unsupported scheme "{parsed.scheme}" in "{url}"')
    if (parsed.path not in ("", "/")) or parsed.query or parsed.fragment:
        raise ValueError(f'invalid mirror: path, query, or fragment at end of the URI "{url}"')
    if parsed.username is not None or parsed.password is not None:
        raise ValueError(f'invalid mirror: username/password not allowed in URI "{url}"')
    if not parsed.netloc:
        raise ValueError(f'invalid mirror: "{url}" is not a valid URI')
    return url.rstrip("/") + "/"


def endpoint_at(domain: str, url: str, certs_dirs: Sequence[Path] = CERTS_DIRS) -> Endpoint:
    """The endpoint for `domain` served at `url` (a mirror or an overridden origin): its scheme
    says HTTP or HTTPS; HTTPS uses the system CAs plus certs.d/<url's host:port>/."""
    parsed = urlsplit(url)
    base = f"{parsed.scheme}://{parsed.netloc}"
    if parsed.scheme == "http":
        return Endpoint(domain, base, False)
    return Endpoint(domain, base, tls_context(parsed.netloc, certs_dirs))


def auth_key(domain: str) -> str:
    """The key of a registry in ~/.docker/config.json "auths" (Docker Hub's is the v1 index URL)."""
    return INDEX_SERVER if domain in (DEFAULT_DOMAIN, "index.docker.io", DOCKER_HUB_HOST) else domain
