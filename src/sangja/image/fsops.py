"""The privileged filesystem calls that unpacking a layer makes, behind one seam.

`HostFsOps` does them for real (root needed: chown, device nodes, `trusted.*` xattrs).
`RecordingFsOps` is the test double that ships with the product: it records every call and
does an unprivileged stand-in (an empty file for a device or whiteout) so the rest of the
tree can be checked without root.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import Protocol

OPAQUE_XATTR = "trusted.overlay.opaque"


class FsOps(Protocol):
    def lchown(self, path: str, uid: int, gid: int) -> None: ...

    def mknod(self, path: str, mode: int, device: int) -> None:
        """Create a character/block device (mode includes S_IFCHR/S_IFBLK)."""

    def whiteout(self, path: str) -> None:
        """Create an overlayfs whiteout: a character device 0/0."""

    def set_opaque(self, directory: str) -> None:
        """Mark a directory opaque for overlayfs (trusted.overlay.opaque=y)."""

    def setxattr(self, path: str, name: str, value: bytes) -> None:
        """Set an extended attribute on `path` itself (not a symlink's target)."""


class HostFsOps:
    def lchown(self, path: str, uid: int, gid: int) -> None:
        os.lchown(path, uid, gid)

    def mknod(self, path: str, mode: int, device: int) -> None:
        os.mknod(path, mode, device)

    def whiteout(self, path: str) -> None:
        os.mknod(path, stat.S_IFCHR | 0o000, os.makedev(0, 0))

    def set_opaque(self, directory: str) -> None:
        os.setxattr(directory, OPAQUE_XATTR, b"y", follow_symlinks=False)

    def setxattr(self, path: str, name: str, value: bytes) -> None:
        os.setxattr(path, name, value, follow_symlinks=False)


@dataclass
class RecordingFsOps:
    """Records privileged calls; stands in for them without privilege."""

    chowns: dict[str, tuple[int, int]] = field(default_factory=dict)
    devices: dict[str, tuple[int, int]] = field(default_factory=dict)   # path -> (mode, device)
    whiteouts: set[str] = field(default_factory=set)
    opaque: set[str] = field(default_factory=set)
    xattrs: dict[str, dict[str, bytes]] = field(default_factory=dict)

    def lchown(self, path: str, uid: int, gid: int) -> None:
        self.chowns[path] = (uid, gid)

    def mknod(self, path: str, mode: int, device: int) -> None:
        self.devices[path] = (mode, device)
        with open(path, "xb"):
            pass

    def whiteout(self, path: str) -> None:
        self.whiteouts.add(path)
        with open(path, "xb"):
            pass

    def set_opaque(self, directory: str) -> None:
        self.opaque.add(directory)

    def setxattr(self, path: str, name: str, value: bytes) -> None:
        self.xattrs.setdefault(path, {})[name] = value
