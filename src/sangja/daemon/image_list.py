"""`docker images`: image summaries, filtered and sorted as moby's ImageService.Images does.

Returns ImageSummary dicts in their API 1.51 shape, newest first; the API layer adapts them
to older versions. Filters: dangling, label, before, since, until, reference (Go path.Match
patterns tried against "busybox:latest", "busybox", "docker.io/library/busybox:latest" and
"docker.io/library/busybox"). Untagged images with child images are hidden unless `all`.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sangja.daemon.image_usage import ImageUsage
from sangja.errors import InvalidParameter
from sangja.image import filters as flt
from sangja.image.reference import Reference, path_match
from sangja.image.store import ImageStore
from sangja.image.timeutil import Timestamp, parse_filter_time

ACCEPTED_FILTERS = ("dangling", "label", "before", "since", "reference", "until")


def _created_ns(store: ImageStore, image_id: str) -> int | None:
    created = store.created(image_id)
    return created.unix_nanos if created is not None else None


def _reference_matches(patterns: list[str], ref: Reference) -> bool:
    targets = [ref.familiar(), ref.familiar_name, str(ref.tag_name_only()), ref.name]
    return any(path_match(p, t) for p in patterns for t in targets)


def list_images(
    store: ImageStore,
    usage: ImageUsage,
    filters: flt.Filters,
    all_images: bool = False,
    shared_size: bool = False,
    count_containers: bool = True,
) -> list[dict[str, Any]]:
    flt.validate(filters, ACCEPTED_FILTERS)
    dangling_only = flt.get_bool(filters, "dangling", False)
    before: int | None = None
    since: int | None = None
    for value in filters.get("before", []):
        created = _created_ns(store, store.resolve(value))
        if created is not None and (before is None or created < before):
            before = created
    for value in filters.get("until", []):
        try:
            ts: Timestamp = parse_filter_time(value)
        except InvalidParameter as exc:
            raise InvalidParameter(f"invalid value for 'until' filter: {exc.message}") from None
        if before is None or ts.unix_nanos < before:
            before = ts.unix_nanos
    for value in filters.get("since", []):
        created = _created_ns(store, store.resolve(value))
        if created is not None and (since is None or created > since):
            since = created
    patterns = filters.get("reference", [])

    with store.lock:
        all_ids = store.ids()
        parents = {store.parent(i) for i in all_ids}
        selected = [i for i in all_ids if i not in parents] if dangling_only else all_ids
        summaries: dict[str, dict[str, Any]] = {}
        for image_id in selected:
            image = store.get(image_id)
            created = _created_ns(store, image_id)
            if before is not None and (created is None or created >= before):
                continue
            if since is not None and (created is None or created <= since):
                continue
            labels = image.container_config.get("Labels") or {}
            if "label" in filters and not flt.match_kv_list(filters, "label", labels):
                continue
            repo_tags: list[str] = []
            repo_digests: list[str] = []
            for ref in store.references(image_id):
                if patterns and not _reference_matches(patterns, ref):
                    continue
                (repo_digests if ref.digest else repo_tags).append(ref.familiar())
            if not repo_tags and not repo_digests:
                if all_images or not store.children(image_id):
                    if "dangling" in filters and not dangling_only:
                        continue
                    if patterns:
                        continue
                else:
                    continue
            elif dangling_only and repo_tags:
                continue
            ts_created = store.created(image_id)
            summaries[image_id] = {
                "Containers": len(usage.containers_using(image_id)) if count_containers else -1,
                "Created": ts_created.unix if ts_created is not None else 0,
                "Id": image_id,
                "Labels": dict(labels),
                "ParentId": image.parent,
                "RepoDigests": repo_digests,
                "RepoTags": repo_tags,
                "SharedSize": -1,
                "Size": image.size,
            }
        if shared_size:
            refs: Counter[str] = Counter()
            for image_id in all_ids:
                refs.update(store.chains(image_id))
            for image_id, summary in summaries.items():
                summary["SharedSize"] = sum(store.layer(c).size for c in store.chains(image_id) if refs[c] > 1)
    return sorted(summaries.values(), key=lambda s: (s["Created"], s["Id"]), reverse=True)
