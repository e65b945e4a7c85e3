"""Dockerfile instructions applied to an image's container config (`docker import -c`,
`docker commit -c`), as moby's dockerfile.BuildFromConfig does it. Pure: no I/O.

    apply_changes(empty_container_config(), ['CMD ["sh"]', "ENV A=1 B=$A"])

Accepted: CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME,
WORKDIR (anything else: "<INSTR> is not a valid change command"). The changes are joined with
newlines and parsed as a Dockerfile: comments, line continuations, JSON (exec) and shell forms.
ENV, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL and EXPOSE expand $variables from the Env built
so far. Every error is an InvalidParameter with BuildKit's/moby's message.
"""

from __future__ import annotations

import copy
import posixpath
import re
import signal
from typing import Any

from sangja.builder.parser import extract_flags, name_values, parse_json_array
from sangja.errors import InvalidParameter
from sangja.image.shellwords import env_map, process_word, process_words
from sangja.image.timeutil import parse_go_duration

VALID_COMMANDS = frozenset(
    ["cmd", "entrypoint", "healthcheck", "env", "expose", "label", "onbuild", "stopsignal", "user", "volume", "workdir"]
)
DEFAULT_SHELL = ["/bin/sh", "-c"]


def empty_container_config() -> dict[str, Any]:
    """A zero container.Config as Docker serialises it into an image config (field order kept)."""
    return {
        "Hostname": "",
        "Domainname": "",
        "User": "",
        "AttachStdin": False,
        "AttachStdout": False,
        "AttachStderr": False,
        "Tty": False,
        "OpenStdin": False,
        "StdinOnce": False,
        "Env": None,
        "Cmd": None,
        "Image": "",
        "Volumes": None,
        "WorkingDir": "",
        "Entrypoint": None,
        "OnBuild": None,
        "Labels": None,
    }


# -- the Dockerfile lines (BuildKit's parser package; the words, flags and JSON forms are
# builder/parser.py's, shared with the Dockerfile builder) ---------------------------------


def logical_lines(text: str, escape: str = "\\") -> list[str]:
    """Join continuation lines; drop comments and blank lines."""
    lines: list[str] = []
    current: list[str] | None = None
    continuation = re.compile(re.escape(escape) + r"[ \t]*$")
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or (current is None and not stripped):
            continue
        if current is not None and not stripped:
            continue  # an empty continuation line (a warning in BuildKit)
        body = raw.lstrip() if current is None else raw
        m = continuation.search(body)
        if m:
            current = [*(current or []), body[: m.start()]]
            continue
        lines.append("".join([*(current or []), body]))
        current = None
    if current is not None:
        lines.append("".join(current))
    return lines


# -- the instructions (moby's dispatchers) --------------------------------------------------


class _State:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.cmd_set = False

    @property
    def env(self) -> dict[str, str]:
        return env_map(self.config.get("Env"))

    def expand(self, word: str) -> str:
        return process_word(word, self.env)

    def shell_form(self, text: str) -> list[str]:
        return [*(self.config.get("Shell") or DEFAULT_SHELL), text]


def apply_changes(config: dict[str, Any], changes: list[str]) -> dict[str, Any]:
    """Return a copy of `config` (a container.Config dict) with the instructions applied."""
    state = _State(copy.deepcopy(config))
    if not changes:
        return state.config
    for line in logical_lines("\n".join(changes)):
        parts = re.split(r"\s+", line.strip(), maxsplit=1)
        instruction = parts[0]
        rest = parts[1] if len(parts) > 1 else ""
        if instruction.lower() not in VALID_COMMANDS:
            raise InvalidParameter(f"{instruction} is not a valid change command")
        _dispatch(state, instruction.lower(), rest, line)
    return state.config


def _no_flags(flags: list[str]) -> None:
    if flags:
        raise InvalidParameter(f"unknown flag: {flags[0].split('=', 1)[0]}")


