"""A container's mounts: resolved at create, mounted into the OCI spec at start.

At create (`prepare_mounts`) every source of mounts is validated first, then the
volumes it needs are created, in Docker's order of precedence (later wins for the same
destination): `--volumes-from`, `-v` (HostConfig.Binds), `--mount` (HostConfig.Mounts),
then the anonymous volumes of Config.Volumes (`-v /path` and the image's VOLUMEs) for
destinations nothing else covers. The result is the container's `mount_points`, records
in Docker's MountPoint shape plus two private keys:

    CopyData   fill an empty volume from the image's content at the destination (at start)
    Tmpfs      mount options of a `--mount type=tmpfs`

At start (`spec_mounts`) volumes with mount options are mounted, copy-up runs, and the
records plus HostConfig.Tmpfs (`--tmpfs`) become OCI mounts.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import subprocess
from typing import Any

from sangja.daemon.daemon import Daemon
from sangja.errors import InvalidParameter, NotFound, SangjaError
from sangja.runtime.types import MountSpec
from sangja.volume.store import ANONYMOUS_LABEL, DRIVER, validate_name

_PROPAGATIONS = ("private", "rprivate", "shared", "rshared", "slave", "rslave")
_PRIVATE_KEYS = ("CopyData", "Tmpfs")


def _mount_error(kind: str, message: str) -> InvalidParameter:
    return InvalidParameter(f'invalid mount config for type "{kind}": {message}')


def _from_bind(bind: str) -> dict[str, Any]:
    """One `-v src:dst[:mode]` (already syntax-checked by create_config.validate_bind)."""
    src, dst, *rest = bind.split(":")
    mode = rest[0] if rest else ""
    flags = mode.split(",") if mode else []
    rw = "ro" not in flags
    if posixpath.isabs(src):
        prop = next((f for f in flags if f in _PROPAGATIONS), "rprivate")
        return {"Type": "bind", "Source": src, "Destination": dst, "Mode": mode, "RW": rw, "Propagation": prop}
    validate_name(src)
    return {
        "Type": "volume", "Name": src, "Source": "", "Destination": dst, "Driver": DRIVER,
        "Mode": mode or "z", "RW": rw, "Propagation": "", "CopyData": "nocopy" not in flags,
    }


def _from_mount(m: Any) -> dict[str, Any]:
    """One HostConfig.Mounts entry (`--mount`), with Docker's validation messages."""
    if not isinstance(m, dict):
        raise InvalidParameter("invalid JSON: HostConfig.Mounts must be a list of objects")
    kind = m.get("Type") or ""
    target = m.get("Target") or ""
    source = m.get("Source") or ""
    if kind not in ("bind", "volume", "tmpfs"):
        raise InvalidParameter(f'invalid mount config for type "{kind}": mount type unknown')
    if not target:
        raise _mount_error(kind, "field Target must not be empty")
    if not posixpath.isabs(target):
        raise _mount_error(kind, f"invalid mount path: '{target}' mount path must be absolute")
    rw = not m.get("ReadOnly")
    for other, key in (("bind", "BindOptions"), ("volume", "VolumeOptions"), ("tmpfs", "TmpfsOptions")):
        if kind != other and m.get(key):
            raise _mount_error(kind, f"field {key} must not be specified")
    if kind == "bind":
        if not source:
            raise _mount_error(kind, "field Source must not be empty")
        if not posixpath.isabs(source):
            raise _mount_error(kind, f"invalid mount path: '{source}' mount path must be absolute")
        if not os.path.exists(source):
            raise _mount_error(kind, f"bind source path does not exist: {source}")
        prop = (m.get("BindOptions") or {}).get("Propagation") or "rprivate"
        if prop not in _PROPAGATIONS:
            raise _mount_error(kind, f"invalid propagation mode: {prop}")
        return {"Type": "bind", "Source": source, "Destination": target, "Mode": "", "RW": rw,
                "Propagation": prop}
    if kind == "tmpfs":
        if source:
            raise _mount_error(kind, "field Source must not be specified")
        opts = m.get("TmpfsOptions") or {}
        data = ["nosuid", "nodev", "noexec"]
        if opts.get("SizeBytes"):
            data.append(f"size={int(opts['SizeBytes']) // 1024}k")
        if opts.get("Mode"):
            data.append(f"mode={int(opts['Mode']):o}")
        if not rw:
            data.append("ro")
        return {"Type": "tmpfs", "Source": "", "Destination": target, "Mode": "", "RW": rw,
                "Propagation": "", "Tmpfs": data}
    vopts = m.get("VolumeOptions") or {}
    driver = ((vopts.get("DriverConfig") or {}).get("Name")) or DRIVER
    if driver != DRIVER:
        raise InvalidParameter(f"error looking up volume plugin {driver}: plugin \"{driver}\" not found")
    if source:
        validate_name(source)
    return {
        "Type": "volume", "Name": source, "Source": "", "Destination": target, "Driver": DRIVER,
        "Mode": "z", "RW": rw, "Propagation": "", "CopyData": not vopts.get("NoCopy"),
        "Labels": dict(vopts.get("Labels") or {}),
    }


