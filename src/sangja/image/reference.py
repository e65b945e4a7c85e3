"""Image references, parsed and normalised exactly as Docker's distribution/reference does it.

Grammar (docker's `reference` package):

    reference   := name [ ":" tag ] [ "@" digest ]
    name        := [ domain "/" ] path-component { "/" path-component }
    domain      := host [ ":" port ]          host: DNS name or [IPv6]
    path-comp.  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
    tag         := [\\w][\\w.-]{0,127}
    digest      := algorithm ":" hex            (sha256 / sha384 / sha512)

Normalisation (`parse_normalized_named`): `busybox` is `docker.io/library/busybox`; the first
path element is a domain only when it contains "." or ":", is "localhost", or has an upper-case
letter. The *familiar* form is what Docker prints: `busybox:latest`, `localhost:5000/x:1`.

A bare 64-hex string is an image ID, never a name (`parse_any_reference` returns it as a
digest string "sha256:<hex>"). Every failure raises InvalidParameter with Docker's message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from sangja.errors import InvalidParameter

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = _ALPHANUMERIC + r"(?:" + _SEPARATOR + _ALPHANUMERIC + r")*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = _DOMAIN_COMPONENT + r"(?:\." + _DOMAIN_COMPONENT + r")*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN_AND_PORT = r"(?:" + _DOMAIN_NAME + r"|" + _IPV6 + r")(?::[0-9]+)?"
_REMOTE_NAME = _PATH_COMPONENT + r"(?:/" + _PATH_COMPONENT + r")*"
_NAME = r"(?:" + _DOMAIN_AND_PORT + r"/)?" + _REMOTE_NAME
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"

# re.ASCII: Go's \w is [0-9A-Za-z_], not Unicode word characters. fullmatch() everywhere:
# Python's `$` would also accept a trailing newline.
_REFERENCE_RE = re.compile(r"(" + _NAME + r")(?::(" + _TAG + r"))?(?:@(" + _DIGEST + r"))?", re.ASCII)
_ANCHORED_NAME_RE = re.compile(r"(?:(" + _DOMAIN_AND_PORT + r")/)?(" + _REMOTE_NAME + r")", re.ASCII)
_TAG_RE = re.compile(_TAG, re.ASCII)
_DIGEST_RE = re.compile(_DIGEST, re.ASCII)
_IDENTIFIER_RE = re.compile(r"[a-f0-9]{64}")

# go-digest: the algorithms it can verify, and the hex length of each.
_DIGEST_HEX_LENGTH = {"sha256": 64, "sha384": 96, "sha512": 128}


@dataclass(frozen=True)
class Reference:
    """A named reference. `domain` is empty only for references parsed without normalisation."""

    domain: str
    path: str
    tag: str = ""
    digest: str = ""

    @property
    def name(self) -> str:
        """The full repository name, e.g. "docker.io/library/busybox"."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    def __str__(self) -> str:
        out = self.name
        if self.tag:
            out += ":" + self.tag
        if self.digest:
            out += "@" + self.digest
        return out

    @property
    def familiar_name(self) -> str:
        """The repository name as Docker shows it: "busybox", "localhost:5000/x", "user/app"."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        path = self.path
        if path.startswith(OFFICIAL_REPO_PREFIX) and "/" not in path[len(OFFICIAL_REPO_PREFIX) :]:
            path = path[len(OFFICIAL_REPO_PREFIX) :]
        return path

    def familiar(self) -> str:
        """The whole reference as Docker shows it: "busybox:latest", "x@sha256:…"."""
        out = self.familiar_name
        if self.tag:
            out += ":" + self.tag
        if self.digest:
            out += "@" + self.digest
        return out

    @property
    def name_only(self) -> bool:
        return not self.tag and not self.digest

    def trimmed(self) -> Reference:
        """The repository alone, without tag or digest."""
        return replace(self, tag="", digest="")

    def with_tag(self, tag: str) -> Reference:
        if not _TAG_RE.fullmatch(tag):
            raise InvalidParameter("invalid tag format")
        return replace(self, tag=tag, digest="")

    def with_digest(self, digest: str) -> Reference:
        if not _DIGEST_RE.fullmatch(digest):
            raise InvalidParameter("invalid digest format")
        return replace(self, tag="", digest=digest)

    def tag_name_only(self) -> Reference:
        """Docker's TagNameOnly: a bare name gets the default tag "latest"."""
        return replace(self, tag=DEFAULT_TAG) if self.name_only else self


def validate_digest(digest: str) -> None:
    """Check a digest string like go-digest's Digest.Validate, with its error messages."""
    i = digest.find(":")
    if i <= 0 or i + 1 == len(digest):
        raise InvalidParameter("invalid checksum digest format")
    algorithm, encoded = digest[:i], digest[i + 1 :]
    length = _DIGEST_HEX_LENGTH.get(algorithm)
    if length is None:
        if not _DIGEST_RE.fullmatch(digest):
            raise InvalidParameter("invalid checksum digest format")
        raise InvalidParameter("unsupported digest algorithm")
    if len(encoded) != length:
        raise InvalidParameter("invalid checksum digest length")
    if not re.fullmatch(r"[a-f0-9]+", encoded):
        raise InvalidParameter("invalid checksum digest format")


