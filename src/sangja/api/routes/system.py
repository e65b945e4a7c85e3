"""System routes: `/_ping`, `/version`, `/info`, `/events`."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import socket
import time
from typing import Any

from aiohttp import web

from sangja import __version__
from sangja.api.http import Route, json_response, qfilters, qstr
from sangja.api.version import API_VERSION, MIN_API_VERSION
from sangja.daemon.daemon import Daemon
from sangja.daemon.timefmt import parse_timestamp
from sangja.distribution.registry_info import registry_config
from sangja.errors import InvalidParameter

PING_HEADERS = {
    "Api-Version": API_VERSION,
    "Ostype": "linux",
    "Builder-Version": "1",
    "Docker-Experimental": "false",
    "Swarm": "inactive",
    "Cache-Control": "no-cache, no-store, must-revalidate",
    "Pragma": "no-cache",
    "Server": f"sangja/{__version__} (linux)",
}
EVENT_FILTERS = (
    "container",
    "image",
    "event",
    "type",
    "label",
    "network",
    "volume",
    "daemon",
    "plugin",
    "node",
    "service",
    "secret",
    "config",
    "scope",
)


def system_routes(d: Daemon) -> list[Route]:
    h = _Handlers(d)
    return [
        Route("GET", "/_ping", h.get_ping),
        Route("HEAD", "/_ping", h.head_ping),
        Route("GET", "/version", h.get_version),
        Route("GET", "/info", h.get_info),
        Route("GET", "/events", h.get_events),
    ]


def _arch() -> str:
    m = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(m, m)


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


def _mem_total() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class _Handlers:
    def __init__(self, d: Daemon) -> None:
        self.d = d

    async def get_ping(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="OK", headers=PING_HEADERS, content_type="text/plain")

    async def head_ping(self, request: web.Request) -> web.StreamResponse:
        return web.Response(
            headers={**PING_HEADERS, "Content-Type": "text/plain; charset=utf-8", "Content-Length": "0"}
        )

    async def get_version(self, request: web.Request) -> web.StreamResponse:
        details = {
            "ApiVersion": API_VERSION,
            "Arch": _arch(),
            "BuildTime": "",
            "Experimental": "false",
            "GitCommit": "",
            "GoVersion": f"python{platform.python_version()}",
            "KernelVersion": platform.release(),
            "MinAPIVersion": MIN_API_VERSION,
            "Os": "linux",
        }
        return json_response(
            {
                "Platform": {"Name": "sangja"},
                "Components": [{"Name": "Engine", "Version": __version__, "Details": details}],
                "Version": __version__,
                "ApiVersion": API_VERSION,
                "MinAPIVersion": MIN_API_VERSION,
                "GitCommit": "",
                "GoVersion": f"python{platform.python_version()}",
                "Os": "linux",
                "Arch": _arch(),
                "KernelVersion": platform.release(),
                "BuildTime": "",
            }
        )

    async def get_info(self, request: web.Request) -> web.StreamResponse:
        d = self.d
        cs = list(d.containers)
        running = sum(1 for c in cs if c.state.status == "running")
        paused = sum(1 for c in cs if c.state.status == "paused")
        images = await asyncio.to_thread(d.images.list)
        cgroup_v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
        info: dict[str, Any] = {
            "ID": _daemon_id(d),
            "Name": socket.gethostname(),
            "ServerVersion": __version__,
            "Containers": len(cs),
            "ContainersRunning": running,
            "ContainersPaused": paused,
            "ContainersStopped": len(cs) - running - paused,
            "Images": len(images),
            "Driver": "overlay2",
            "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]],
            "Plugins": {
                "Volume": ["local"],
                "Network": ["host", "null"],
                "Authorization": None,
                "Log": ["json-file", "none"],
            },
            "MemoryLimit": True,
            "SwapLimit": True,
            "CpuCfsPeriod": True,
            "CpuCfsQuota": True,
            "CPUShares": True,
            "CPUSet": True,
            "PidsLimit": True,
            "IPv4Forwarding": True,
            "Debug": d.config.log_level == "debug",
            "NFd": len(os.listdir("/proc/self/fd")),
            "NGoroutines": len(asyncio.all_tasks()),
            "SystemTime": time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime()),
            "LoggingDriver": "json-file",
            "CgroupDriver": "cgroupfs",
            "CgroupVersion": "2" if cgroup_v2 else "1",
            "NEventsListener": 0,
            "KernelVersion": platform.release(),
            "OperatingSystem": _os_name(),
            "OSVersion": "",
            "OSType": "linux",
            "Architecture": platform.machine(),
            "IndexServerAddress": "https://index.docker.io/v1/",
            "RegistryConfig": registry_config(d.config.insecure_registries, d.config.registry_mirrors),
            "NCPU": os.cpu_count() or 1,
            "MemTotal": _mem_total(),
            "DockerRootDir": str(d.config.data_root),
            "HttpProxy": "",
            "HttpsProxy": "",
            "NoProxy": "",
            "Labels": [],
            "ExperimentalBuild": False,
            "Runtimes": {name: {"path": name} for name in d.config.runtimes},
            "DefaultRuntime": d.config.runtime,
            "Swarm": {
                "NodeID": "",
                "NodeAddr": "",
                "LocalNodeState": "inactive",
                "ControlAvailable": False,
                "Error": "",
                "RemoteManagers": None,
            },
            "LiveRestoreEnabled": True,
            "Isolation": "",
            "InitBinary": "docker-init",
            "SecurityOptions": ["name=cgroupns"] if cgroup_v2 else [],
            "Warnings": [],
        }
        return json_response(info)

    async def get_events(self, request: web.Request) -> web.StreamResponse:
        filters = qfilters(request)
        for key in filters:
            if key not in EVENT_FILTERS:
                raise InvalidParameter(f"invalid filter '{key}'")
        now = time.time_ns()
        since_raw, until_raw = qstr(request, "since"), qstr(request, "until")
        since = parse_timestamp(since_raw, now) if since_raw else None
        until = parse_timestamp(until_raw, now) if until_raw else None
        if since is not None and until is not None and since > until:
            raise InvalidParameter("`since` time must be before `until` time")
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        # Subscribe before reading the history so that nothing falls between the two.
        live = self.d.events.subscribe()
        pending = asyncio.ensure_future(live.get())
        try:
            if since is not None or until is not None:
                for ev in self.d.events.history(since, until):
                    if _event_matches(ev, filters):
                        await resp.write(json.dumps(ev).encode() + b"\n")
            if until is not None and until <= time.time_ns():
                await resp.write_eof()
                return resp
            timeout = None if until is None else (until - time.time_ns()) / 1e9
            deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
            while True:
                remaining = None if deadline is None else deadline - asyncio.get_running_loop().time()
                if remaining is not None and remaining <= 0:
                    break
                done, _ = await asyncio.wait({pending}, timeout=remaining)
                if not done:
                    break
                ev = pending.result()
                pending = asyncio.ensure_future(live.get())
                if (since is None or ev["timeNano"] >= since) and _event_matches(ev, filters):
                    await resp.write(json.dumps(ev).encode() + b"\n")
        finally:
            pending.cancel()
            live.close()
        await resp.write_eof()
        return resp


def _event_matches(ev: dict[str, Any], f: dict[str, list[str]]) -> bool:
    actor = ev["Actor"]
    attrs = actor.get("Attributes") or {}
    if "type" in f and ev["Type"] not in f["type"]:
        return False
    if "event" in f and ev["Action"] not in f["event"] and ev["Action"].split(":")[0] not in f["event"]:
        return False
    if "container" in f and (
        ev["Type"] != "container"
        or not any(actor["ID"].startswith(v) or attrs.get("name") == v for v in f["container"])
    ):
        return False
    if "image" in f and not any(
        attrs.get("image") == v or actor["ID"] == v or attrs.get("name") == v for v in f["image"]
    ):
        return False
    if "label" in f:
        for cond in f["label"]:
            key, eq, value = cond.partition("=")
            if key not in attrs or (eq and attrs[key] != value):
                return False
    return True


def _daemon_id(d: Daemon) -> str:
    path = d.config.data_root / "engine-id"
    try:
        return path.read_text().strip()
    except OSError:
        import uuid

        ident = str(uuid.uuid4())
        path.write_text(ident)
        return ident
