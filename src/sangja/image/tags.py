"""The reference index: which image each tag and digest reference names (moby's refstore).

Stored as <image root>/repositories.json, rewritten atomically on every change:

    {"Repositories": {"busybox": {"busybox:latest": "sha256:…", "busybox@sha256:…": "sha256:…"}}}

Keys are familiar forms, as in Docker. A reference with both a tag and a digest is stored by
its digest ("favor digest"). Not thread-safe by itself: the image store serialises access.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sangja.errors import Conflict, InvalidParameter
from sangja.image.fsutil import atomic_write_json, read_json
from sangja.image.reference import Reference, parse_normalized_named

log = logging.getLogger(__name__)


def _favor_digest(ref: Reference) -> Reference:
    if ref.digest and ref.tag:
        return ref.with_digest(ref.digest)
    return ref


class TagIndex:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._repos: dict[str, dict[str, str]] = {}
        self._by_id: dict[str, dict[str, Reference]] = {}
        self._load()

    def _load(self) -> None:
        try:
            data: dict[str, Any] = read_json(self.path)
        except FileNotFoundError:
            return
        for repo in (data.get("Repositories") or {}).values():
            for ref_str, image_id in (repo or {}).items():
                try:
                    ref = parse_normalized_named(ref_str)
                except InvalidParameter:
                    log.warning("ignoring unparsable reference %r in %s", ref_str, self.path)
                    continue
                self._put(ref, str(image_id))

    def _put(self, ref: Reference, image_id: str) -> None:
        self._repos.setdefault(ref.familiar_name, {})[ref.familiar()] = image_id
        self._by_id.setdefault(image_id, {})[ref.familiar()] = ref

    def _drop(self, ref: Reference) -> str | None:
        repo = self._repos.get(ref.familiar_name)
        if repo is None or ref.familiar() not in repo:
            return None
        image_id = repo.pop(ref.familiar())
        if not repo:
            del self._repos[ref.familiar_name]
        refs = self._by_id.get(image_id, {})
        refs.pop(ref.familiar(), None)
        if not refs:
            self._by_id.pop(image_id, None)
        return image_id

    def save(self) -> None:
        atomic_write_json(self.path, {"Repositories": self._repos})

    def add(self, ref: Reference, image_id: str, force: bool) -> str | None:
        """Point `ref` (a tag, or a digest reference) at `image_id`; a bare name gets ":latest".
        Returns the image the reference pointed at before, if another one. Docker's errors."""
        ref = _favor_digest(ref.tag_name_only())
        if ref.familiar_name == "sha256":
            raise InvalidParameter("refusing to create an ambiguous tag using digest algorithm as name")
        old = self._repos.get(ref.familiar_name, {}).get(ref.familiar())
        if old == image_id:
            return None
        if old is not None:
            if ref.digest:
                raise Conflict(f"cannot overwrite digest {ref.digest}")
            if not force:
                raise Conflict(
                    f"tag {ref.familiar()} is already set to image {old}, use the force option to replace it"
                )
            self._drop(ref)
        self._put(ref, image_id)
        self.save()
        return old

    def delete(self, ref: Reference) -> str | None:
        """Remove a reference (a bare name means ":latest"); return the image it named, if any."""
        image_id = self._drop(_favor_digest(ref.tag_name_only()))
        if image_id is not None:
            self.save()
        return image_id

    def get(self, ref: Reference) -> str | None:
        """The image a reference names; a tag+digest reference is looked up by its digest."""
        ref = _favor_digest(ref) if ref.digest else ref.tag_name_only()
        return self._repos.get(ref.familiar_name, {}).get(ref.familiar())

    def references(self, image_id: str) -> list[Reference]:
        """Every reference to the image, sorted by familiar form like moby's lexicalRefs."""
        return sorted(self._by_id.get(image_id, {}).values(), key=lambda r: r.familiar())

    def by_name(self, ref: Reference) -> list[tuple[Reference, str]]:
        """All (reference, image ID) pairs of the repository `ref` names, sorted."""
        repo = self._repos.get(ref.familiar_name, {})
        pairs = [(parse_normalized_named(s), image_id) for s, image_id in repo.items()]
        return sorted(pairs, key=lambda p: p[0].familiar())

    def image_ids(self) -> set[str]:
        return set(self._by_id)

    def forget_images(self, keep: set[str]) -> None:
        """Drop every reference to an image not in `keep` (start-up consistency)."""
        stale = [ref for image_id, refs in self._by_id.items() if image_id not in keep for ref in refs.values()]
        for ref in stale:
            log.warning("dropping reference %s to a missing image", ref.familiar())
            self._drop(ref)
        if stale:
            self.save()
