"""Docker's JSON shapes for containers: ContainerSummary (ps) and ContainerInspectResponse."""

from __future__ import annotations

import time
from typing import Any

from sangja.daemon import health
from sangja.daemon.container import Container
from sangja.daemon.network_container import is_container_mode
from sangja.daemon.network_views import endpoint_views
from sangja.daemon.timefmt import human_duration
from sangja.daemon.volume_mounts import binds_as_mount_points, mounts_view


def status_text(c: Container, now_ns: int | None = None) -> str:
    """The human `Status` column of `docker ps` (computed by the daemon, printed as is)."""
    now = now_ns or time.time_ns()
    s = c.state
    if s.status == "paused":
        return f"Up {human_duration((now - s.started_ns) / 1e9)} (Paused)"
    if s.status == "running":
        return f"Up {human_duration((now - s.started_ns) / 1e9)}" + health.status_suffix(c)
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
    """The list's Command like moby's daemon/list: arguments containing a space in single quotes."""
    args = [f"'{a}'" if " " in a else a for a in c.args]
    return " ".join([c.path, *args]).strip()


def _mounts(c: Container) -> list[dict[str, Any]]:
    return mounts_view(c.mount_points or binds_as_mount_points(c.host_config.get("Binds") or []))


def _networks(c: Container) -> dict[str, Any]:
    mode = c.host_config.get("NetworkMode", "bridge")
    views = endpoint_views(c)
    if views is not None:
        return views
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


def bridge_endpoint_view(net: dict[str, Any]) -> dict[str, Any]:
    """EndpointSettings of the default bridge (empty strings while the container is not running).

    Docker writes null for the unset IPAMConfig/Links/Aliases/DriverOpts/DNSNames; they are left
    out here, which Go clients read the same way and the swagger accepts."""
    return {
        "MacAddress": net.get("MacAddress", ""),
        "NetworkID": net.get("NetworkID", ""),
        "EndpointID": net.get("EndpointID", ""),
        "Gateway": net.get("Gateway", ""),
        "IPAddress": net.get("IPAddress", ""),
        "IPPrefixLen": net.get("IPPrefixLen", 0),
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
    }


def port_map(c: Container) -> dict[str, Any]:
    """NetworkSettings.Ports: every exposed or published port; its host bindings, or null."""
    mode = str(c.host_config.get("NetworkMode", "bridge"))
    if not c.state.running or mode == "host" or is_container_mode(mode):
        return {}
    out: dict[str, Any] = {}
    for key in c.config.get("ExposedPorts") or {}:
        out[key if "/" in key else f"{key}/tcp"] = None
    for m in c.network.get("Mappings") or []:
        key = f"{m['container_port']}/{m['proto']}"
        out.setdefault(key, None)
        out[key] = [*(out[key] or []), {"HostIp": m["host_ip"] or "0.0.0.0", "HostPort": str(m["host_port"])}]
    return out


def port_summaries(c: Container) -> list[dict[str, Any]]:
    """ContainerSummary.Ports: one entry per binding, and one per exposed port without a binding."""
    out: list[dict[str, Any]] = []
    for key, bindings in port_map(c).items():
        port, _, proto = key.partition("/")
        if not bindings:
            out.append({"PrivatePort": int(port), "Type": proto})
            continue
        for b in bindings:
            out.append({"IP": b["HostIp"], "PrivatePort": int(port), "PublicPort": int(b["HostPort"]), "Type": proto})
    return out


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
        "Ports": port_summaries(c),
        "Labels": dict(c.config.get("Labels") or {}),
        "State": state_name(c),
        "Status": status_text(c, now_ns),
        "HostConfig": {"NetworkMode": c.host_config.get("NetworkMode", "bridge")},
        "NetworkSettings": {"Networks": _networks(c)},
        "Mounts": _mounts(c),
    }


def inspect(c: Container, size: tuple[int, int] | None = None, exec_ids: list[str] | None = None) -> dict[str, Any]:
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
            **health.inspect_fields(c),
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
        "ExecIDs": exec_ids or None,
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
            "SandboxID": c.network.get("SandboxID", ""),
            "SandboxKey": c.network.get("SandboxKey", ""),
            "Ports": port_map(c),
            "HairpinMode": False,
            "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0,
            "SecondaryIPAddresses": None,
            "SecondaryIPv6Addresses": None,
            "EndpointID": c.network.get("EndpointID", ""),
            "Gateway": c.network.get("Gateway", ""),
            "GlobalIPv6Address": c.network.get("GlobalIPv6Address", ""),
            "GlobalIPv6PrefixLen": c.network.get("GlobalIPv6PrefixLen", 0),
            "IPAddress": c.network.get("IPAddress", ""),
            "IPPrefixLen": c.network.get("IPPrefixLen", 0),
            "IPv6Gateway": c.network.get("IPv6Gateway", ""),
            "MacAddress": c.network.get("MacAddress", ""),
            "Networks": _networks(c),
        },
    }
    if size is not None:
        out["SizeRw"], out["SizeRootFs"] = size
    return out
