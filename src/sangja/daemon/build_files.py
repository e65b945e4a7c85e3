"""COPY, ADD and WORKDIR in the classic builder: the files are written into the parent image's
file system mounted as an overlay under the build's scratch directory (a plain directory above
`scratch`), and the overlay's upper dir becomes the layer, exactly as a commit makes it. No
container is involved (dockerd's classic builder makes none for them either).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

from sangja.builder.context import Owner, copy_sources, find_sources, source_checksum, write_file
from sangja.builder.parser import Instruction
from sangja.daemon.build_base import resolve_image
from sangja.daemon.build_session import BuildSession, Stage
from sangja.errors import InvalidParameter
from sangja.image.shellwords import process_word
from sangja.runtime.user import lookup_user


def _lowers(b: BuildSession, image_id: str) -> list[str]:
    return b.d.images.layer_dirs(b.d.images.get(image_id))


@contextlib.asynccontextmanager
async def layer_dir(b: BuildSession, stage: Stage) -> AsyncIterator[tuple[str, str]]:
    """(root to write into, upper dir that becomes the layer) above the stage's image."""
    work = b.scratch / f"step-{secrets.token_hex(6)}"
    work.mkdir(parents=True)
    try:
        if not stage.image_id:
            root = work / "upper"
            root.mkdir()
            yield str(root), str(root)
            return
        lowers = await asyncio.to_thread(_lowers, b, stage.image_id)
        merged = await asyncio.to_thread(partial(b.d.rootfs.mount, lowers, work, volatile=True))
        try:
            yield merged, str(work / "upper")
        finally:
            await asyncio.to_thread(b.d.rootfs.unmount, work)
    finally:
        await asyncio.to_thread(shutil.rmtree, work, True)


@contextlib.asynccontextmanager
async def source_root(b: BuildSession, stage: Stage, src: str) -> AsyncIterator[Path]:
    """The root COPY --from=<src> reads: an earlier stage (name or index) or an image (pulled
    when it is not local, or always with `pull`, as dockerd's imageSources.Get)."""
    earlier = next((s for s in b.stages if s.name and s.name == src.lower()), None)
    if earlier is None and src.isdigit():
        if int(src) >= len(b.stages):
            raise InvalidParameter(f"invalid from flag value {src}: refers to current build stage")
        earlier = b.stages[int(src)]
    if earlier is not None:
        image_id = earlier.image_id
    else:
        image_id = (await resolve_image(b, src, what=f"invalid from flag value {src}")).id
    work = b.scratch / f"from-{secrets.token_hex(6)}"
    work.mkdir(parents=True)
    try:
        if not image_id:
            yield work
            return
        lowers = await asyncio.to_thread(_lowers, b, image_id)
        merged = await asyncio.to_thread(partial(b.d.rootfs.mount, lowers, work, volatile=True))
        try:
            yield Path(merged)
        finally:
            await asyncio.to_thread(b.d.rootfs.unmount, work)
    finally:
        await asyncio.to_thread(shutil.rmtree, work, True)


async def copy_step(b: BuildSession, stage: Stage, instr: Instruction) -> None:
    cmd = instr.name
    allowed = ("chown", "chmod", "from") if instr.cmd == "copy" else ("chown", "chmod")
    flags = b.flags(instr, allowed)
    words = list(instr.words)
    if instr.heredocs:
        words = [w for w in words if not w.startswith("<<")]
        if len(words) != 1:
            raise InvalidParameter(f"{cmd} with a heredoc needs exactly one destination")
    elif len(words) < 2:
        raise InvalidParameter(
            f"{cmd} requires at least two arguments, but only one was provided. "
            "Destination could not be determined."
        )
    words = [b.expand(stage, w) for w in words]
    dest = words[-1]
    srcs = words[:-1]
    for s in srcs:
        if "://" in s:
            if instr.cmd == "add":
                raise InvalidParameter(
                    f"ADD failed: sangja's builder does not download remote sources ({s}): "
                    "download it into the build context and ADD or COPY it from there"
                )
            raise InvalidParameter(f"{cmd} failed: source can't be a URL for COPY")
    mode = None
    if flags.get("chmod"):
        try:
            mode = int(flags["chmod"], 8)
        except ValueError:
            raise InvalidParameter(f'invalid chmod parameter {flags["chmod"]}. it should be octal string') from None
        if not 0 <= mode <= 0o7777:
            raise InvalidParameter(f"invalid chmod parameter {flags['chmod']}")
    chown = b.expand(stage, flags.get("chown", ""))
    workdir = str(stage.config.get("WorkingDir") or "/")
    async with contextlib.AsyncExitStack() as stack:
        if "from" in flags:
            src_root = await stack.enter_async_context(source_root(b, stage, b.expand(stage, flags["from"])))
        else:
            src_root = b.ctx
        sources = await asyncio.to_thread(find_sources, src_root, srcs, cmd) if srcs else []
        if instr.heredocs:
            digest = "heredoc:" + ",".join(h.content for h in instr.heredocs)
        else:
            digest = await asyncio.to_thread(source_checksum, sources)
        flag_text = "".join(f"--{f} " for f in instr.flags if not f.startswith("from="))
        probe = b.probe_config(stage, b.nop_cmd(stage, f"{cmd} {flag_text}{digest} in {dest} "))
        if await b.probe_cache(stage, probe):
            return
        root, upper = await stack.enter_async_context(layer_dir(b, stage))

        def blocking() -> None:
            owner = _owner(root, chown)
            if instr.heredocs:
                for h in instr.heredocs:
                    content = h.content
                    if h.expand:
                        content = process_word(content, b.env(stage), b.escape)
                    write_file(root, dest, workdir, h.name, content.encode(), owner, mode)
            else:
                copy_sources(sources, root, dest, workdir, owner, mode, extract_archives=instr.cmd == "add")

        await asyncio.to_thread(blocking)
        await b.commit_dir(stage, upper, probe)


def _owner(root: str, chown: str) -> Owner:
    if not chown:
        return Owner()
    user, _, group = chown.partition(":")
    u = lookup_user(root, f"{user}:{group}" if group else user)
    return Owner(u.uid, u.gid)
