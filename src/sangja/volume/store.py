"""The `local` volume driver: one directory per volume under `<data-root>/volumes`.

    <root>/<name>/volume.json   {"CreatedAt", "Labels", "Options"} (atomic replace)
    <root>/<name>/_data         the volume's content: the Mountpoint, as in Docker

Options follow Docker's local driver: `type`, `device` and `o` describe a mount(2) made
on `_data` when a container first needs the volume (`-o type=tmpfs -o device=tmpfs
-o o=size=64m`, or `-o type=none -o o=bind -o device=/srv/data`). A mounted volume stays
mounted until the volume is removed (Docker unmounts when the last user stops; sangja
keeps the mount, so a tmpfs volume's content lives as long as the volume).

Errors carry Docker's texts ("get x: no such volume", "remove x: volume is in use - [...]").
Which containers use a volume is the daemon's knowledge, not this store's: `remove` takes it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sangja.errors import Conflict, InvalidParameter, NotFound, SangjaError
from sangja.host.mounts import MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC, Mounter

DRIVER = "local"
META_FILE = "volume.json"
DATA_DIR = "_data"
ANONYMOUS_LABEL = "com.docker.volume.anonymous"
VALID_OPTIONS = ("type", "device", "o", "size")
RESTRICTED_CHARS = "[a-zA-Z0-9][a-zA-Z0-9_.-]"
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")

# mount(8)-style option words that are flags rather than filesystem data.
_FLAGS: dict[str, tuple[int, bool]] = {
    "ro": (MS_RDONLY, True), "rw": (MS_RDONLY, False),
    "nosuid": (MS_NOSUID, True), "suid": (MS_NOSUID, False),
    "nodev": (MS_NODEV, True), "dev": (MS_NODEV, False),
    "noexec": (MS_NOEXEC, True), "exec": (MS_NOEXEC, False),
    "bind": (MS_BIND, True), "rbind": (MS_BIND | MS_REC, True),
}


def validate_name(name: str) -> None:
    if len(name) == 1:
        raise InvalidParameter(
            f"create {name}: volume name is too short, names should be at least two alphanumeric characters"
        )
    if not _NAME.match(name):
        raise InvalidParameter(
            f'create {name}: "{name}" includes invalid characters for a local volume name, only '
            f'"{RESTRICTED_CHARS}" are allowed. If you intended to pass a host directory, use absolute path'
        )


def validate_options(name: str, options: dict[str, str]) -> None:
    """Docker's local driver: only type/device/o; a type needs a device and vice versa."""
    for key in options:
        if key not in VALID_OPTIONS:
            raise InvalidParameter(f'create {name}: invalid option: "{key}"')
    if "size" in options:
        raise InvalidParameter(f'create {name}: quota size requested but no quota support')
    if options.get("type") and not options.get("device"):
        raise InvalidParameter(f'create {name}: missing required option: "device"')
    if options.get("device") and not options.get("type"):
        raise InvalidParameter(f'create {name}: missing required option: "type"')
    if options.get("o") and not (options.get("type") or options.get("device")):
        raise InvalidParameter(f'create {name}: missing required option: "type"')


def mount_arguments(options: dict[str, str]) -> tuple[str, str, int, str]:
    """(source, fstype, flags, data) for mount(2) from a volume's type/device/o."""
    flags = 0
    data: list[str] = []
    for word in (options.get("o") or "").split(","):
        if not word:
            continue
        if word in _FLAGS:
            bit, on = _FLAGS[word]
            flags = flags | bit if on else flags & ~bit
        else:
            data.append(word)
    fstype = options.get("type", "")
    if fstype == "none" or flags & MS_BIND:
        fstype = ""
    return options.get("device", ""), fstype, flags, ",".join(data)


@dataclass
class Volume:
    name: str
    created_at: str
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    mountpoint: str = ""

    @property
    def anonymous(self) -> bool:
        return ANONYMOUS_LABEL in self.labels

    @property
    def needs_mount(self) -> bool:
        return bool(self.options.get("type") or self.options.get("device"))

    def to_api(self) -> dict[str, Any]:
        """Docker's `Volume` object."""
        return {
            "CreatedAt": self.created_at,
            "Driver": DRIVER,
            "Labels": dict(self.labels),
            "Mountpoint": self.mountpoint,
            "Name": self.name,
            "Options": dict(self.options),
            "Scope": "local",
        }


