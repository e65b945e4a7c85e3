"""`docker build` with the classic builder (moby's builder/dockerfile), driven by POST /build.

    image_id = await build_image(d, context_dir, BuildOptions(tags=["app:1"]), send)

`send` receives docker's JSON stream messages ({"stream": "Step 1/4 : FROM busybox\\n"},
{"aux": {"ID": …}}). Each instruction makes one image above the previous one:

- FROM: a local image (`pull=1` is refused: sangja builds only from local images), `scratch`, or
  an earlier stage (`AS name`, or its index);
- RUN: a real container made by the daemon's own verbs (create → start → wait → commit of its
  writable layer → remove), with the step's Env (and the build args in use), User, WorkingDir and
  SHELL; a non-zero exit stops the build with docker's message, and the failed container is
  kept unless `forcerm`;
- COPY/ADD and WORKDIR: the files are written into the parent image's file system mounted as an
  overlay under the build's scratch directory (a plain directory above `scratch`), and the overlay's
  upper dir becomes the layer, exactly as a commit makes it;
- the metadata instructions (CMD, ENTRYPOINT, ENV, ARG, LABEL, EXPOSE, USER, VOLUME, STOPSIGNAL,
  HEALTHCHECK, SHELL, ONBUILD, MAINTAINER): an image with an empty layer and the new config.

The build cache (moby's ImageCache for the classic builder): before a step runs, the children of
the parent image are searched for one made by the same instruction — the same container_config,
whose Cmd records the instruction (for COPY/ADD with a checksum of the source files) — and it is
reused (" ---> Using cache"). `nocache` turns it off.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sangja.builder.context import (
    Owner,
    copy_sources,
    find_sources,
    read_dockerfile,
    source_checksum,
    write_file,
)
from sangja.builder.parser import Instruction, parse, parse_error
from sangja.daemon.commit import child_image_config, register_layer_image
from sangja.daemon.create import create_container
from sangja.daemon.daemon import Daemon
from sangja.daemon.logs import LogOptions, read_logs
from sangja.daemon.remove import remove_container
from sangja.daemon.start import start_container
from sangja.daemon.wait import wait_future
from sangja.errors import InvalidParameter, NotFound, SangjaError
from sangja.image.changes import (
    DEFAULT_SHELL,
    _check_signal,
    _healthcheck,
    _normalize_workdir,
    _port_spec,
    empty_container_config,
)
from sangja.image.reference import Reference, parse_docker_ref
from sangja.image.rwlayer import EMPTY_LAYER_DIFF_ID, write_layer_tar
from sangja.image.shellwords import env_map, process_word, process_words
from sangja.image.timeutil import now
from sangja.runtime.user import lookup_user

Send = Callable[[dict[str, Any]], Awaitable[None]]

# Build args usable without an ARG instruction, and kept out of the image's history (moby's
# builtinAllowedBuildArgs).
PREDEFINED_ARGS = frozenset([
    "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
    "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
])


class BuildFailed(SangjaError):
    """A step failed: the message goes into the JSON stream as an error (the HTTP status is
    already 200 by then)."""

    status = 500


@dataclass
class BuildOptions:
    tags: list[str] = field(default_factory=list)
    dockerfile: str = "Dockerfile"
    buildargs: dict[str, str | None] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    target: str = ""
    nocache: bool = False
    pull: bool = False
    rm: bool = True
    forcerm: bool = False
    quiet: bool = False
    networkmode: str = ""


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


@dataclass
class _Stage:
    name: str
    index: int
    image_id: str = ""                     # "" while on `scratch` with nothing built yet
    image_config: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=empty_container_config)
    args: dict[str, str | None] = field(default_factory=dict)   # ARGs declared in this stage
    cmd_set: bool = False                  # a CMD was given in this stage (ENTRYPOINT keeps it)


class _Builder:
    def __init__(self, d: Daemon, ctx: Path, scratch: Path, opts: BuildOptions, send: Send) -> None:
        self.d = d
        self.ctx = ctx
        self.scratch = scratch
        self.opts = opts
        self._send = send
        self.escape = "\\"
        self.stages: list[_Stage] = []
        self.meta_args: dict[str, str | None] = {}
        self.used_args: set[str] = set()
        self.step = 0
        self.total = 0
        self.temp_containers: list[str] = []

    # -- output ---------------------------------------------------------------------------

    async def out(self, text: str) -> None:
        if not self.opts.quiet:
            await self._send({"stream": text})

    # -- variables --------------------------------------------------------------------------

    def arg_value(self, stage: _Stage, name: str) -> str | None:
        if name in self.opts.buildargs and self.opts.buildargs[name] is not None:
            return self.opts.buildargs[name]
        return stage.args.get(name)

    def build_arg_env(self, stage: _Stage) -> dict[str, str]:
        """The build args in effect and not overridden by ENV (moby's FilterAllowed)."""
        env = env_map(stage.config.get("Env"))
        out: dict[str, str] = {}
        for name in stage.args:
            value = self.arg_value(stage, name)
            if value is not None and name not in env:
                out[name] = value
        for name in PREDEFINED_ARGS:
            value = self.opts.buildargs.get(name)
            if value is not None and name not in env:
                out[name] = value
        return out

    def env(self, stage: _Stage) -> dict[str, str]:
        merged = self.build_arg_env(stage)
        merged.update(env_map(stage.config.get("Env")))
        return merged

    def expand(self, stage: _Stage, word: str) -> str:
        return process_word(word, self.env(stage), self.escape)

    # -- the build --------------------------------------------------------------------------

    async def run(self) -> str:
        text = await asyncio.to_thread(read_dockerfile, self.ctx, self.opts.dockerfile)
        df = parse(text)
        self.escape = df.escape
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
        names = [self._stage_name(g[0]) for g in groups]
        if self.opts.target:
            if self.opts.target.lower() not in names:
                raise InvalidParameter(f"failed to reach build target {self.opts.target} in Dockerfile")
            groups = groups[: names.index(self.opts.target.lower()) + 1]
        self.total = len(meta) + sum(len(g) for g in groups)
        for instr in meta:
            await self.print_step(instr)
            for name, value in instr.pairs:
                self.meta_args[name] = process_word(value, self._meta_env(), self.escape) if value is not None else None
                if name in self.opts.buildargs:
                    self.used_args.add(name)
        stage: _Stage | None = None
        for i, group in enumerate(groups):
            if names[i] and any(s.name == names[i] for s in self.stages):
                raise InvalidParameter(f"duplicate name {names[i]}")
            stage = _Stage(name=names[i], index=i)
            await self.from_(stage, group[0])
            self.stages.append(stage)
            for instr in group[1:]:
                await self.print_step(instr)
                await self.dispatch(stage, instr)
                await self.out(f" ---> {_short(stage.image_id)}\n")
            await self._send({"aux": {"ID": stage.image_id}})
        assert stage is not None
        unused = sorted(k for k in self.opts.buildargs if k not in self.used_args and k not in PREDEFINED_ARGS)
        if unused:
            await self.out(f"[Warning] One or more build-args [{' '.join(unused)}] were not consumed\n")
        if not stage.image_id:
            raise BuildFailed("No image was generated. Is your Dockerfile empty?")
        return stage.image_id

    def _stage_name(self, instr: Instruction) -> str:
        words = instr.words
        if len(words) == 3 and words[1].lower() == "as":
            return words[2].lower()
        if len(words) != 1:
            raise parse_error(instr.start_line, "FROM requires either one or three arguments")
        return ""

    def _meta_env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, value in self.meta_args.items():
            given = self.opts.buildargs.get(name)
            if given is not None:
                out[name] = given
            elif value is not None:
                out[name] = value
        return out

    async def print_step(self, instr: Instruction) -> None:
        self.step += 1
        await self.out(f"Step {self.step}/{self.total} : {instr.original}\n")

    async def from_(self, stage: _Stage, instr: Instruction) -> None:
        await self.print_step(instr)
        for flag in instr.flags:
            if flag.partition("=")[0] != "platform":
                raise InvalidParameter(f"unknown flag: {flag.partition('=')[0]}")
        base = process_word(instr.words[0], self._meta_env(), self.escape)
        if not base:
            raise InvalidParameter("base name (" + instr.words[0] + ") should not be blank")
        earlier = next((s for s in self.stages if s.name == base.lower() and s.name), None)
        if earlier is None and base.isdigit() and int(base) < len(self.stages):
            earlier = self.stages[int(base)]
        if earlier is not None:
            stage.image_id, stage.image_config = earlier.image_id, copy.deepcopy(earlier.image_config)
        elif base.lower() != "scratch":
            if self.opts.pull:
                raise InvalidParameter(
                    "pull=1 is not supported by sangja's builder: pull the base image first (sangja pull)"
                )
            try:
                image = await asyncio.to_thread(self.d.images.get, base)
            except NotFound:
                raise NotFound(
                    f"pull access denied for {base}, repository does not exist or may require 'docker login': "
                    f"sangja builds only from local images ({base} is not one)"
                ) from None
            stage.image_id, stage.image_config = image.id, copy.deepcopy(image.config)
        if stage.image_config:
            cfg = empty_container_config()
            cfg.update(copy.deepcopy(stage.image_config.get("config") or {}))
            stage.config = cfg
        triggers = list(stage.config.get("OnBuild") or [])
        stage.config["OnBuild"] = None
        if self.opts.labels:
            stage.config["Labels"] = {**(stage.config.get("Labels") or {}), **self.opts.labels}
        await self.out(f" ---> {_short(stage.image_id)}\n")
        if triggers:
            await self.out(f"# Executing {len(triggers)} build trigger{'s' if len(triggers) > 1 else ''}\n")
            for text in triggers:
                trigger = parse(text).instructions[0]
                await self.dispatch(stage, trigger)
            if stage.image_id:
                await self.out(f" ---> {_short(stage.image_id)}\n")

    # -- instructions -----------------------------------------------------------------------

    async def dispatch(self, stage: _Stage, instr: Instruction) -> None:
        cmd = instr.cmd
        if cmd == "run":
            await self.run_step(stage, instr)
        elif cmd in ("copy", "add"):
            await self.copy_step(stage, instr)
        elif cmd == "workdir":
            await self.workdir_step(stage, instr)
        elif cmd == "arg":
            self.arg_step(stage, instr)
            await self.metadata_step(stage, instr)
        else:
            self.apply_metadata(stage, instr)
            await self.metadata_step(stage, instr)

    def _no_flags(self, instr: Instruction, allowed: tuple[str, ...] = ()) -> dict[str, str]:
        out: dict[str, str] = {}
        for flag in instr.flags:
            name, _, value = flag.partition("=")
            if name not in allowed:
                raise InvalidParameter(f"Unknown flag: {name}")
            out[name] = value
        return out

    def arg_step(self, stage: _Stage, instr: Instruction) -> None:
        for name, value in instr.pairs:
            if value is not None:
                value = self.expand(stage, value)
            elif name in self.meta_args:
                value = self._meta_env().get(name)
            stage.args[name] = value
            if name in self.opts.buildargs:
                self.used_args.add(name)

    def apply_metadata(self, stage: _Stage, instr: Instruction) -> None:
        cfg = stage.config
        cmd = instr.cmd
        if cmd != "healthcheck":
            self._no_flags(instr)
        if cmd in ("cmd", "entrypoint"):
            argv = instr.words if instr.json else [*self.shell(stage), instr.rest] if instr.rest else None
            if cmd == "cmd":
                cfg["Cmd"] = argv
            else:
                cfg["Entrypoint"] = argv
                if not stage.cmd_set:
                    cfg["Cmd"] = None
            if cmd == "cmd":
                stage.cmd_set = True
        elif cmd in ("env", "label"):
            pairs = [(self.expand(stage, k), self.expand(stage, v or "")) for k, v in instr.pairs]
            if cmd == "env":
                env = list(cfg.get("Env") or [])
                for key, value in pairs:
                    entry = f"{key}={value}"
                    idx = next((i for i, e in enumerate(env) if e.partition("=")[0] == key), None)
                    if idx is None:
                        env.append(entry)
                    else:
                        env[idx] = entry
                cfg["Env"] = env
            else:
                labels = {**(cfg.get("Labels") or {}), **dict(pairs)}
                cfg["Labels"] = dict(sorted(labels.items()))    # as Go writes a map
        elif cmd == "expose":
            if not instr.words:
                raise InvalidParameter("EXPOSE requires at least one argument")
            ports = dict(cfg.get("ExposedPorts") or {})
            for word in instr.words:
                for spec in process_words(word, self.env(stage), self.escape):
                    for port in _port_spec(spec):
                        ports[port] = {}
            cfg["ExposedPorts"] = ports
        elif cmd in ("user", "stopsignal"):
            if not instr.rest:
                raise InvalidParameter(f"{instr.name} requires exactly one argument")
            value = self.expand(stage, instr.rest)
            if cmd == "user":
                cfg["User"] = value
            else:
                _check_signal(value)
                cfg["StopSignal"] = value
        elif cmd == "volume":
            if not instr.words:
                raise InvalidParameter("VOLUME requires at least one argument")
            volumes = dict(cfg.get("Volumes") or {})
            for item in instr.words:
                item = self.expand(stage, item.strip())
                if not item:
                    raise InvalidParameter("VOLUME specified can not be an empty string")
                volumes[item] = {}
            cfg["Volumes"] = volumes
        elif cmd == "shell":
            if not instr.json:
                raise InvalidParameter("SHELL requires the arguments to be in JSON form")
            if not instr.words:
                raise InvalidParameter("SHELL requires at least one argument")
            cfg["Shell"] = list(instr.words)
        elif cmd == "healthcheck":
            rest = instr.rest
            if instr.json and len(instr.words) > 1:
                rest = instr.words[0] + " " + json.dumps(instr.words[1:])
            cfg["Healthcheck"] = _healthcheck(instr.flags, rest)
        elif cmd == "onbuild":
            assert instr.sub is not None
            trigger = instr.sub.cmd.upper()
            if trigger == "ONBUILD":
                raise InvalidParameter("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
            if trigger in ("MAINTAINER", "FROM"):
                raise InvalidParameter(f"{trigger} isn't allowed as an ONBUILD trigger")
            cfg["OnBuild"] = [*(cfg.get("OnBuild") or []), instr.sub.original]
        elif cmd == "maintainer":
            stage.image_config["author"] = instr.rest
        else:  # pragma: no cover - the parser knows only the instructions above
            raise InvalidParameter(f"unknown instruction: {instr.name}")

    def shell(self, stage: _Stage) -> list[str]:
        return list(stage.config.get("Shell") or DEFAULT_SHELL)

    def nop_cmd(self, stage: _Stage, text: str) -> list[str]:
        return [*self.shell(stage), "#(nop) ", text]

    async def metadata_step(self, stage: _Stage, instr: Instruction) -> None:
        probe = self._probe_config(stage, self.nop_cmd(stage, instr.original))
        if await self.probe_cache(stage, probe):
            return
        await self.commit_empty(stage, probe)

    def _probe_config(self, stage: _Stage, cmd: list[str]) -> dict[str, Any]:
        probe = copy.deepcopy(stage.config)
        probe["Cmd"] = cmd
        probe["Image"] = stage.image_id
        return probe

    # -- the cache --------------------------------------------------------------------------

    async def probe_cache(self, stage: _Stage, probe: dict[str, Any]) -> bool:
        if self.opts.nocache or not stage.image_id:
            return False
        found = await asyncio.to_thread(self._find_cached, stage.image_id, probe)
        if found is None:
            return False
        image = await asyncio.to_thread(self.d.images.get, found)
        stage.image_id, stage.image_config = image.id, copy.deepcopy(image.config)
        await self.out(" ---> Using cache\n")
        return True

    def _find_cached(self, parent: str, probe: dict[str, Any]) -> str | None:
        store = self.d.images
        want = _cache_key(probe)
        found: tuple[str, str] | None = None
        for child in store.children(parent):
            try:
                config = json.loads(store.config_bytes(child))
            except (SangjaError, OSError, ValueError):
                continue
            if _cache_key(config.get("container_config") or {}) != want:
                continue
            created = str(config.get("created") or "")
            if found is None or created > found[1]:
                found = (child, created)
        return found[0] if found else None

    # -- images -----------------------------------------------------------------------------

    def _image_config(self, stage: _Stage, diff_id: str, probe: dict[str, Any], container_id: str = "") -> bytes:
        config = copy.deepcopy(stage.config)
        config["Image"] = stage.image_id
        raw = child_image_config(
            stage.image_config, diff_id, config, container_id=container_id,
            container_config=probe, author=str(stage.image_config.get("author") or ""),
            created_by=" ".join(probe.get("Cmd") or []),
        )
        return raw

    async def commit_empty(self, stage: _Stage, probe: dict[str, Any]) -> None:
        raw = self._image_config(stage, EMPTY_LAYER_DIFF_ID, probe)
        image_id = await asyncio.to_thread(self.d.images.create, raw, stage.image_id)
        await self._adopt(stage, image_id)

    async def commit_dir(self, stage: _Stage, upper: str, probe: dict[str, Any], container_id: str = "") -> None:
        def blocking() -> str:
            store = self.d.images
            with store.blobs.temp_path(".tar") as tmp:
                with open(tmp, "wb") as f:
                    write_layer_tar(upper, f)
                return register_layer_image(
                    store, stage.image_id, stage.image_config, tmp,
                    lambda diff_id: self._image_config(stage, diff_id, probe, container_id),
                )

        image_id = await asyncio.to_thread(blocking)
        await self._adopt(stage, image_id)

    async def _adopt(self, stage: _Stage, image_id: str) -> None:
        image = await asyncio.to_thread(self.d.images.get, image_id)
        stage.image_id, stage.image_config = image.id, copy.deepcopy(image.config)

    # -- RUN ----------------------------------------------------------------------------------

    async def run_step(self, stage: _Stage, instr: Instruction) -> None:
        self._no_flags(instr)
        if instr.json:
            argv = list(instr.words)
        elif instr.heredocs and instr.rest.strip() == f"<<{instr.heredocs[0].name}":
            argv = [*self.shell(stage), instr.heredocs[0].content]
        elif instr.heredocs:
            raise InvalidParameter("sangja's builder supports a heredoc only as the whole RUN command")
        else:
            argv = [*self.shell(stage), instr.rest]
        if not stage.image_id:
            raise BuildFailed("Please provide a source image with `from` prior to run")
        args = self.build_arg_env(stage)
        in_history = {k: v for k, v in args.items() if k not in PREDEFINED_ARGS}
        save_cmd = argv
        if in_history:
            save_cmd = [f"|{len(in_history)}", *[f"{k}={v}" for k, v in sorted(in_history.items())], *argv]
        probe = self._probe_config(stage, save_cmd)
        if await self.probe_cache(stage, probe):
            return
        body = copy.deepcopy(stage.config)
        body.update({
            "Image": stage.image_id,
            "Cmd": argv,
            "Entrypoint": [""],
            "Env": [*(stage.config.get("Env") or []), *[f"{k}={v}" for k, v in args.items()]],
            "Healthcheck": {"Test": ["NONE"]},
            "OnBuild": None,
            "AttachStdout": True,
            "AttachStderr": True,
        })
        body["HostConfig"] = {"NetworkMode": self.opts.networkmode or "default"}
        c, _ = await create_container(self.d, body, None)
        self.temp_containers.append(c.id)
        await self.out(f" ---> Running in {c.id[:12]}\n")
        exited = wait_future(self.d, c.id, "next-exit")
        await start_container(self.d, c.id)
        async for entry in read_logs(self.d, c.id, LogOptions(follow=True)):
            await self.out(entry.data.decode(errors="replace"))
        code = await exited
        if code != 0:
            raise BuildFailed(f"The command '{' '.join(argv)}' returned a non-zero code: {code}")
        await self.commit_dir(stage, str(self.d.containers.directory(c.id) / "upper"), probe, c.id)
        if self.opts.rm or self.opts.forcerm:
            await self.remove_temp()

    async def remove_temp(self, *, report: bool = True) -> None:
        while self.temp_containers:
            cid = self.temp_containers.pop()
            with contextlib.suppress(NotFound):
                await remove_container(self.d, cid, force=True, volumes=True)
            if report:
                await self.out(f"Removing intermediate container {cid[:12]}\n")

    # -- COPY, ADD, WORKDIR -------------------------------------------------------------------

    def _lowers(self, image_id: str) -> list[str]:
        return self.d.images.layer_dirs(self.d.images.get(image_id))

    @contextlib.asynccontextmanager
    async def _layer_dir(self, stage: _Stage) -> AsyncIterator[tuple[str, str]]:
        """(root to write into, upper dir that becomes the layer) above the stage's image."""
        work = self.scratch / f"step-{secrets.token_hex(6)}"
        work.mkdir(parents=True)
        try:
            if not stage.image_id:
                root = work / "upper"
                root.mkdir()
                yield str(root), str(root)
                return
            lowers = await asyncio.to_thread(self._lowers, stage.image_id)
            merged = await asyncio.to_thread(self.d.rootfs.mount, lowers, work)
            try:
                yield merged, str(work / "upper")
            finally:
                await asyncio.to_thread(self.d.rootfs.unmount, work)
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)

    @contextlib.asynccontextmanager
    async def _source_root(self, stage: _Stage, src: str) -> AsyncIterator[Path]:
        """The root COPY --from=<src> reads: an earlier stage (name or index) or a local image."""
        earlier = next((s for s in self.stages if s.name and s.name == src.lower()), None)
        if earlier is None and src.isdigit():
            if int(src) >= len(self.stages):
                raise InvalidParameter(f"invalid from flag value {src}: refers to current build stage")
            earlier = self.stages[int(src)]
        if earlier is not None:
            image_id = earlier.image_id
        else:
            try:
                image_id = (await asyncio.to_thread(self.d.images.get, src)).id
            except NotFound:
                raise InvalidParameter(
                    f"invalid from flag value {src}: No such image: {src} (sangja builds only from local images)"
                ) from None
        work = self.scratch / f"from-{secrets.token_hex(6)}"
        work.mkdir(parents=True)
        try:
            if not image_id:
                yield work
                return
            lowers = await asyncio.to_thread(self._lowers, image_id)
            merged = await asyncio.to_thread(self.d.rootfs.mount, lowers, work)
            try:
                yield Path(merged)
            finally:
                await asyncio.to_thread(self.d.rootfs.unmount, work)
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)

    async def copy_step(self, stage: _Stage, instr: Instruction) -> None:
        cmd = instr.name
        allowed = ("chown", "chmod", "from") if instr.cmd == "copy" else ("chown", "chmod")
        flags = self._no_flags(instr, allowed)
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
        words = [self.expand(stage, w) for w in words]
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
        chown = self.expand(stage, flags.get("chown", ""))
        workdir = str(stage.config.get("WorkingDir") or "/")
        async with contextlib.AsyncExitStack() as stack:
            if "from" in flags:
                src_root = await stack.enter_async_context(self._source_root(stage, self.expand(stage, flags["from"])))
            else:
                src_root = self.ctx
            sources = await asyncio.to_thread(find_sources, src_root, srcs, cmd) if srcs else []
            if instr.heredocs:
                digest = "heredoc:" + ",".join(h.content for h in instr.heredocs)
            else:
                digest = await asyncio.to_thread(source_checksum, sources)
            flag_text = "".join(f"--{f} " for f in instr.flags if not f.startswith("from="))
            probe = self._probe_config(stage, self.nop_cmd(stage, f"{cmd} {flag_text}{digest} in {dest} "))
            if await self.probe_cache(stage, probe):
                return
            root, upper = await stack.enter_async_context(self._layer_dir(stage))

            def blocking() -> None:
                owner = _owner(root, chown)
                if instr.heredocs:
                    for h in instr.heredocs:
                        content = h.content
                        if h.expand:
                            content = process_word(content, self.env(stage), self.escape)
                        write_file(root, dest, workdir, h.name, content.encode(), owner, mode)
                else:
                    copy_sources(sources, root, dest, workdir, owner, mode, extract_archives=instr.cmd == "add")

            await asyncio.to_thread(blocking)
            await self.commit_dir(stage, upper, probe)

    async def workdir_step(self, stage: _Stage, instr: Instruction) -> None:
        self._no_flags(instr)
        if not instr.rest:
            raise InvalidParameter("WORKDIR requires exactly one argument")
        path = _normalize_workdir(str(stage.config.get("WorkingDir") or ""), self.expand(stage, instr.rest))
        stage.config["WorkingDir"] = path
        probe = self._probe_config(stage, self.nop_cmd(stage, f"WORKDIR {path}"))
        if await self.probe_cache(stage, probe):
            return
        async with self._layer_dir(stage) as (root, upper):
            def blocking() -> bool:
                from sangja.runtime.user import resolve_in_root

                host = resolve_in_root(root, path)
                if os.path.isdir(host):
                    return False
                os.makedirs(host, 0o755, exist_ok=True)
                return True

            created = await asyncio.to_thread(blocking)
            if created:
                await self.commit_dir(stage, upper, probe)
                return
        await self.commit_empty(stage, probe)


