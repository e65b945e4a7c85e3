"""What one classic build carries from step to step: its options, its stages, the variables in
effect, its output, the build cache and the images each step commits.

    session = BuildSession(d, ctx, scratch, opts, send)
    await session.out("Step 1/4 : FROM busybox\\n")
    if not await session.probe_cache(stage, probe):
        await session.commit_empty(stage, probe)

The steps themselves live beside it: daemon/build_steps.py (RUN and the metadata steps, each a
container), daemon/build_files.py (COPY, ADD, WORKDIR), daemon/build_metadata.py (the config
changes) and daemon/build_base.py (the FROM image, pulled when asked).

The build cache is moby's ImageCache for the classic builder: before a step runs, the children
of the parent image are searched for one made by the same instruction — the same
container_config, whose Cmd records the instruction (for COPY/ADD with a checksum of the source
files) — and it is reused (" ---> Using cache"). `nocache` turns it off. A hit does no
container work at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sangja.builder.parser import Instruction
from sangja.daemon.commit import child_image_config, register_layer_image
from sangja.daemon.daemon import Daemon
from sangja.daemon.remove import remove_container
from sangja.errors import InvalidParameter, NotFound, SangjaError
from sangja.image.changes import DEFAULT_SHELL, empty_container_config
from sangja.image.rwlayer import EMPTY_LAYER_DIFF_ID, write_layer_tar
from sangja.image.shellwords import env_map, process_word

Send = Callable[[dict[str, Any]], Awaitable[None]]

# Build args usable without an ARG instruction, and kept out of the image's history (moby's
# builtinAllowedBuildArgs).
PREDEFINED_ARGS = frozenset([
    "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
    "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
])


class BuildFailed(SangjaError):
    """A step failed: the message goes into the JSON stream as an error (the HTTP status is
    already 200 by then). `code` is the failed RUN's exit status, sent as errorDetail.code
    (the docker CLI exits with it)."""

    status = 500

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


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
    # X-Registry-Config: registry (as the client names it) → AuthConfig, for the pulls
    auth_configs: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Stage:
    name: str
    index: int
    image_id: str = ""                     # "" while on `scratch` with nothing built yet
    image_config: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=empty_container_config)
    args: dict[str, str | None] = field(default_factory=dict)   # ARGs declared in this stage
    cmd_set: bool = False                  # a CMD was given in this stage (ENTRYPOINT keeps it)


def short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


def cache_key(cfg: dict[str, Any]) -> str:
    """The fields of a container_config that decide a cache hit (moby's compare())."""
    keys = ("Cmd", "Entrypoint", "Env", "Labels", "ExposedPorts", "Volumes", "User", "WorkingDir",
            "Shell", "StopSignal", "Healthcheck", "OnBuild", "Image")
    return json.dumps({k: cfg.get(k) or None for k in keys}, sort_keys=True)


class BuildSession:
    def __init__(self, d: Daemon, ctx: Path, scratch: Path, opts: BuildOptions, send: Send) -> None:
        self.d = d
        self.ctx = ctx
        self.scratch = scratch
        self.opts = opts
        self._send = send
        self.escape = "\\"
        self.stages: list[Stage] = []
        self.meta_args: dict[str, str | None] = {}
        self.used_args: set[str] = set()
        self.step = 0
        self.total = 0
        self.temp_containers: list[str] = []
        # With `q`, dockerd keeps the output and sends it only when the build fails.
        self.held: list[dict[str, Any]] = []

    # -- output ---------------------------------------------------------------------------

    async def out(self, text: str) -> None:
        await self.emit({"stream": text})

    async def emit(self, message: dict[str, Any]) -> None:
        if self.opts.quiet:
            self.held.append(message)
        else:
            await self._send(message)

    async def release_held(self) -> None:
        """A quiet build failed: what it held back is shown after all (moby's errf)."""
        held, self.held = self.held, []
        for message in held:
            await self._send(message)

    async def send(self, message: dict[str, Any]) -> None:
        """A message sent even in quiet mode (aux, the final image ID)."""
        await self._send(message)

    # -- variables --------------------------------------------------------------------------

    def arg_value(self, stage: Stage, name: str) -> str | None:
        if name in self.opts.buildargs and self.opts.buildargs[name] is not None:
            return self.opts.buildargs[name]
        return stage.args.get(name)

    def build_arg_env(self, stage: Stage) -> dict[str, str]:
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

    def env(self, stage: Stage) -> dict[str, str]:
        merged = self.build_arg_env(stage)
        merged.update(env_map(stage.config.get("Env")))
        return merged

    def expand(self, stage: Stage, word: str) -> str:
        return process_word(word, self.env(stage), self.escape)

    def meta_env(self) -> dict[str, str]:
        """The ARGs declared before the first FROM, as the build args override them."""
        out: dict[str, str] = {}
        for name, value in self.meta_args.items():
            given = self.opts.buildargs.get(name)
            if given is not None:
                out[name] = given
            elif value is not None:
                out[name] = value
        return out

    def shell(self, stage: Stage) -> list[str]:
        return list(stage.config.get("Shell") or DEFAULT_SHELL)

    def nop_cmd(self, stage: Stage, text: str) -> list[str]:
        return [*self.shell(stage), "#(nop) ", text]

    def probe_config(self, stage: Stage, cmd: list[str]) -> dict[str, Any]:
        """The step's container config, its Cmd recording the instruction (the cache key)."""
        probe = copy.deepcopy(stage.config)
        probe["Cmd"] = cmd
        probe["Image"] = stage.image_id
        return probe

    @staticmethod
    def flags(instr: Instruction, allowed: tuple[str, ...] = ()) -> dict[str, str]:
        out: dict[str, str] = {}
        for flag in instr.flags:
            name, _, value = flag.partition("=")
            if name not in allowed:
                raise InvalidParameter(f"Unknown flag: {name}")
            out[name] = value
        return out

    # -- the cache --------------------------------------------------------------------------

    async def probe_cache(self, stage: Stage, probe: dict[str, Any]) -> bool:
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
        want = cache_key(probe)
        found: tuple[str, str] | None = None
        for child in store.children(parent):
            try:
                config = json.loads(store.config_bytes(child))
            except (SangjaError, OSError, ValueError):
                continue
            if cache_key(config.get("container_config") or {}) != want:
                continue
            created = str(config.get("created") or "")
            if found is None or created > found[1]:
                found = (child, created)
        return found[0] if found else None

    # -- images -----------------------------------------------------------------------------

    def _image_config(self, stage: Stage, diff_id: str, probe: dict[str, Any], container_id: str = "") -> bytes:
        config = copy.deepcopy(stage.config)
        config["Image"] = stage.image_id
        return child_image_config(
            stage.image_config, diff_id, config, container_id=container_id,
            container_config=probe, author=str(stage.image_config.get("author") or ""),
            created_by=" ".join(probe.get("Cmd") or []),
        )

    async def commit_empty(self, stage: Stage, probe: dict[str, Any], container_id: str = "") -> None:
        raw = self._image_config(stage, EMPTY_LAYER_DIFF_ID, probe, container_id)
        image_id = await asyncio.to_thread(self.d.images.create, raw, stage.image_id)
        await self._adopt(stage, image_id)

    async def commit_dir(self, stage: Stage, upper: str, probe: dict[str, Any], container_id: str = "") -> None:
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

    async def _adopt(self, stage: Stage, image_id: str) -> None:
        image = await asyncio.to_thread(self.d.images.get, image_id)
        stage.image_id, stage.image_config = image.id, copy.deepcopy(image.config)

    # -- intermediate containers ----------------------------------------------------------

    async def remove_temp(self, *, report: bool = True) -> None:
        while self.temp_containers:
            cid = self.temp_containers.pop()
            with contextlib.suppress(NotFound):
                await remove_container(self.d, cid, force=True, volumes=True)
            if report:
                await self.out(f"Removing intermediate container {cid[:12]}\n")
