"""Device nodes of the host, for --device and --privileged (which gets them all, like Docker).

Only stat(2) and directory walks: no kernel state changes, so no host/ seam is needed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sangja.errors import InvalidParameter
from sangja.runtime.types import DeviceSpec

# Directories and files of /dev that Docker (containerd's HostDevices) leaves out for --privileged.
_SKIP_DIRS = {"pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"}
_SKIP_FILES = {"console"}


def device_from_path(host_path: str, container_path: str = "", permissions: str = "rwm") -> DeviceSpec:
    """A DeviceSpec for one device node (symlinks followed). OSError / ValueError if not a device."""
    st = os.stat(host_path)
    if stat.S_ISCHR(st.st_mode):
        kind = "c"
    elif stat.S_ISBLK(st.st_mode):
        kind = "b"
    else:
        raise ValueError("not a device node")
    return DeviceSpec(
        path=container_path or host_path,
        type=kind,
        major=os.major(st.st_rdev),
        minor=os.minor(st.st_rdev),
        file_mode=stat.S_IMODE(st.st_mode),
        uid=st.st_uid,
        gid=st.st_gid,
        permissions=permissions,
    )


def devices_for_mapping(host_path: str, container_path: str, permissions: str) -> list[DeviceSpec]:
    """`--device host[:container[:perms]]`: one node, or every node under a directory.

    Symlinks are followed only when they end up under /dev (Docker does the same so a
    symlink can't expose an arbitrary host file). Error text follows Docker's.
    """
    resolved = os.path.realpath(host_path)
    source = resolved if resolved == "/dev" or resolved.startswith("/dev/") else host_path
    try:
        return [device_from_path(source, container_path, permissions)]
    except ValueError as not_device:
        found: list[DeviceSpec] = []
        if os.path.isdir(source):
            for dirpath, _dirs, files in os.walk(source):
                for name in sorted(files):
                    p = os.path.join(dirpath, name)
                    try:
                        dev = device_from_path(p, "", permissions)
                    except (OSError, ValueError):
                        continue
                    found.append(_with_path(dev, p.replace(source, container_path, 1)))
        if found:
            return found
        raise InvalidParameter(
            f"error gathering device information while adding custom device \"{host_path}\": {not_device}"
        ) from None
    except OSError as e:
        raise InvalidParameter(
            f"error gathering device information while adding custom device \"{host_path}\": "
            f"{e.strerror.lower() if e.strerror else e}"
        ) from None


def _with_path(dev: DeviceSpec, path: str) -> DeviceSpec:
    return DeviceSpec(path=path, type=dev.type, major=dev.major, minor=dev.minor, file_mode=dev.file_mode,
                      uid=dev.uid, gid=dev.gid, permissions=dev.permissions)


def host_devices(dev_root: str = "/dev") -> list[DeviceSpec]:
    """Every char/block device under /dev, for a privileged container."""
    found: list[DeviceSpec] = []
    for dirpath, dirs, files in os.walk(dev_root):
        dirs[:] = sorted(d for d in dirs if not (dirpath == dev_root and d in _SKIP_DIRS))
        for name in sorted(files):
            if dirpath == dev_root and name in _SKIP_FILES:
                continue
            p = os.path.join(dirpath, name)
            if os.path.islink(p):
                continue
            try:
                found.append(device_from_path(p))
            except (OSError, ValueError):
                continue
    return found


def thermal_throttle_paths(sys_root: str = "/sys") -> tuple[str, ...]:
    """/sys/devices/system/cpu/cpuN/thermal_throttle that exist: Docker 28 masks them too."""
    base = Path(sys_root, "devices/system/cpu")
    try:
        cpus = sorted((p for p in base.iterdir() if p.name[3:].isdigit() and p.name.startswith("cpu")),
                      key=lambda p: int(p.name[3:]))
    except OSError:
        return ()
    return tuple(f"/sys/devices/system/cpu/{p.name}/thermal_throttle" for p in cpus
                 if (p / "thermal_throttle").exists())
