"""`docker build` with the classic builder (moby's builder/dockerfile), driven by POST /build.

    image_id = await build_image(d, context_dir, BuildOptions(tags=["app:1"]), send)

`send` receives docker's JSON stream messages ({"stream": "Step 1/4 : FROM busybox\\n"},
{"aux": {"ID": …}}). Each instruction makes one image above the previous one, as dockerd
20.10's classic builder does:

- FROM (daemon/build_base.py): a local image or one pulled from its registry (always with
  `pull=1`), `scratch`, or an earlier stage (`AS name`, or its index);
- RUN, WORKDIR and the metadata instructions (daemon/build_steps.py): each through an
  intermediate container, removed afterwards (`rm`, `forcerm`);
- COPY/ADD (daemon/build_files.py): written into an overlay of the parent image;
- what the metadata instructions change in the config: daemon/build_metadata.py.

The state they share, the build cache and the image commits are daemon/build_session.py's.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import secrets
import shutil
from pathlib import Path

from sangja.builder.context import read_dockerfile
from sangja.builder.parser import Instruction, parse, parse_error
from sangja.daemon.build_base import resolve_image
from sangja.daemon.build_files import copy_step
from sangja.daemon.build_metadata import apply_metadata, declare_args
from sangja.daemon.build_session import (
    PREDEFINED_ARGS,
    BuildFailed,
    BuildOptions,
    BuildSession,
    Send,
    Stage,
    short,
)
from sangja.daemon.build_steps import metadata_step, run_step, workdir_step
from sangja.daemon.daemon import Daemon
from sangja.errors import InvalidParameter
from sangja.image.changes import empty_container_config
from sangja.image.reference import Reference, parse_docker_ref
from sangja.image.shellwords import process_word
from sangja.image.timeutil import now

__all__ = ["BuildFailed", "BuildOptions", "build_image", "parse_tags"]


def parse_tags(tags: list[str]) -> list[Reference]:
    """The `t` parameters as references (moby's sanitizeRepoAndTags); refused before the build."""
    out: list[Reference] = []
    for t in tags:
        if not t:
            continue
        ref = parse_docker_ref(t)
        if ref.digest:
            raise InvalidParameter("build tag cannot contain a digest")
        if ref not in out:
            out.append(ref)
    return out


async def _run(b: BuildSession) -> str:
    text = await asyncio.to_thread(read_dockerfile, b.ctx, b.opts.dockerfile)
    df = parse(text)
    b.escape = df.escape
    meta: list[Instruction] = []
    groups: list[list[Instruction]] = []
    for instr in df.instructions:
        if instr.cmd == "from":
            groups.append([instr])
        elif not groups:
            if instr.cmd != "arg":
                raise parse_error(instr.start_line, "no build stage in current context")
            meta.append(instr)
        else:
            groups[-1].append(instr)
    if not groups:
        raise InvalidParameter("no build stage in current context")
    names = [_stage_name(g[0]) for g in groups]
    if b.opts.target:
        if b.opts.target.lower() not in names:
            raise InvalidParameter(f"failed to reach build target {b.opts.target} in Dockerfile")
        groups = groups[: names.index(b.opts.target.lower()) + 1]
    b.total = len(meta) + sum(len(g) for g in groups)
    for instr in meta:
        await _print_step(b, instr)
        for name, value in instr.pairs:
            b.meta_args[name] = process_word(value, b.meta_env(), b.escape) if value is not None else None
            if name in b.opts.buildargs:
                b.used_args.add(name)
    stage: Stage | None = None
    for i, group in enumerate(groups):
        if names[i] and any(s.name == names[i] for s in b.stages):
            raise InvalidParameter(f"duplicate name {names[i]}")
        stage = Stage(name=names[i], index=i)
        await _from(b, stage, group[0])
        b.stages.append(stage)
        for instr in group[1:]:
            await _print_step(b, instr)
            await _dispatch(b, stage, instr)
            await b.out(f" ---> {short(stage.image_id)}\n")
        await b.send({"aux": {"ID": stage.image_id}})
    assert stage is not None
    unused = sorted(k for k in b.opts.buildargs if k not in b.used_args and k not in PREDEFINED_ARGS)
    if unused:
        await b.out(f"[Warning] One or more build-args [{' '.join(unused)}] were not consumed\n")
    if not stage.image_id:
        raise BuildFailed("No image was generated. Is your Dockerfile empty?")
    return stage.image_id


def _stage_name(instr: Instruction) -> str:
    words = instr.words
    if len(words) == 3 and words[1].lower() == "as":
        return words[2].lower()
    if len(words) != 1:
        raise parse_error(instr.start_line, "FROM requires either one or three arguments")
    return ""


async def _print_step(b: BuildSession, instr: Instruction) -> None:
    b.step += 1
    await b.out(f"Step {b.step}/{b.total} : {instr.original}\n")


async def _from(b: BuildSession, stage: Stage, instr: Instruction) -> None:
    await _print_step(b, instr)
    for flag in instr.flags:
        if flag.partition("=")[0] != "platform":
            raise InvalidParameter(f"unknown flag: {flag.partition('=')[0]}")
    base = process_word(instr.words[0], b.meta_env(), b.escape)
    if not base:
        raise InvalidParameter("base name (" + instr.words[0] + ") should not be blank")
    earlier = next((s for s in b.stages if s.name == base.lower() and s.name), None)
    if earlier is None and base.isdigit() and int(base) < len(b.stages):
        earlier = b.stages[int(base)]
    if earlier is not None:
        stage.image_id, stage.image_config = earlier.image_id, copy.deepcopy(earlier.image_config)
    elif base.lower() != "scratch":
        image = await resolve_image(b, base)
        stage.image_id, stage.image_config = image.id, copy.deepcopy(image.config)
    if stage.image_config:
        cfg = empty_container_config()
        cfg.update(copy.deepcopy(stage.image_config.get("config") or {}))
        stage.config = cfg
    triggers = list(stage.config.get("OnBuild") or [])
    stage.config["OnBuild"] = None
    if b.opts.labels:
        stage.config["Labels"] = {**(stage.config.get("Labels") or {}), **b.opts.labels}
    await b.out(f" ---> {short(stage.image_id)}\n")
    if triggers:
        await b.out(f"# Executing {len(triggers)} build trigger{'s' if len(triggers) > 1 else ''}\n")
        for text in triggers:
            trigger = parse(text).instructions[0]
            await _dispatch(b, stage, trigger)
        if stage.image_id:
            await b.out(f" ---> {short(stage.image_id)}\n")


async def _dispatch(b: BuildSession, stage: Stage, instr: Instruction) -> None:
    cmd = instr.cmd
    if cmd == "run":
        await run_step(b, stage, instr)
    elif cmd in ("copy", "add"):
        await copy_step(b, stage, instr)
    elif cmd == "workdir":
        await workdir_step(b, stage, instr)
    else:
        if cmd == "arg":
            declare_args(b, stage, instr)
        else:
            apply_metadata(b, stage, instr)
        await metadata_step(b, stage, instr)


async def build_image(d: Daemon, ctx: Path, opts: BuildOptions, send: Send) -> str:
    """Run the build; returns the image ID. Errors raise (InvalidParameter for the Dockerfile,
    BuildFailed for a failed step); the tags are applied only after success."""
    refs = parse_tags(opts.tags)
    scratch = d.config.data_root / "build" / secrets.token_hex(8)
    b = BuildSession(d, ctx, scratch, opts, send)
    try:
        image_id = await _run(b)
        if opts.rm or opts.forcerm:
            await b.remove_temp()
    except BaseException as exc:
        # A client that went away cancels the build: nobody will see its containers, so they
        # go too (a failed step's container stays for inspection unless forcerm, as in docker).
        cancelled = isinstance(exc, asyncio.CancelledError)
        if opts.forcerm or cancelled:
            with contextlib.suppress(Exception):
                await asyncio.shield(b.remove_temp(report=not cancelled))
        if not cancelled:
            with contextlib.suppress(Exception):
                await b.release_held()
        raise
    finally:
        await asyncio.to_thread(shutil.rmtree, scratch, True)
    await b.out(f"Successfully built {short(image_id)}\n")
    for ref in refs:
        await asyncio.to_thread(d.images.add_reference, ref, image_id, force=True, touch=now().rfc3339_nano())
        d.events.publish("image", "tag", image_id, {"name": ref.familiar()})
        await b.out(f"Successfully tagged {ref.familiar()}\n")
    if opts.quiet:
        await send({"stream": f"{image_id}\n"})
    return image_id