def _dispatch(state: _State, cmd: str, rest: str, line: str) -> None:
    cfg = state.config
    flags, rest = extract_flags(rest)
    rest = rest.strip()
    if cmd != "healthcheck":
        _no_flags(flags)
    if cmd in ("cmd", "entrypoint"):
        exec_form = parse_json_array(rest) if rest else None
        if exec_form is not None:
            argv: list[str] | None = exec_form
        elif rest:
            argv = state.shell_form(rest)
        else:
            # No arguments: CMD gets the bare shell (moby's handling of an empty CmdLine),
            # ENTRYPOINT is reset.
            argv = list(cfg.get("Shell") or DEFAULT_SHELL) if cmd == "cmd" else None
        if cmd == "cmd":
            cfg["Cmd"] = argv
            if exec_form or (exec_form is None and rest):
                state.cmd_set = True
        else:
            cfg["Entrypoint"] = argv or None
            if not state.cmd_set:
                cfg["Cmd"] = None
    elif cmd in ("env", "label"):
        pairs = [(state.expand(k), state.expand(v)) for k, v in name_values(rest, cmd.upper())]
        if cmd == "env":
            env = list(cfg.get("Env") or [])
            for key, value in pairs:
                entry = f"{key}={value}"
                for i, existing in enumerate(env):
                    if existing.partition("=")[0] == key:
                        env[i] = entry
                        break
                else:
                    env.append(entry)
            cfg["Env"] = env
        else:
            labels = dict(cfg.get("Labels") or {})
            labels.update(pairs)
            cfg["Labels"] = labels
    elif cmd == "expose":
        words = re.split(r"\s+", rest) if rest else []
        if not words:
            raise InvalidParameter("EXPOSE requires at least one argument")
        ports = dict(cfg.get("ExposedPorts") or {})
        for word in sorted(words):
            for spec in process_words(word, state.env):
                for port in _port_spec(spec):
                    ports[port] = {}
        cfg["ExposedPorts"] = ports
    elif cmd in ("user", "workdir", "stopsignal"):
        if not rest:
            raise InvalidParameter(f"{cmd.upper()} requires exactly one argument")
        value = state.expand(rest)
        if cmd == "user":
            cfg["User"] = value
        elif cmd == "workdir":
            cfg["WorkingDir"] = _normalize_workdir(str(cfg.get("WorkingDir") or ""), value)
        else:
            _check_signal(value)
            cfg["StopSignal"] = value
    elif cmd == "volume":
        items = parse_json_array(rest)
        if items is None:
            items = re.split(r"\s+", rest) if rest else []
        if not items:
            raise InvalidParameter("VOLUME requires at least one argument")
        volumes = dict(cfg.get("Volumes") or {})
        for item in items:
            item = item.strip()
            if not item:
                raise InvalidParameter("VOLUME specified can not be an empty string")
            volumes[state.expand(item)] = {}
        cfg["Volumes"] = volumes
    elif cmd == "onbuild":
        _onbuild(cfg, rest, line)
    elif cmd == "healthcheck":
        cfg["Healthcheck"] = _healthcheck(flags, rest)


