"""Identifiers of images and layers (see the glossary in image/types.py).

    image ID   "sha256:" + sha256(config bytes, exactly as stored)
    diff ID    "sha256:" + sha256(uncompressed layer tar)
    chain ID   chain(L1) = diff(L1); chain(L1..n) = sha256(chain(L1..n-1) + " " + diff(Ln))
"""

from __future__ import annotations

import hashlib
import re

_HEX64 = re.compile(r"[a-f0-9]{64}")


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def image_id(config: bytes) -> str:
    return sha256_digest(config)


def chain_ids(diff_ids: list[str]) -> list[str]:
    """The chain ID of every prefix of the layer stack, bottom first."""
    out: list[str] = []
    for diff in diff_ids:
        out.append(diff if not out else sha256_digest(f"{out[-1]} {diff}".encode()))
    return out


def hex_of(digest: str) -> str:
    """The encoded part of "algo:hex" (the whole string when there is no algorithm)."""
    return digest.split(":", 1)[1] if ":" in digest else digest


def short_id(digest: str) -> str:
    """moby's stringid.TruncateID: the first 12 hex characters, algorithm dropped."""
    return hex_of(digest)[:12]


def is_sha256_digest(value: str) -> bool:
    return value.startswith("sha256:") and _HEX64.fullmatch(value[7:]) is not None


def is_id_prefix(image_id: str, candidate: str) -> bool:
    """moby's isImageIDPrefix: `candidate` is a prefix of the ID with or without "sha256:"."""
    return image_id.startswith(candidate) or hex_of(image_id).startswith(candidate)


def search_ids(ids: list[str], term: str) -> str | None:
    """Find the one ID that `term` (a full or short ID, with or without "sha256:") names, like
    moby's digest-set lookup. None when nothing or more than one ID matches."""
    if ":" in term:
        algorithm, prefix = term.split(":", 1)
        if algorithm != "sha256":
            return None
    else:
        prefix = term
    if not prefix or not re.fullmatch(r"[a-f0-9]+", prefix):
        return None
    matches = [i for i in ids if hex_of(i).startswith(prefix)]
    return matches[0] if len(matches) == 1 else None