def _from_container(d: Daemon, spec: Any) -> list[dict[str, Any]]:
    if not isinstance(spec, str):
        raise InvalidParameter("invalid JSON: HostConfig.VolumesFrom must be a list of strings")
    ref, _, mode = spec.partition(":")
    if mode not in ("", "ro", "rw"):
        raise InvalidParameter(f"invalid mode: {mode}")
    try:
        other = d.containers.get(ref)
    except NotFound:
        raise NotFound(f"No such container: {ref}") from None
    out = []
    for mp in other.mount_points or []:
        if mp["Type"] == "tmpfs":
            continue
        copy = {k: v for k, v in mp.items() if k != "Labels"}
        copy["CopyData"] = False
        if mode:
            copy["RW"] = mode == "rw"
        out.append(copy)
    return out


def prepare_mounts(d: Daemon, cfg: dict[str, Any], hc: dict[str, Any]) -> list[dict[str, Any]]:
    """The mount points of a container being created; creates the volumes it needs.

    Everything is validated before any volume is created, and volumes created here are
    removed again when a later one fails: a refused create leaves nothing behind."""
    by_dest: dict[str, dict[str, Any]] = {}
    for spec in hc.get("VolumesFrom") or []:
        for mp in _from_container(d, spec):
            by_dest[posixpath.normpath(mp["Destination"])] = mp
    explicit: set[str] = set()
    for item in [*(_from_bind(b) for b in hc.get("Binds") or []), *(_from_mount(m) for m in hc.get("Mounts") or [])]:
        dest = posixpath.normpath(item["Destination"])
        if dest in explicit:
            raise InvalidParameter(f"Duplicate mount point: {dest}")
        explicit.add(dest)
        by_dest[dest] = item
    for dest in hc.get("Tmpfs") or {}:
        if posixpath.normpath(dest) in explicit:
            raise InvalidParameter(f"Duplicate mount point: {posixpath.normpath(dest)}")
    for dest in cfg.get("Volumes") or {}:
        if not posixpath.isabs(dest):
            raise InvalidParameter(
                f"invalid volume specification: '{dest}': invalid mount config for type \"volume\": "
                f"invalid mount path: '{dest}' mount path must be absolute"
            )
        norm = posixpath.normpath(dest)
        if norm in by_dest or norm in {posixpath.normpath(t) for t in hc.get("Tmpfs") or {}}:
            continue
        by_dest[norm] = {
            "Type": "volume", "Name": "", "Source": "", "Destination": dest, "Driver": DRIVER,
            "Mode": "", "RW": True, "Propagation": "", "CopyData": True,
        }
    created: list[str] = []
    try:
        for mp in by_dest.values():
            if mp["Type"] != "volume" or mp["Source"]:
                continue
            labels = dict(mp.pop("Labels", None) or {})
            if not mp["Name"]:
                labels[ANONYMOUS_LABEL] = ""
            vol, is_new = d.volumes.create(mp["Name"], labels)
            if is_new:
                created.append(vol.name)
                d.events.publish("volume", "create", vol.name, {"driver": DRIVER})
            mp["Name"] = vol.name
            mp["Source"] = vol.mountpoint
    except BaseException:
        for name in created:
            with contextlib.suppress(SangjaError):
                d.volumes.remove(name, [])
        raise
    return sorted(by_dest.values(), key=lambda mp: posixpath.normpath(mp["Destination"]))