def _onbuild(cfg: dict[str, Any], rest: str, line: str) -> None:
    if not rest:
        raise InvalidParameter("ONBUILD requires at least one argument")
    trigger = re.split(r"\s+", rest, maxsplit=1)[0].upper()
    if trigger == "ONBUILD":
        raise InvalidParameter("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger in ("MAINTAINER", "FROM"):
        raise InvalidParameter(f"{trigger} isn't allowed as an ONBUILD trigger")
    expression = re.sub(r"(?i)^\s*ONBUILD\s*", "", line, count=1)
    cfg["OnBuild"] = [*(cfg.get("OnBuild") or []), expression]


def _duration_flag(name: str, value: str) -> int:
    if value == "":
        return 0
    ns = parse_go_duration(value)
    if ns is None:
        raise InvalidParameter(f'time: invalid duration "{value}"')
    if 0 < ns < 1_000_000:
        raise InvalidParameter(f'Interval "{name}" cannot be less than 1ms')
    return max(ns, 0)


def _healthcheck(flags: list[str], rest: str) -> dict[str, Any]:
    parts = re.split(r"\s+", rest, maxsplit=1) if rest else []
    if not parts:
        raise InvalidParameter("HEALTHCHECK requires at least one argument")
    kind = parts[0].upper()
    args = parts[1].strip() if len(parts) > 1 else ""
    if kind == "NONE":
        if args:
            raise InvalidParameter("HEALTHCHECK NONE takes no arguments")
        return {"Test": ["NONE"]}
    values: dict[str, str] = {}
    for flag in flags:
        name, eq, value = flag.partition("=")
        if name not in ("interval", "timeout", "start-period", "start-interval", "retries"):
            raise InvalidParameter(f"unknown flag: {name}")
        if not eq:
            raise InvalidParameter(f"missing a value on flag: --{name}")
        values[name] = value
    if kind != "CMD":
        raise InvalidParameter(f'Unknown type "{kind}" in HEALTHCHECK (try CMD)')
    exec_form = parse_json_array(args) if args else None
    if exec_form is not None:
        test = ["CMD", *exec_form]
        if not exec_form:
            raise InvalidParameter("Missing command after HEALTHCHECK CMD")
    elif args:
        test = ["CMD-SHELL", args]
    else:
        raise InvalidParameter("Missing command after HEALTHCHECK CMD")
    health: dict[str, Any] = {"Test": test}
    for flag, key in (
        ("interval", "Interval"),
        ("timeout", "Timeout"),
        ("start-period", "StartPeriod"),
        ("start-interval", "StartInterval"),
    ):
        ns = _duration_flag(flag, values.get(flag, ""))
        if ns:
            health[key] = ns
    if values.get("retries"):
        try:
            retries = int(values["retries"])
        except ValueError:
            raise InvalidParameter(f'strconv.ParseInt: parsing "{values["retries"]}": invalid syntax') from None
        if retries < 0:
            raise InvalidParameter(f"--retries cannot be negative ({retries})")
        if retries:
            health["Retries"] = retries
    return health


def _clean(path: str) -> str:
    """Go's filepath.Clean for an absolute path (POSIX normpath keeps a leading "//")."""
    return "/" + posixpath.normpath(path).lstrip("/")


def _normalize_workdir(current: str, requested: str) -> str:
    if requested == "":
        raise InvalidParameter("cannot normalize nothing")
    if not requested.startswith("/"):
        return _clean(posixpath.join("/", current, requested))
    return _clean(requested)


def _check_signal(raw: str) -> None:
    """moby's signal.ParseSignal: a non-zero number or a known name (with or without SIG)."""
    if raw.isdigit() or (raw.startswith("-") and raw[1:].isdigit()):
        if int(raw) == 0:
            raise InvalidParameter(f"invalid signal: {raw}")
        return
    name = raw.upper().removeprefix("SIG")
    names = {s.name.removeprefix("SIG") for s in signal.Signals if not s.name.startswith("SIG_")}
    names |= {"RTMIN", "RTMAX"}
    rt = re.fullmatch(r"RTMIN\+(\d+)|RTMAX-(\d+)", name)
    if name in names or (rt and 1 <= int(rt.group(1) or rt.group(2)) <= 15):
        return
    raise InvalidParameter(f"invalid signal: {raw}")


def _port_spec(raw: str) -> list[str]:
    """The container ports of an EXPOSE word ("80", "80/udp", "8000-8002", "ip:host:ctr")."""
    parts = raw.split(":")
    container = parts[-1]
    port, _, proto = container.partition("/")
    proto = (proto or "tcp").lower()
    if port == "":
        raise InvalidParameter(f"no port specified: {raw}<empty>")
    if proto not in ("tcp", "udp", "sctp"):
        raise InvalidParameter(f"invalid proto: {proto}")
    m = re.fullmatch(r"(\d+)(?:-(\d+))?", port)
    if m is None:
        raise InvalidParameter(f"invalid containerPort: {port}")
    start = int(m.group(1))
    end = int(m.group(2)) if m.group(2) else start
    if not (0 <= start <= 65535 and 0 <= end <= 65535) or end < start:
        raise InvalidParameter(f"invalid containerPort: {port}")
    return [f"{p}/{proto}" for p in range(start, end + 1)]