def is_digest(value: str) -> bool:
    try:
        validate_digest(value)
    except InvalidParameter:
        return False
    return True


def parse(s: str) -> Reference:
    """Docker's reference.Parse: the string as written, not normalised (no default domain)."""
    if s == "":
        raise InvalidParameter("repository name must have at least one component")
    m = _REFERENCE_RE.fullmatch(s)
    if m is None:
        lower = s.lower()
        if lower != s and _REFERENCE_RE.fullmatch(lower):
            raise InvalidParameter("repository name must be lowercase")
        raise InvalidParameter("invalid reference format")
    name, tag, digest = m.group(1), m.group(2) or "", m.group(3) or ""
    nm = _ANCHORED_NAME_RE.fullmatch(name)
    domain, path = (nm.group(1) or "", nm.group(2)) if nm else ("", name)
    if len(path) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidParameter(f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters")
    if digest:
        validate_digest(digest)
    return Reference(domain, path, tag, digest)


def _split_docker_domain(name: str) -> tuple[str, str]:
    maybe_domain, sep, maybe_remote = name.partition("/")
    if not sep:
        return DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name
    if maybe_domain == "localhost":
        domain, remote = maybe_domain, maybe_remote
    elif maybe_domain == LEGACY_DEFAULT_DOMAIN:
        domain, remote = DEFAULT_DOMAIN, maybe_remote
    elif any(c in maybe_domain for c in ".:") or maybe_domain.lower() != maybe_domain:
        domain, remote = maybe_domain, maybe_remote
    else:
        domain, remote = DEFAULT_DOMAIN, name
    if domain == DEFAULT_DOMAIN and "/" not in remote:
        remote = OFFICIAL_REPO_PREFIX + remote
    return domain, remote


def parse_normalized_named(s: str) -> Reference:
    """Docker's ParseNormalizedNamed: `busybox` → docker.io/library/busybox (no default tag)."""
    if _IDENTIFIER_RE.fullmatch(s):
        raise InvalidParameter(f"invalid repository name ({s}), cannot specify 64-byte hexadecimal strings")
    domain, remainder = _split_docker_domain(s)
    remote = remainder.split(":", 1)[0] if ":" in remainder else remainder
    if remote.lower() != remote:
        raise InvalidParameter(f"invalid reference format: repository name ({remote}) must be lowercase")
    ref = parse(domain + "/" + remainder)
    if not ref.path:
        raise InvalidParameter(f"reference {ref} has no name")
    return ref


def parse_docker_ref(s: str) -> Reference:
    """Docker's ParseDockerRef: normalised, default tag added, and tag dropped when a digest is given."""
    ref = parse_normalized_named(s)
    if ref.tag and ref.digest:
        return replace(ref, tag="")
    return ref.tag_name_only()


def parse_any_reference(s: str) -> Reference | str:
    """Docker's ParseAnyReference: a 64-hex ID or a valid digest comes back as the digest string
    "algo:hex"; anything else must be a name and comes back normalised."""
    if _IDENTIFIER_RE.fullmatch(s):
        return "sha256:" + s
    if is_digest(s):
        return s
    return parse_normalized_named(s)


def repo_tag_reference(repo: str, tag: str) -> Reference | None:
    """moby's httputils.RepoTagReference for the `repo`/`tag` query parameters of import and tag:
    None when repo is empty, else a normalised reference that always carries a tag."""
    if repo == "":
        return None
    ref = parse_normalized_named(repo)
    if ref.digest:
        raise InvalidParameter("cannot import digest reference")
    if tag:
        return ref.with_tag(tag)
    return ref.tag_name_only()


def _go_path_match_regex(pattern: str) -> re.Pattern[str]:
    """Translate a Go path.Match pattern: `*` and `?` never match "/", `[...]` with `^`
    negation, backslash escapes. Raises InvalidParameter("syntax error in pattern")."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\":
            i += 1
            if i >= n:
                raise InvalidParameter("syntax error in pattern")
            out.append(re.escape(pattern[i]))
        elif c == "[":
            j = i + 1
            cls: list[str] = []
            if j < n and pattern[j] == "^":
                cls.append("^")
                j += 1
            first = True
            while j < n and (pattern[j] != "]" or first):
                first = False
                ch = pattern[j]
                if ch == "\\":
                    j += 1
                    if j >= n:
                        raise InvalidParameter("syntax error in pattern")
                    ch = pattern[j]
                if ch == "-" and cls and cls[-1] not in ("^",) and j + 1 < n and pattern[j + 1] != "]":
                    cls.append("-")
                else:
                    cls.append(re.escape(ch))
                j += 1
            if j >= n or len(cls) == 0 or cls == ["^"]:
                raise InvalidParameter("syntax error in pattern")
            body = "".join(cls)
            # A negated class must not match "/" either (Go's class matching never spans it).
            out.append("(?:(?!/)[" + body + "])")
            i = j
        else:
            out.append(re.escape(c))
        i += 1
    try:
        return re.compile("".join(out), re.DOTALL)
    except re.error:
        raise InvalidParameter("syntax error in pattern") from None


def path_match(pattern: str, name: str) -> bool:
    """Go's path.Match(pattern, name) (the `reference` filter of `docker images`)."""
    return _go_path_match_regex(pattern).fullmatch(name) is not None
