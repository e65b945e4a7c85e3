"""The classic builder's steps that go through a container, as dockerd 20.10's do.

- RUN: a real container made by the daemon's own verbs (create → start → follow its log →
  wait → commit of its writable layer → remove), with the step's Env (and the build args in
  use), User, WorkingDir and SHELL. A non-zero exit stops the build with docker's message and
  the exit status as the error's code; the failed container is kept unless `forcerm`.
- WORKDIR: the same, but the directory is made in the container's file system (mounted, never
  started; moby's ContainerCreateWorkdir) before the commit, so it is in the layer when new;
- the metadata instructions (CMD, ENV, LABEL, EXPOSE, …): moby's builder.commit creates a
  container whose Cmd records the instruction, never starts it, commits it (its writable layer
  is empty, so the image has an `empty_layer`) and removes it — hence dockerd's
  " ---> Running in …" / "Removing intermediate container …" around every such step.

Both look in the build cache first; a hit creates no container.
"""

from __future__ import annotations

import asyncio
import copy
import os
from typing import Any

from sangja.builder.parser import Instruction
from sangja.daemon.build_files import layer_dir
from sangja.daemon.build_session import PREDEFINED_ARGS, BuildFailed, BuildSession, Stage
from sangja.daemon.container_fs import container_root
from sangja.daemon.create import create_container
from sangja.daemon.logs import LogOptions, read_logs
from sangja.daemon.start import start_container
from sangja.daemon.wait import wait_future
from sangja.errors import InvalidParameter
from sangja.image.changes import _normalize_workdir
from sangja.runtime.user import resolve_in_root


async def _create(b: BuildSession, stage: Stage, config: dict[str, Any]) -> str:
    body = copy.deepcopy(config)
    body["HostConfig"] = {"NetworkMode": b.opts.networkmode or "default"}
    c, _ = await create_container(b.d, body, None)
    b.temp_containers.append(c.id)
    await b.out(f" ---> Running in {c.id[:12]}\n")
    return c.id


async def _done(b: BuildSession) -> None:
    if b.opts.rm or b.opts.forcerm:
        await b.remove_temp()


async def metadata_step(b: BuildSession, stage: Stage, instr: Instruction) -> None:
    """The image of a metadata instruction (the stage's config already changed)."""
    probe = b.probe_config(stage, b.nop_cmd(stage, instr.original))
    if await b.probe_cache(stage, probe):
        return
    if not stage.image_id:
        # moby: "Please provide a source image with `from` prior to commit"; a step on an
        # empty `scratch` has no image to make a container of, so it commits the config alone.
        await b.commit_empty(stage, probe)
        return
    cid = await _create(b, stage, probe)
    await b.commit_empty(stage, probe, cid)
    await _done(b)


async def run_step(b: BuildSession, stage: Stage, instr: Instruction) -> None:
    b.flags(instr)
    if instr.json:
        argv = list(instr.words)
    elif instr.heredocs and instr.rest.strip() == f"<<{instr.heredocs[0].name}":
        argv = [*b.shell(stage), instr.heredocs[0].content]
    elif instr.heredocs:
        raise InvalidParameter("sangja's builder supports a heredoc only as the whole RUN command")
    else:
        argv = [*b.shell(stage), instr.rest]
    if not stage.image_id:
        raise BuildFailed("Please provide a source image with `from` prior to run")
    args = b.build_arg_env(stage)
    in_history = {k: v for k, v in args.items() if k not in PREDEFINED_ARGS}
    save_cmd = argv
    if in_history:
        save_cmd = [f"|{len(in_history)}", *[f"{k}={v}" for k, v in sorted(in_history.items())], *argv]
    probe = b.probe_config(stage, save_cmd)
    if await b.probe_cache(stage, probe):
        return
    config = copy.deepcopy(stage.config)
    config.update({
        "Image": stage.image_id,
        "Cmd": argv,
        "Entrypoint": [""],
        "Env": [*(stage.config.get("Env") or []), *[f"{k}={v}" for k, v in args.items()]],
        "Healthcheck": {"Test": ["NONE"]},
        "OnBuild": None,
        "AttachStdout": True,
        "AttachStderr": True,
    })
    cid = await _create(b, stage, config)
    exited = wait_future(b.d, cid, "next-exit")
    await start_container(b.d, cid)
    async for entry in read_logs(b.d, cid, LogOptions(follow=True)):
        await b.out(entry.data.decode(errors="replace"))
    code = await exited
    if code != 0:
        # moby's dispatchRun: a jsonmessage.JSONError whose Code is the exit status
        raise BuildFailed(f"The command '{' '.join(argv)}' returned a non-zero code: {code}", code)
    await b.commit_dir(stage, str(b.d.containers.directory(cid) / "upper"), probe, cid)
    await _done(b)


async def workdir_step(b: BuildSession, stage: Stage, instr: Instruction) -> None:
    b.flags(instr)
    if not instr.rest:
        raise InvalidParameter("WORKDIR requires exactly one argument")
    path = _normalize_workdir(str(stage.config.get("WorkingDir") or ""), b.expand(stage, instr.rest))
    stage.config["WorkingDir"] = path
    probe = b.probe_config(stage, b.nop_cmd(stage, f"WORKDIR {path}"))
    if await b.probe_cache(stage, probe):
        return

    def make(root: str) -> None:
        host = resolve_in_root(root, path)
        if not os.path.isdir(host):
            os.makedirs(host, 0o755, exist_ok=True)

    if not stage.image_id:
        # on an empty `scratch`: no image to make a container of, the directory is the layer
        async with layer_dir(b, stage) as (root, upper):
            await asyncio.to_thread(make, root)
            await b.commit_dir(stage, upper, probe)
        return
    cid = await _create(b, stage, probe)
    async with container_root(b.d, b.d.containers.get(cid)) as root:
        await asyncio.to_thread(make, root)
    await b.commit_dir(stage, str(b.d.containers.directory(cid) / "upper"), probe, cid)
    await _done(b)
