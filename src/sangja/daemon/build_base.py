"""The images a classic build starts from (FROM) or copies from (COPY --from=<image>), as dockerd's
imageSources.Get and GetImageAndReleasableLayer find them:

- without `pull`: the local image, else it is pulled from its registry (PullOptionPreferLocal);
- with `pull=1` (`docker build --pull`): always pulled, even when it is local
  (PullOptionForcePull), so the build starts from what the registry has now; a registry that
  cannot be reached fails the build with the pull's error.

The pull's progress goes into the build's JSON stream, as dockerd's does. Credentials come from
the X-Registry-Config header the docker CLI sends (every registry it knows a login for),
resolved for the image's registry like moby's registry.ResolveAuthConfig.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from sangja.daemon.auth import registry_domain
from sangja.daemon.build_session import BuildSession
from sangja.distribution.auth import Credentials
from sangja.distribution.endpoint import auth_key
from sangja.errors import NotFound, SangjaError
from sangja.image.reference import Reference, parse_normalized_named
from sangja.image.types import Image


def credentials_for(configs: dict[str, dict[str, Any]], ref: Reference) -> Credentials:
    """The X-Registry-Config entry for `ref`'s registry: its own key first (Docker Hub's is the v1
    index URL), then any key naming the same host ("https://host:5000/v1/")."""
    exact = configs.get(auth_key(ref.domain))
    if exact is not None:
        return Credentials.from_auth_config(exact)
    for key, cfg in configs.items():
        if registry_domain(key) == ref.domain:
            return Credentials.from_auth_config(cfg)
    return Credentials()


def _pullable(name: str) -> Reference | None:
    """The reference to pull for `name`, or None when it names an image by ID."""
    try:
        ref = parse_normalized_named(name)
    except SangjaError:
        return None
    if not ref.digest and not ref.tag:
        ref = ref.with_tag("latest")
    return ref


async def resolve_image(b: BuildSession, name: str, *, what: str = "") -> Image:
    """The image `name` names, pulled as the build's `pull` option says. `what` prefixes the
    error of an image that is neither local nor pullable (COPY --from's "invalid from flag")."""
    store = b.d.images
    if not b.opts.pull:
        with contextlib.suppress(NotFound):
            return await asyncio.to_thread(store.get, name)
    ref = _pullable(name)
    if ref is None:      # an image ID: nothing to pull
        try:
            return await asyncio.to_thread(store.get, name)
        except NotFound as exc:
            raise NotFound(f"{what}: {exc.message}" if what else exc.message) from None
    image_id = await _pull(b, ref)
    return await asyncio.to_thread(store.get, image_id)


async def _pull(b: BuildSession, ref: Reference) -> str:
    # Imported here: the registry client is needed only by builds that pull.
    from sangja.daemon.image_events import LoopEventSink
    from sangja.daemon.image_pull import pull_image
    from sangja.daemon.registry_session import Progress, registry_options

    progress = Progress(b.emit)
    pump = asyncio.create_task(progress.pump())
    try:
        return await pull_image(
            b.d.images, LoopEventSink(b.d.events, asyncio.get_running_loop()), ref,
            credentials_for(b.opts.auth_configs, ref), "", progress, registry_options(b.d.config),
        )
    finally:
        progress.close()
        await pump
