"""Validate a create request's Config/HostConfig and merge it with the image's config.

Pure functions (no I/O), so Docker's rules are unit-tested directly.
"""

from __future__ import annotations

import posixpath
from typing import Any

from sangja.errors import InvalidParameter
from sangja.volume.store import validate_name

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
RESTART_POLICIES = ("", "no", "always", "unless-stopped", "on-failure")
NETWORK_MODES = ("", "default", "bridge", "none", "host")

_LIST_FIELDS = ("Env", "OnBuild")
_STRSLICE_FIELDS = ("Cmd", "Entrypoint", "Shell")


def _check_type(where: str, key: str, value: Any, kind: type | tuple[type, ...]) -> None:
    if value is not None and not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise InvalidParameter(f"invalid JSON: {where}.{key} must be of type {names}")


def _strslice(where: str, key: str, value: Any) -> list[str] | None:
    """Docker's StrSlice: a string or a list of strings (null stays null)."""
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise InvalidParameter(f"invalid JSON: {where}.{key} must be a string or a list of strings")


def normalize_config(body: dict[str, Any]) -> dict[str, Any]:
    """The Config part of a create body (its top-level fields), type-checked."""
    cfg = {k: v for k, v in body.items() if k not in ("HostConfig", "NetworkingConfig")}
    for key in _STRSLICE_FIELDS:
        if key in cfg:
            cfg[key] = _strslice("Config", key, cfg[key])
    for key in _LIST_FIELDS:
        _check_type("Config", key, cfg.get(key), list)
        for item in cfg.get(key) or []:
            if not isinstance(item, str):
                raise InvalidParameter(f"invalid JSON: Config.{key} must be a list of strings")
    for key in ("Image", "User", "WorkingDir", "Hostname", "Domainname", "StopSignal"):
        _check_type("Config", key, cfg.get(key), str)
    for key in ("Tty", "OpenStdin", "StdinOnce", "AttachStdin", "AttachStdout", "AttachStderr"):
        _check_type("Config", key, cfg.get(key), bool)
    for key in ("Labels", "ExposedPorts", "Volumes"):
        _check_type("Config", key, cfg.get(key), dict)
    _check_type("Config", "StopTimeout", cfg.get("StopTimeout"), int)
    for item in cfg.get("Env") or []:
        if item.startswith("=") or item == "":
            raise InvalidParameter(f"invalid environment variable: {item}")
    wd = cfg.get("WorkingDir")
    if wd and not posixpath.isabs(wd):
        raise InvalidParameter(f"the working directory '{wd}' is invalid, it needs to be an absolute path")
    for label_value in (cfg.get("Labels") or {}).values():
        if not isinstance(label_value, str):
            raise InvalidParameter("invalid JSON: Config.Labels values must be strings")
    return cfg


