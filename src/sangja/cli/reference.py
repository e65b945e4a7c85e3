"""Image references as the docker CLI normalizes them (distribution/reference).

    ref = parse_normalized("busybox")       # Reference(domain="docker.io", path="library/busybox")
    ref.name          → "docker.io/library/busybox"
    ref.familiar()    → "busybox:latest" (with_default_tag) or "busybox"
Raises ValueError with the library's messages ("invalid reference format", "... must be lowercase").
"""

from __future__ import annotations

import re

DEFAULT_DOMAIN = "docker.io"
OFFICIAL_PREFIX = "library/"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE_PATTERN = rf"^((?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*)(?::({_TAG}))?(?:@({_DIGEST}))?$"


class Reference:
    __slots__ = ("digest", "domain", "path", "tag")

    def __init__(self, domain: str, path: str, tag: str = "", digest: str = "") -> None:
        self.domain = domain
        self.path = path
        self.tag = tag
        self.digest = digest

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reference) and (self.domain, self.path, self.tag, self.digest) == \
            (other.domain, other.path, other.tag, other.digest)

    def __hash__(self) -> int:
        return hash((self.domain, self.path, self.tag, self.digest))

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.path}"

    def familiar_name(self) -> str:
        if self.domain == DEFAULT_DOMAIN:
            path = self.path
            if path.startswith(OFFICIAL_PREFIX) and path.count("/") == 1:
                path = path[len(OFFICIAL_PREFIX):]
            return path
        return self.name

    def familiar(self) -> str:
        text = self.familiar_name()
        if self.tag:
            text += ":" + self.tag
        if self.digest:
            text += "@" + self.digest
        return text

    def with_default_tag(self) -> Reference:
        """reference.TagNameOnly: add ":latest" unless there is a tag or a digest."""
        if self.tag or self.digest:
            return self
        return Reference(self.domain, self.path, "latest")


def split_docker_domain(name: str) -> tuple[str, str]:
    i = name.find("/")
    if i == -1 or (not any(c in name[:i] for c in ".:") and name[:i] != "localhost"
                   and name[:i].lower() == name[:i]):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = name[:i], name[i + 1:]
    if domain == "index.docker.io":
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_PREFIX + remainder
    return domain, remainder


def parse_normalized(text: str) -> Reference:
    if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
        raise ValueError(f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings")
    name_part = text.split("@", 1)[0]
    last = name_part.rfind("/")
    colon = name_part.rfind(":")
    bare = name_part[:colon] if colon > last else name_part
    domain, remainder = split_docker_domain(bare)
    if remainder.lower() != remainder:
        raise ValueError(f"invalid reference format: repository name ({remainder}) must be lowercase")
    full = f"{domain}/{remainder}" + text[len(bare):]
    m = re.match(_REFERENCE_PATTERN, full)  # re caches the compiled pattern
    if not m:
        raise ValueError("invalid reference format")
    if len(m.group(1)) > 255:
        raise ValueError("repository name must not be more than 255 characters")
    return Reference(domain, remainder, m.group(2) or "", m.group(3) or "")
