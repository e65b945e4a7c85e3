"""`docker pull` (POST /images/create?fromImage=…): sangja reaches no registry yet.

The request is validated exactly as dockerd does (reference format, tag or digest, the
reserved name "scratch"), then refused with the error dockerd gives for a repository it cannot
pull. The docker CLI prints it; `docker run nosuchimage` first prints "Unable to find image
'nosuchimage:latest' locally", then this error, and exits 125.
"""

from __future__ import annotations

from typing import NoReturn

from sangja.errors import Forbidden, NotFound
from sangja.image.reference import Reference, is_digest, parse_normalized_named


def pull_reference(from_image: str, tag: str) -> Reference:
    """The reference a pull request names (moby's postImagesCreate)."""
    # "pull -a" may send the name with a trailing ":".
    name = from_image[:-1] if from_image.endswith(":") else from_image
    ref = parse_normalized_named(name)
    if tag:
        ref = ref.trimmed().with_digest(tag) if is_digest(tag) else ref.with_tag(tag)
    if ref.familiar_name == "scratch":
        raise Forbidden("'scratch' is a reserved name")
    return ref


def pull_image(from_image: str, tag: str) -> NoReturn:
    ref = pull_reference(from_image, tag)
    raise NotFound(
        f"pull access denied for {ref.familiar_name}, repository does not exist or may require 'docker login'"
    )
