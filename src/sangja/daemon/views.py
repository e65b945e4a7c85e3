"""Docker's JSON shapes for containers: ContainerSummary (ps) and ContainerInspectResponse."""

from __future__ import annotations

import time
from typing import Any

from sangja.daemon.container import Container
from sangja.daemon.timefmt import human_duration


def status_text(c: Container, now_ns: int | None = None) -> str:
    """The human `Status` column of `docker ps` (computed by the daemon, printed as is)."""
    now = now_ns or time.time_ns()
    s = c.state
    if s.status == "paused":
        return f"Up {human_duration((now - s.started_ns) / 1e9)} (Paused)"
    if s.status == "running":
        return f"Up {human_duration((now - s.started_ns) / 1e9)}"
    if s.status == "restarting":
        return f"Restarting ({s.exit_code}) {human_duration((now - s.finished_ns) / 1e9)} ago"
    if s.status == "removing":
        return "Removal In Progress"
    if s.status == "dead":
        return "Dead"
    if s.status == "exited" or (s.finished_ns and c.has_been_started):
        return f"Exited ({s.exit_code}) {human_duration((now - s.finished_ns) / 1e9)} ago"
    return "Created"


def state_name(c: Container) -> str:
    return c.state.status


def command_text(c: Container) -> str:
    return " ".join([c.path, *c.args]).strip()


def _mounts(c: Container) -> list[dict[str, Any]]:
    out = []
    for bind in c.host_config.get("Binds") or []:
        src, dst, *rest = bind.split(":")
        flags = rest[0].split(",") if rest else []
        prop = next((f for f in flags if f.endswith(("private", "shared", "slave"))), "rprivate")
        out.append(
            {
                "Type": "bind",
                "Source": src,
                "Destination": dst,
                "Mode": rest[0] if rest else "",
                "RW": "ro" not in flags,
                "Propagation": prop,
            }
        )
    return out


def _networks(c: Container) -> dict[str, Any]:
    mode = c.host_config.get("NetworkMode", "bridge")
    if mode == "bridge":
        # Bridge networking is a later issue: the container has a private namespace with lo only.
        return {}
    return {
        mode: {
            "IPAMConfig": None,
            "Links": None,
            "Aliases": None,
            "MacAddress": "",
            "NetworkID": "",
            "EndpointID": "",
            "Gateway": "",
            "IPAddress": "",
            "IPPrefixLen": 0,
            "IPv6Gateway": "",
            "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0,
            "DriverOpts": None,
            "DNSNames": None,
        }
    }


def _without_nulls(obj: dict[str, Any]) -> dict[str, Any]:
    """Go clients read a missing key and a null alike; the swagger only allows the former."""
    return {k: v for k, v in obj.items() if v is not None}


def summary(c: Container, image_ids: dict[str, str], now_ns: int | None = None) -> dict[str, Any]:
    return {
        "Id": c.id,
        "Names": [c.name],
        "Image": c.image,
        "ImageID": c.image_id,
        "Command": command_text(c),
        "Created": c.created_ns // 1_000_000_000,
        "Ports": [],
        "Labels": dict(c.config.get("Labels") or {}),
        "State": state_name(c),
        "Status": status_text(c, now_ns),
        "HostConfig": {"NetworkMode": c.host_config.get("NetworkMode", "bridge")},
        "NetworkSettings": {"Networks": _networks(c)},
        "Mounts": _mounts(c),
    }


def inspect(c: Container, size: tuple[int, int] | None = None) -> dict[str, Any]:
    s = c.state
    out: dict[str, Any] = {
        "Id": c.id,
        "Created": c.created,
        "Path": c.path,
        "Args": list(c.args),
        "State": {
            "Status": state_name(c),
            "Running": s.running,
            "Paused": s.status == "paused",
            "Restarting": s.status == "restarting",
            "OOMKilled": s.oom_killed,
            "Dead": s.status == "dead",
            "Pid": s.pid,
            "ExitCode": s.exit_code,
            "Error": s.error,
            "StartedAt": s.started_at,
            "FinishedAt": s.finished_at,
        },
        "Image": c.image_id,
        "ResolvConfPath": c.resolv_conf_path,
        "HostnamePath": c.hostname_path,
        "HostsPath": c.hosts_path,
        "LogPath": c.log_path,
        "Name": c.name,
        "RestartCount": c.restart_count,
        "Driver": "overlay2",
        "Platform": c.platform,
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": None,
        "HostConfig": _without_nulls(c.host_config),
        "GraphDriver": {
            "Name": "overlay2",
            "Data": {
                "MergedDir": c.rootfs or "",
                "UpperDir": str(c.log_path.rsplit("/", 1)[0] + "/upper"),
                "WorkDir": str(c.log_path.rsplit("/", 1)[0] + "/work"),
            },
        },
        "Mounts": _mounts(c),
        "Config": _without_nulls(c.config),
        "NetworkSettings": {
            "Bridge": "",
            "SandboxID": "",
            "SandboxKey": "",
            "Ports": {},
            "HairpinMode": False,
            "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0,
            "SecondaryIPAddresses": None,
            "SecondaryIPv6Addresses": None,
            "EndpointID": "",
            "Gateway": "",
            "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0,
            "IPAddress": "",
            "IPPrefixLen": 0,
            "IPv6Gateway": "",
            "MacAddress": "",
            "Networks": _networks(c),
        },
    }
    if size is not None:
        out["SizeRw"], out["SizeRootFs"] = size
    return out