def _created_at(now: float) -> str:
    """Docker shows a volume's creation time in RFC 3339 to the second, in UTC here."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))


class VolumeStore:
    def __init__(self, root: Path, mounter: Mounter | None = None) -> None:
        self.root = root
        self._mounter = mounter
        self._lock = threading.Lock()
        self._volumes: dict[str, Volume] | None = None

    @property
    def mounter(self) -> Mounter:
        if self._mounter is None:
            from sangja.host.mounts import libc_mounter

            self._mounter = libc_mounter()
        return self._mounter

    def _all(self) -> dict[str, Volume]:
        if self._volumes is None:
            self.root.mkdir(parents=True, exist_ok=True)
            loaded: dict[str, Volume] = {}
            for entry in sorted(self.root.iterdir()):
                try:
                    meta = json.loads((entry / META_FILE).read_text())
                except (OSError, json.JSONDecodeError):
                    continue  # a create that never finished: not a volume
                loaded[entry.name] = Volume(
                    name=entry.name,
                    created_at=str(meta.get("CreatedAt") or ""),
                    labels=dict(meta.get("Labels") or {}),
                    options=dict(meta.get("Options") or {}),
                    mountpoint=str(entry / DATA_DIR),
                )
            self._volumes = loaded
        return self._volumes

    def volumes(self) -> list[Volume]:
        with self._lock:
            return list(self._all().values())

    def find(self, name: str) -> Volume | None:
        with self._lock:
            return self._all().get(name)

    def get(self, name: str) -> Volume:
        v = self.find(name)
        if v is None:
            raise NotFound(f"get {name}: no such volume")
        return v

    def create(
        self, name: str = "", labels: dict[str, str] | None = None, options: dict[str, str] | None = None
    ) -> tuple[Volume, bool]:
        """The volume `name` (a new random name when empty); (volume, created). An existing
        volume is returned as is, like Docker's create of a name that exists."""
        options = dict(options or {})
        labels = dict(labels or {})
        if name:
            validate_name(name)
        validate_options(name, options)
        with self._lock:
            volumes = self._all()
            if not name:
                # A volume created without a name is anonymous, as in moby's volume service.
                labels[ANONYMOUS_LABEL] = ""
                name = secrets.token_hex(32)
                while name in volumes:
                    name = secrets.token_hex(32)
            existing = volumes.get(name)
            if existing is not None:
                if options and existing.options != options:
                    raise Conflict(
                        f"create {name}: volume already exists and has different options"
                    )
                return existing, False
            directory = self.root / name
            data = directory / DATA_DIR
            try:
                data.mkdir(parents=True, mode=0o755)
                os.chmod(directory, 0o701)
                vol = Volume(name, _created_at(time.time()), labels, options, str(data))
                tmp = directory / (META_FILE + ".tmp")
                tmp.write_text(json.dumps({"CreatedAt": vol.created_at, "Labels": labels, "Options": options}))
                os.replace(tmp, directory / META_FILE)
            except OSError as exc:
                shutil.rmtree(directory, ignore_errors=True)
                raise SangjaError(f"create {name}: {exc.strerror or exc}") from None
            volumes[name] = vol
            return vol, True

    def remove(self, name: str, users: list[str], force: bool = False) -> None:
        """Remove a volume no container uses (`users`: the IDs of those that do)."""
        with self._lock:
            vol = self._all().get(name)
            if vol is None:
                if force:
                    return
                raise NotFound(f"get {name}: no such volume")
            if users:
                raise Conflict(f"remove {name}: volume is in use - [{', '.join(users)}]")
            self._unmount(vol)
            directory = self.root / name
            # The metadata goes first, so a crash half-way leaves no volume that looks complete.
            with contextlib.suppress(FileNotFoundError):
                (directory / META_FILE).unlink()
            del self._all()[name]
        shutil.rmtree(directory, ignore_errors=True)

    def ensure_mounted(self, vol: Volume) -> None:
        """Mount an option-based volume (tmpfs, bind, nfs …) on its _data if not mounted yet."""
        if not vol.needs_mount:
            return
        with self._lock:
            if vol.mountpoint in self.mounter.mountpoints():
                return
            source, fstype, flags, data = mount_arguments(vol.options)
            try:
                self.mounter.mount(source, vol.mountpoint, fstype, flags, data)
            except OSError as exc:
                raise SangjaError(
                    f"error while mounting volume '{vol.mountpoint}': failed to mount local volume: "
                    f"mount {source}:{vol.mountpoint}, data: {data}: {os.strerror(exc.errno or 0).lower()}"
                ) from None

    def _unmount(self, vol: Volume) -> None:
        if vol.needs_mount and vol.mountpoint in self.mounter.mountpoints():
            from sangja.host.mounts import unmount_quietly

            unmount_quietly(self.mounter, vol.mountpoint)

    def size(self, vol: Volume) -> int:
        """Bytes used under the volume's _data (a walk; call off the event loop)."""
        total = 0
        for dirpath, _dirs, files in os.walk(vol.mountpoint):
            for f in files:
                with contextlib.suppress(OSError):
                    total += os.lstat(os.path.join(dirpath, f)).st_blocks * 512
        return total