def _owner(root: str, chown: str) -> Owner:
    if not chown:
        return Owner()
    user, _, group = chown.partition(":")
    u = lookup_user(root, f"{user}:{group}" if group else user)
    return Owner(u.uid, u.gid)


def _cache_key(cfg: dict[str, Any]) -> str:
    """The fields of a container_config that decide a cache hit (moby's compare())."""
    keys = ("Cmd", "Entrypoint", "Env", "Labels", "ExposedPorts", "Volumes", "User", "WorkingDir",
            "Shell", "StopSignal", "Healthcheck", "OnBuild", "Image")
    return json.dumps({k: cfg.get(k) or None for k in keys}, sort_keys=True)


def _short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


async def build_image(d: Daemon, ctx: Path, opts: BuildOptions, send: Send) -> str:
    """Run the build; returns the image ID. Errors raise (InvalidParameter for the Dockerfile,
    BuildFailed for a failed step); the tags are applied only after success."""
    refs = parse_tags(opts.tags)
    scratch = d.config.data_root / "build" / secrets.token_hex(8)
    b = _Builder(d, ctx, scratch, opts, send)
    try:
        image_id = await b.run()
        if opts.rm or opts.forcerm:
            await b.remove_temp()
    except BaseException as exc:
        # A client that went away cancels the build: nobody will see its containers, so they
        # go too (a failed step's container stays for inspection unless forcerm, as in docker).
        cancelled = isinstance(exc, asyncio.CancelledError)
        if opts.forcerm or cancelled:
            with contextlib.suppress(Exception):
                await asyncio.shield(b.remove_temp(report=not cancelled))
        raise
    finally:
        await asyncio.to_thread(shutil.rmtree, scratch, True)
    await b.out(f"Successfully built {_short(image_id)}\n")
    for ref in refs:
        await asyncio.to_thread(d.images.add_reference, ref, image_id, force=True, touch=now().rfc3339_nano())
        d.events.publish("image", "tag", image_id, {"name": ref.familiar()})
        await b.out(f"Successfully tagged {ref.familiar()}\n")
    if opts.quiet:
        await send({"stream": f"{image_id}\n"})
    return image_id