def normalize_host_config(raw: Any, cgroup_version: int = 1) -> dict[str, Any]:
    """HostConfig with Docker's defaults filled in, after checking the parts sangja acts on.

    cgroup_version decides the default cgroup namespace mode, as in dockerd:
    "host" on cgroup v1, "private" on v2."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidParameter("invalid JSON: HostConfig must be an object")
    hc = dict(raw)
    _check_type("HostConfig", "Binds", hc.get("Binds"), list)
    _check_type("HostConfig", "AutoRemove", hc.get("AutoRemove"), bool)
    _check_type("HostConfig", "Privileged", hc.get("Privileged"), bool)
    _check_type("HostConfig", "ReadonlyRootfs", hc.get("ReadonlyRootfs"), bool)
    _check_type("HostConfig", "NetworkMode", hc.get("NetworkMode"), str)
    for key in ("Memory", "MemorySwap", "CpuShares", "NanoCpus", "CpuQuota", "CpuPeriod", "ShmSize"):
        _check_type("HostConfig", key, hc.get(key), int)
    _check_type("HostConfig", "PidsLimit", hc.get("PidsLimit"), int)
    for key in ("CapAdd", "CapDrop", "Dns", "DnsSearch", "DnsOptions", "ExtraHosts"):
        value = _strslice("HostConfig", key, hc.get(key))
        if value is None:
            hc.pop(key, None)
        else:
            hc[key] = value

    cgns = hc.get("CgroupnsMode") or ("private" if cgroup_version == 2 else "host")
    if cgns not in ("private", "host"):
        raise InvalidParameter(f"invalid cgroup namespace mode: {cgns}")
    hc["CgroupnsMode"] = cgns
    ipc = hc.get("IpcMode") or "private"
    if ipc not in ("private", "shareable", "none", "host") and not ipc.startswith("container:"):
        raise InvalidParameter(f"invalid IPC mode: {ipc}")
    if ipc not in ("private", "shareable"):
        raise InvalidParameter(f"--ipc={ipc} is not supported yet")
    hc["IpcMode"] = ipc
    for key in ("PidMode", "UTSMode"):
        if hc.get(key):
            raise InvalidParameter(f"{key}={hc[key]} is not supported yet")
    if hc.get("MemorySwappiness") == -1:
        # The CLI's "unset"; dockerd stores it as null (and the swagger's minimum is 0).
        hc["MemorySwappiness"] = None

    rp = hc.get("RestartPolicy") or {}
    if not isinstance(rp, dict):
        raise InvalidParameter("invalid JSON: HostConfig.RestartPolicy must be an object")
    name = rp.get("Name") or "no"
    retries = rp.get("MaximumRetryCount") or 0
    if name not in RESTART_POLICIES:
        raise InvalidParameter(
            f"invalid restart policy: unknown policy '{name}'; use one of 'no', 'always', "
            "'on-failure', or 'unless-stopped'"
        )
    if not isinstance(retries, int):
        raise InvalidParameter("invalid JSON: HostConfig.RestartPolicy.MaximumRetryCount must be an integer")
    if retries < 0:
        raise InvalidParameter("invalid restart policy: maximum retry count cannot be negative")
    if retries and name != "on-failure":
        raise InvalidParameter(
            "invalid restart policy: maximum retry count can only be used with 'on-failure'"
        )
    hc["RestartPolicy"] = {"Name": name, "MaximumRetryCount": retries}
    if hc.get("AutoRemove") and name != "no":
        raise InvalidParameter("can't create 'AutoRemove' container with restart policy")

    mode = hc.get("NetworkMode") or "default"
    if not isinstance(mode, str):
        raise InvalidParameter(f"network {mode} not found")
    # Otherwise a user-defined network's name or ID (checked against the daemon's networks by
    # network_verbs.resolve_endpoints at create) or `container:<name|id>` (network_container).
    hc["NetworkMode"] = "bridge" if mode == "default" else mode

    hc["Binds"] = [validate_bind(b) for b in hc.get("Binds") or []]
    lc = hc.get("LogConfig") or {}
    if not isinstance(lc, dict):
        raise InvalidParameter("invalid JSON: HostConfig.LogConfig must be an object")
    log_type = lc.get("Type") or "json-file"
    if log_type not in ("json-file", "local", "k8s-file", "none"):
        raise InvalidParameter(
            f"failed to create logger: logger: no log driver named '{log_type}' is registered"
        )
    log_opts = dict(lc.get("Config") or {})
    for key in log_opts:
        if key not in ("max-size", "max-file", "compress", "labels", "env", "tag", "mode", "max-buffer-size"):
            raise InvalidParameter(f"unknown log opt '{key}' for {log_type} log driver")
    if "max-size" in log_opts:
        parse_size(log_opts["max-size"])
    if "max-file" in log_opts:
        try:
            if int(log_opts["max-file"]) < 1:
                raise ValueError
        except ValueError:
            raise InvalidParameter("max-file cannot be less than 1") from None
    hc["LogConfig"] = {"Type": log_type, "Config": log_opts}
    for key, default in (("ShmSize", 64 * 1024 * 1024), ("Memory", 0), ("CpuShares", 0), ("NanoCpus", 0)):
        if not hc.get(key):
            hc[key] = default
    hc.setdefault("PortBindings", {})
    hc.setdefault("Privileged", False)
    hc.setdefault("ReadonlyRootfs", False)
    hc.setdefault("AutoRemove", False)
    hc.setdefault("Init", None)
    return hc


def validate_bind(bind: Any) -> str:
    """`/host:/ctr[:ro|rw[,…]]` or `name:/ctr[:…]` (a named volume)."""
    if not isinstance(bind, str):
        raise InvalidParameter("invalid JSON: HostConfig.Binds must be a list of strings")
    parts = bind.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise InvalidParameter(f"invalid volume specification: '{bind}'")
    src, dst = parts[0], parts[1]
    if not posixpath.isabs(dst):
        raise InvalidParameter(
            f"invalid volume specification: '{bind}': invalid mount config for type "
            f"\"bind\": invalid mount path: '{dst}' mount path must be absolute"
        )
    if not posixpath.isabs(src):
        validate_name(src)  # a named volume
    if len(parts) == 3:
        for opt in parts[2].split(","):
            if opt not in (
                "ro",
                "rw",
                "z",
                "Z",
                "private",
                "rprivate",
                "shared",
                "rshared",
                "slave",
                "rslave",
                "nocopy",
            ):
                raise InvalidParameter(f"invalid mode: {parts[2]}")
    return bind


_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}


def parse_size(value: str) -> int:
    """Docker's RAMInBytes: '10m' → 10485760."""
    v = value.strip().lower()
    num = v.rstrip("bkmg")
    unit = v[len(num) :]
    try:
        n = float(num)
    except ValueError:
        raise InvalidParameter(f"invalid size: '{value}'") from None
    if unit not in _SIZE_UNITS or n < 0:
        raise InvalidParameter(f"invalid size: '{value}'")
    return int(n * _SIZE_UNITS[unit])


