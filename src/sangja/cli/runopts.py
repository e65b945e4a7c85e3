"""Parsers for single `run`/`create` option values, with docker/cli's error texts.

Each raises ValueError with the message docker prints ("invalid spec: :/x: empty section
between colons", "invalid env file (f): variable 'X Y' contains whitespaces", ...).
"""

from __future__ import annotations

import os

from sangja.cli.units import ram_in_bytes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def validate_env(value: str, lookup: Callable[[str], str | None]) -> str:
    """opts.ValidateEnv: "KEY" takes the value from the client's environment when it is set."""
    if "=" in value:
        return value
    found = lookup(value)
    return f"{value}={found}" if found is not None else value


def read_kv_file(path: str, lookup: Callable[[str], str | None] | None) -> list[str]:
    """parseKeyValueFile: skip blanks and #comments; "KEY" alone is looked up (env files only)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise ValueError(f"open {path}: {(exc.strerror or str(exc)).lower()}") from None
    lines: list[str] = []
    for lineno, data in enumerate(raw.split(b"\n"), 1):
        try:
            text = data.decode()
        except UnicodeDecodeError:
            raise ValueError(f"env file {path} contains invalid utf8 bytes at line {lineno}: {data!r}") from None
        line = text.lstrip(" \t\r").rstrip("\r")
        if not line or line.startswith("#"):
            continue
        key, eq, _ = line.partition("=")
        if not key:
            raise ValueError(f"invalid env file ({path}): no variable name on line '{line}'")
        if any(c.isspace() for c in key):
            raise ValueError(f"invalid env file ({path}): variable '{key}' contains whitespaces")
        if eq:
            lines.append(line)
        elif lookup is not None:
            value = lookup(line)
            if value is not None:
                lines.append(f"{line}={value}")
        else:
            lines.append(line)
    return lines


def parse_restart_policy(policy: str) -> dict[str, Any]:
    if not policy:
        return {}
    name, colon, count = policy.partition(":")
    if colon and not name:
        raise ValueError("invalid restart policy format: no policy provided before colon")
    retries = 0
    if count:
        try:
            retries = int(count)
        except ValueError:
            raise ValueError("invalid restart policy format: maximum retry count must be an integer") from None
    return {"Name": name, "MaximumRetryCount": retries}


def parse_volume(spec: str) -> tuple[str, str]:
    """Classify -v: ("bind", text) for anything with a source, ("volume", target) for an anonymous one."""
    parts = spec.split(":")
    if any(p == "" for p in parts):
        raise ValueError(f"invalid spec: {spec}: empty section between colons")
    if len(parts) > 3:
        raise ValueError(f"invalid spec: {spec}: too many colons")
    if len(parts) == 1:
        return "volume", parts[0]
    if len(parts) == 2 and not parts[1].startswith("/") and parts[0].startswith("/"):
        return "volume", parts[0]  # "/target:mode"
    source = parts[0]
    if source.startswith(".") and not os.path.isabs(source):
        source = os.path.abspath(source)
    return "bind", ":".join([source, *parts[1:]])


def parse_mount(spec: str) -> dict[str, Any]:
    """--mount type=bind,source=/a,target=/b,readonly (the keys docker's mount opt accepts most)."""
    mount: dict[str, Any] = {"Type": "volume"}
    bind_opts: dict[str, Any] = {}
    volume_opts: dict[str, Any] = {}
    tmpfs_opts: dict[str, Any] = {}
    for field in spec.split(","):
        key, eq, value = field.partition("=")
        key = key.strip().lower()
        if not eq:
            if key in ("readonly", "ro"):
                mount["ReadOnly"] = True
                continue
            if key == "volume-nocopy":
                volume_opts["NoCopy"] = True
                continue
            raise ValueError(f"invalid field '{field}' must be a key=value pair")
        if key == "type":
            mount["Type"] = value
        elif key in ("source", "src"):
            mount["Source"] = value
        elif key in ("target", "dst", "destination"):
            mount["Target"] = value
        elif key in ("readonly", "ro"):
            mount["ReadOnly"] = value.lower() in ("1", "true")
        elif key == "consistency":
            mount["Consistency"] = value
        elif key == "bind-propagation":
            bind_opts["Propagation"] = value
        elif key == "volume-driver":
            volume_opts.setdefault("DriverConfig", {})["Name"] = value
        elif key == "volume-label":
            k, _, v = value.partition("=")
            volume_opts.setdefault("Labels", {})[k] = v
        elif key == "tmpfs-size":
            tmpfs_opts["SizeBytes"] = ram_in_bytes(value)
        elif key == "tmpfs-mode":
            tmpfs_opts["Mode"] = int(value, 8)
        else:
            raise ValueError(f"unexpected key '{key}' in '{field}'")
    if not mount.get("Target"):
        raise ValueError("target is required")
    if bind_opts:
        mount["BindOptions"] = bind_opts
    if volume_opts:
        mount["VolumeOptions"] = volume_opts
    if tmpfs_opts:
        mount["TmpfsOptions"] = tmpfs_opts
    return mount


def capabilities(caps: list[str]) -> list[str] | None:
    """opts.CapabilitiesMap normalization: upper-case, "CAP_" prefix, "ALL" kept."""
    if not caps:
        return None
    out = []
    for cap in caps:
        c = cap.upper()
        if c != "ALL" and not c.startswith("CAP_"):
            c = "CAP_" + c
        out.append(c)
    return out


def kv_map(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        k, _, v = item.partition("=")
        out[k] = v
    return out


def valid_mac(text: str) -> bool:
    parts = text.strip().replace("-", ":").split(":")
    return len(parts) in (6, 8, 20) and all(len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p)
                                           for p in parts)


def parse_device(spec: str) -> dict[str, str]:
    """--device /dev/x[:/dev/y][:rwm]."""
    parts = spec.split(":")
    src = parts[0]
    dst = src
    perms = "rwm"
    if len(parts) == 2:
        if all(c in "rwm" for c in parts[1]) and parts[1]:
            perms = parts[1]
        else:
            dst = parts[1]
    elif len(parts) == 3:
        dst, perms = parts[1], parts[2]
    elif len(parts) > 3:
        raise ValueError(f"invalid device specification: {spec}")
    return {"PathOnHost": src, "PathInContainer": dst, "CgroupPermissions": perms}
