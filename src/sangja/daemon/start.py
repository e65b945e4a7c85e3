"""Start a container: mount its rootfs, write the OCI spec, launch it under conmon, run it.

The order matters for attach: `docker run` attaches *before* start, so pending
attach sessions are connected to conmon's socket after `runc create` and before
`runc start` — no output can be missed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from functools import partial
from pathlib import Path

from sangja.daemon import health
from sangja.daemon.container import Container
from sangja.daemon.create_config import parse_size
from sangja.daemon.daemon import Daemon
from sangja.daemon.etcfiles import write_etc_files
from sangja.daemon.network_container import is_container_mode
from sangja.daemon.network_sandbox import attach_sandbox, release_sandbox, runtime_network_mode
from sangja.daemon.resources import resolve_devices, spec_fields
from sangja.daemon.timefmt import rfc3339_ns
from sangja.daemon.volume_mounts import binds_as_mount_points, spec_mounts
from sangja.errors import Conflict, InvalidParameter, NotModified, SangjaError
from sangja.runtime.conmon import CreateFailed
from sangja.runtime.spec import generate_spec
from sangja.runtime.types import LaunchOptions, MountSpec, ProcessSpec, SpecInput
from sangja.runtime.user import resolve_user

log = logging.getLogger(__name__)

INIT_PATH_IN_CONTAINER = "/sbin/docker-init"
# conmon's own cap on the live log, a backstop for while sangjad is down and cannot
# rotate: conmon truncates at this size (CONMON-NOTES §2), so it is set well above
# the size at which sangjad rotates.
BACKSTOP_FACTOR = 4


async def start_container(d: Daemon, ref: str) -> None:
    c = d.containers.get(ref)
    async with d.lock(c.id):
        if c.state.status == "paused":
            raise Conflict("cannot start a paused container, try unpause instead")
        if c.state.running:
            raise NotModified("container already started")
        if c.state.status in ("removing", "dead"):
            raise Conflict("container is marked for removal and cannot be started")
        c.manually_stopped = False
        try:
            await launch(d, c)
        except SangjaError:
            if c.host_config.get("AutoRemove"):
                # Docker removes an AutoRemove container whose start failed (run --rm nosuchcmd).
                from sangja.daemon.remove import remove_container

                d.spawn(remove_container(d, c.id, force=True, volumes=True))
            raise


async def launch(d: Daemon, c: Container) -> None:
    """Mount, create under conmon, connect attach sessions, run. Caller holds the lock.

    On any failure nothing stays mounted or created, the error is recorded on the
    container (Docker's exit code 127/126 for a missing/unrunnable command, else 128),
    and waiters and pending attach sessions are released — an attached `docker run`
    must not hang on a container that never started.
    """
    directory = d.containers.directory(c.id)
    try:
        try:
            image = await asyncio.to_thread(d.images.container_image, c.image_id)
            lowers = d.images.layer_dirs(image)
        except SangjaError as exc:
            raise Conflict(f"cannot start container {c.short_id}: its image is gone: {exc}") from None
        # An AutoRemove container's writable layer is thrown away when it exits: nothing in it
        # needs to be synced, and unmounting an overlay that isn't volatile syncs the whole
        # filesystem under the data root (podman mounts `--rm` containers volatile too).
        volatile = bool(c.host_config.get("AutoRemove"))
        rootfs = await asyncio.to_thread(partial(d.rootfs.mount, lowers, directory, volatile=volatile))
        try:
            await attach_sandbox(d, c)
            spec = await asyncio.to_thread(_build_spec, d, c, rootfs, directory)
            pid = await d.runtime.create(c.id, spec, _launch_options(c))
            for hook in d.attach_hooks.pop(c.id, []):
                try:
                    hook()
                except Exception:
                    log.exception("attach session for %s failed to connect", c.short_id)
            await d.runtime.start(c.id)
        except BaseException:
            await d.runtime.delete(c.id)
            await release_sandbox(d, c)
            await asyncio.to_thread(d.rootfs.unmount, directory)
            raise
    except CreateFailed as exc:
        _record_start_failure(d, c, _exit_code_for(exc), _start_message(exc))
        raise _start_error(exc) from None
    except SangjaError as exc:
        _record_start_failure(d, c, 128, exc.message)
        raise
    except Exception as exc:
        _record_start_failure(d, c, 128, str(exc))
        raise
    now = time.time_ns()
    c.rootfs = rootfs
    c.state.status = "running"
    c.state.pid = pid
    c.state.exit_code = 0
    c.state.error = ""
    c.state.oom_killed = False
    c.state.started_at = rfc3339_ns(now)
    c.state.started_ns = now
    c.has_been_started = True
    c.manually_restarted = False
    d.containers.save(c)
    d.stopped_event(c.id).clear()
    d.emit(c, "start")
    health.init_monitor(d, c)


def _launch_options(c: Container) -> LaunchOptions:
    opts = c.host_config.get("LogConfig", {}).get("Config", {})
    max_size = parse_size(opts.get("max-size", "10m")) if opts.get("max-size", "10m") != "-1" else 0
    return LaunchOptions(
        log_path=c.log_path,
        tty=c.tty,
        stdin=bool(c.config.get("OpenStdin")),
        stdin_once=bool(c.config.get("StdinOnce")),
        log_size_max=max_size * BACKSTOP_FACTOR if max_size else 0,
    )


def _build_spec(d: Daemon, c: Container, rootfs: str, directory: Path) -> dict[str, object]:
    write_etc_files(c, directory)
    hc = c.host_config
    cfg = c.config
    try:
        uid, gid, groups = resolve_user(rootfs, cfg.get("User") or "")
    except SangjaError:
        raise
    argv = [c.path, *c.args]
    mounts: list[MountSpec] = []
    if hc.get("Init") or (hc.get("Init") is None and d.config.init):
        mounts.append(
            MountSpec(INIT_PATH_IN_CONTAINER, d.config.init_path, "bind", ("rbind", "ro", "rprivate"))
        )
        argv = [INIT_PATH_IN_CONTAINER, "--", *argv]
    # Volumes, binds, --mount and --tmpfs (copy-up into new volumes happens here).
    mount_points = c.mount_points or binds_as_mount_points(hc.get("Binds") or [])
    mounts.extend(spec_mounts(d, mount_points, hc.get("Tmpfs") or {}, rootfs))
    for dst, src in (
        ("/etc/hostname", c.hostname_path),
        ("/etc/hosts", c.hosts_path),
        ("/etc/resolv.conf", c.resolv_conf_path),
    ):
        if not any(m.destination == dst for m in mounts):
            mounts.append(MountSpec(dst, src, "bind", ("rbind", "rprivate")))
    env = list(cfg.get("Env") or [])
    if not any(e.startswith("HOSTNAME=") for e in env):
        env.insert(
            1 if env and env[0].startswith("PATH=") else 0, f"HOSTNAME={cfg.get('Hostname') or c.short_id}"
        )
    if c.tty and not any(e.startswith("TERM=") for e in env):
        env.append("TERM=xterm")
    inp = SpecInput(
        id=c.id,
        rootfs=rootfs,
        process=ProcessSpec(
            args=tuple(argv),
            env=tuple(env),
            cwd=cfg.get("WorkingDir") or "/",
            uid=uid,
            gid=gid,
            additional_gids=groups,
            terminal=c.tty,
        ),
        hostname=cfg.get("Hostname") or "",
        cgroups_path=f"{d.config.cgroup_parent}/{c.id}",
        network_mode=runtime_network_mode(c),
        # moby sets no network sysctls in a namespace joined from another container
        default_net_sysctls=not is_container_mode(str(hc.get("NetworkMode", ""))),
        cgroupns_private=hc.get("CgroupnsMode") == "private",
        readonly_rootfs=bool(hc.get("ReadonlyRootfs")),
        mounts=tuple(mounts),
        privileged=bool(hc.get("Privileged")),
        cap_add=tuple(hc.get("CapAdd") or ()),
        cap_drop=tuple(hc.get("CapDrop") or ()),
        **spec_fields(hc, resolve_devices(hc)),  # limits, ulimits, --device (daemon/resources.py)
        oom_score_adj=int(hc.get("OomScoreAdj") or 0),
        sysctls=tuple(sorted((hc.get("Sysctls") or {}).items())),
    )
    spec: dict[str, object] = generate_spec(inp)
    return spec


def _exit_code_for(exc: CreateFailed) -> int:
    return {"not_found": 127, "not_dir": 127, "permission": 126}.get(exc.kind, 128)


def _record_start_failure(d: Daemon, c: Container, code: int, message: str) -> None:
    c.state.exit_code = code
    c.state.error = message
    c.state.status = "created" if not c.has_been_started else "exited"
    d.containers.save(c)
    d.attach_hooks.pop(c.id, None)
    d.waiters.exited(c.id, code)


def _start_message(exc: CreateFailed) -> str:
    return (
        "failed to create task for container: failed to create shim task: OCI runtime create failed: "
        f"{exc.message}: unknown"
    )


def _start_error(exc: CreateFailed) -> SangjaError:
    if exc.kind in ("not_found", "not_dir", "permission"):
        return InvalidParameter(_start_message(exc))
    err = SangjaError(_start_message(exc))
    return err
