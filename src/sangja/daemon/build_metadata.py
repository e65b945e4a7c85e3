"""The config changes of the classic builder's metadata instructions (moby's dispatchers for CMD,
ENTRYPOINT, ENV, LABEL, EXPOSE, USER, STOPSIGNAL, VOLUME, SHELL, HEALTHCHECK, ONBUILD,
MAINTAINER, and ARG's variables). Pure: they change the stage's config and nothing else; the
image each step makes is daemon/build_steps.py's work.
"""

from __future__ import annotations

import json

from sangja.builder.parser import Instruction
from sangja.daemon.build_session import BuildSession, Stage
from sangja.errors import InvalidParameter
from sangja.image.changes import _check_signal, _healthcheck, _port_spec
from sangja.image.shellwords import process_words


def declare_args(b: BuildSession, stage: Stage, instr: Instruction) -> None:
    """ARG inside a stage: its default (expanded), or the value of a meta ARG of that name."""
    for name, value in instr.pairs:
        if value is not None:
            value = b.expand(stage, value)
        elif name in b.meta_args:
            value = b.meta_env().get(name)
        stage.args[name] = value
        if name in b.opts.buildargs:
            b.used_args.add(name)


def apply_metadata(b: BuildSession, stage: Stage, instr: Instruction) -> None:
    cfg = stage.config
    cmd = instr.cmd
    if cmd != "healthcheck":
        b.flags(instr)
    if cmd in ("cmd", "entrypoint"):
        argv = instr.words if instr.json else [*b.shell(stage), instr.rest] if instr.rest else None
        if cmd == "cmd":
            cfg["Cmd"] = argv
            stage.cmd_set = True
        else:
            cfg["Entrypoint"] = argv
            if not stage.cmd_set:
                cfg["Cmd"] = None
    elif cmd in ("env", "label"):
        pairs = [(b.expand(stage, k), b.expand(stage, v or "")) for k, v in instr.pairs]
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
            for spec in process_words(word, b.env(stage), b.escape):
                for port in _port_spec(spec):
                    ports[port] = {}
        cfg["ExposedPorts"] = ports
    elif cmd in ("user", "stopsignal"):
        if not instr.rest:
            raise InvalidParameter(f"{instr.name} requires exactly one argument")
        value = b.expand(stage, instr.rest)
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
            item = b.expand(stage, item.strip())
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