def mounts_view(mount_points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Docker's `Mounts` (inspect and ps): the records without sangja's private keys."""
    return [{k: v for k, v in mp.items() if k not in _PRIVATE_KEYS} for mp in mount_points]


def binds_as_mount_points(binds: list[str]) -> list[dict[str, Any]]:
    """Mount points of a record written before volumes existed (its Binds are all host paths)."""
    return [_from_bind(b) for b in binds if posixpath.isabs(b.split(":", 1)[0])]


def _copy_up(rootfs: str, destination: str, data: str) -> None:
    """Docker's copy-up: an empty volume takes the image's content at the mount destination."""
    src = os.path.join(rootfs, destination.lstrip("/"))
    # The path inside the rootfs must not lead out of it through a symlink.
    real = os.path.realpath(src)
    if not (real == rootfs or real.startswith(rootfs.rstrip("/") + "/")) or not os.path.isdir(real):
        return
    try:
        if os.listdir(data) or not os.listdir(real):
            return
    except OSError:
        return
    proc = subprocess.run(["cp", "-a", "--", real + "/.", data + "/"], capture_output=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise SangjaError(f"failed to copy image content to volume at {destination}: "
                          f"{proc.stderr.decode(errors='replace').strip()}")


def spec_mounts(d: Daemon, mount_points: list[dict[str, Any]], tmpfs: dict[str, str], rootfs: str) -> list[MountSpec]:
    """OCI mounts for a starting container (mounts option volumes, copies up; in a thread)."""
    out: list[MountSpec] = []
    for mp in mount_points:
        dest = mp["Destination"]
        if mp["Type"] == "tmpfs":
            out.append(MountSpec(dest, "tmpfs", "tmpfs", tuple(mp.get("Tmpfs") or ())))
            continue
        if mp["Type"] == "volume":
            vol = d.volumes.get(mp["Name"])
            d.volumes.ensure_mounted(vol)
            if mp.get("CopyData"):
                _copy_up(rootfs, dest, vol.mountpoint)
            source = vol.mountpoint
            options = ["rbind", "rw" if mp["RW"] else "ro", "rprivate"]
        else:
            source = mp["Source"]
            # Docker creates a missing -v source (a --mount source was checked at create).
            os.makedirs(source, exist_ok=True)
            options = ["rbind", "rw" if mp["RW"] else "ro", mp.get("Propagation") or "rprivate"]
        out.append(MountSpec(dest, source, "bind", tuple(options)))
    for dest, opts in (tmpfs or {}).items():
        given = [o for o in (opts or "").split(",") if o]
        defaults = [f for f in ("nosuid", "nodev", "noexec") if f[2:] not in given]
        out.append(MountSpec(dest, "tmpfs", "tmpfs", tuple([*defaults, *given])))
    return out


def volume_users(d: Daemon, name: str) -> list[str]:
    """IDs of the containers (in any state) that mount the volume `name`."""
    return [
        c.id for c in d.containers
        if any(mp.get("Type") == "volume" and mp.get("Name") == name for mp in c.mount_points or [])
    ]


def remove_anonymous_volumes(d: Daemon, mount_points: list[dict[str, Any]]) -> None:
    """`rm -v` and AutoRemove: remove the container's anonymous volumes no one else uses."""
    for mp in mount_points:
        if mp.get("Type") != "volume" or not mp.get("Name"):
            continue
        vol = d.volumes.find(mp["Name"])
        if vol is None or not vol.anonymous or volume_users(d, vol.name):
            continue
        with contextlib.suppress(SangjaError):
            d.volumes.remove(vol.name, [])
            d.events.publish("volume", "destroy", vol.name, {"driver": DRIVER})