def merge_env(image_env: list[str], env: list[str]) -> list[str]:
    """Image Env overridden key by key by the container's Env, in order."""
    out: dict[str, str] = {}
    for item in [*image_env, *env]:
        key = item.split("=", 1)[0]
        out[key] = item
    return list(out.values())


def merge_with_image(cfg: dict[str, Any], image_cfg: dict[str, Any]) -> dict[str, Any]:
    """Docker's merge of the image's config into the container's (daemon/create.go merge)."""
    merged = dict(cfg)
    merged["Env"] = merge_env(list(image_cfg.get("Env") or []), list(cfg.get("Env") or []))
    if not any(e.startswith("PATH=") for e in merged["Env"]):
        merged["Env"].insert(0, f"PATH={DEFAULT_PATH}")
    entrypoint = cfg.get("Entrypoint")
    cmd = cfg.get("Cmd")
    if entrypoint is None:
        entrypoint = image_cfg.get("Entrypoint")
        if not cmd:
            cmd = image_cfg.get("Cmd")
    elif entrypoint == [""] or entrypoint == []:
        # `--entrypoint ""` clears the image's entrypoint.
        entrypoint = None
        if not cmd:
            cmd = None
    merged["Entrypoint"] = entrypoint or None
    merged["Cmd"] = cmd or None
    for key in ("WorkingDir", "User", "StopSignal"):
        if not merged.get(key) and image_cfg.get(key):
            merged[key] = image_cfg[key]
    labels = dict(image_cfg.get("Labels") or {})
    labels.update(cfg.get("Labels") or {})
    merged["Labels"] = labels
    ports = dict(image_cfg.get("ExposedPorts") or {})
    ports.update(cfg.get("ExposedPorts") or {})
    if ports:
        merged["ExposedPorts"] = ports
    volumes = dict(image_cfg.get("Volumes") or {})
    volumes.update(cfg.get("Volumes") or {})
    if volumes:
        merged["Volumes"] = volumes
    from sangja.daemon.health import merge_healthcheck

    if merge_healthcheck(merged.get("Healthcheck"), image_cfg.get("Healthcheck")) is not None:
        merged["Healthcheck"] = merge_healthcheck(merged.get("Healthcheck"), image_cfg.get("Healthcheck"))
    if not merged["Entrypoint"] and not merged["Cmd"]:
        raise InvalidParameter("no command specified")
    return merged
