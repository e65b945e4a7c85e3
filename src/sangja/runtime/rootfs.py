"""A container's root filesystem: one overlay mount over the image's layers.

Layout under the container's directory:
    upper/    the container's writable layer (kept across stop/start; removed with the container)
    work/     overlayfs scratch space
    merged/   the mount point, the OCI root.path
    empty/    the lower dir of an image with no layers
    l/        short symlinks to the layers, only when the lowerdir list is too long (see below)

A volatile mount (overlayfs's `volatile` option, for containers removed when they exit) skips
every sync of upper/: fsync inside the container, and the sync of the upper filesystem that
unmounting an overlay otherwise does. overlayfs leaves work/work/incompat/volatile behind and
refuses to mount over it again, since after a crash upper/ may be incomplete. sangjad removes
such containers when it starts (reconcile: AutoRemove containers that aren't running), so a
marker found when mounting comes from a clean unmount, and work/ is cleared.

The only module that mounts a rootfs. mount(2) copies at most one page (4096 bytes) of
option data, so a lowerdir list of long absolute paths (~110 bytes per layer, 127 layers
allowed) can't be passed as is. Then each layer gets a symlink l/<n>, and the option names
them through a directory fd, `/proc/self/fd/<fd>/<n>` (~20 bytes per layer). Unlike
chdir() into l/ — Docker's trick — that is safe in a threaded process.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sangja.errors import System
from sangja.host.mounts import Mounter, libc_mounter, unmount_quietly

MOUNT_DATA_MAX = 4096 - 1    # one page, with the terminating NUL


def _escape(path: str) -> str:
    """overlayfs takes "\\" escapes for the separators of its option string."""
    return path.replace("\\", "\\\\").replace(",", "\\,").replace(":", "\\:")


def _options(lowerdirs: list[str], upper: Path, work: Path, volatile: bool = False) -> str:
    extra = ",volatile" if volatile else ""
    return f"lowerdir={':'.join(lowerdirs)},upperdir={_escape(str(upper))},workdir={_escape(str(work))}{extra}"


def _link_layers(lowers: list[str], links: Path) -> None:
    """Make links/<n> → lowers[n] (replacing what was there)."""
    links.mkdir(exist_ok=True)
    for old in links.iterdir():
        old.unlink()
    for n, lower in enumerate(lowers):
        os.symlink(lower, links / format(n, "x"))


def mount_rootfs(lowers: list[str], container_dir: Path, *, volatile: bool = False,
                 mounter: Mounter | None = None) -> str:
    """Mount the overlay for a container and return the merged path (absolute).

    `lowers` are absolute layer directories, TOP-MOST FIRST (as overlayfs's lowerdir wants
    them); [] for an image without layers. Idempotent: if merged/ is already a mount point,
    its path is returned as is. Raises System if the kernel refuses.
    """
    m = mounter or libc_mounter()
    base = Path(os.path.realpath(container_dir))
    upper, work, merged = base / "upper", base / "work", base / "merged"
    for d in (upper, work, merged):
        d.mkdir(parents=True, exist_ok=True)
    if str(merged) in m.mountpoints():
        return str(merged)
    if (work / "work" / "incompat").exists():
        # Left by an earlier volatile mount that was unmounted cleanly: after a crash the
        # container would have been removed instead (see the module docstring).
        shutil.rmtree(work)
        work.mkdir()
    if not lowers:
        empty = base / "empty"
        empty.mkdir(exist_ok=True)
        lowers = [str(empty)]
    for lower in lowers:
        if not os.path.isabs(lower):
            raise System(f"overlay lower dir must be absolute: {lower}")

    data = _options([_escape(p) for p in lowers], upper, work, volatile)
    dir_fd = -1
    if len(data) > MOUNT_DATA_MAX:
        links = base / "l"
        _link_layers(lowers, links)
        dir_fd = os.open(links, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        data = _options([f"/proc/self/fd/{dir_fd}/{n:x}" for n in range(len(lowers))], upper, work, volatile)
        if len(data) > MOUNT_DATA_MAX:
            os.close(dir_fd)
            raise System(f"too many layers to mount ({len(lowers)})")
    try:
        m.mount("overlay", str(merged), "overlay", 0, data)
    except OSError as e:
        raise System(f"error creating overlay mount to {merged}: {e.strerror or e}") from None
    finally:
        if dir_fd >= 0:
            os.close(dir_fd)
    return str(merged)


def unmount_rootfs(container_dir: Path, *, mounter: Mounter | None = None) -> None:
    """Unmount the container's merged/ (lazily if busy). Idempotent; upper/ is kept."""
    m = mounter or libc_mounter()
    merged = str(Path(os.path.realpath(container_dir)) / "merged")
    # A path stacked twice (two mounts at merged/) needs two unmounts; bounded.
    for _ in range(8):
        if merged not in m.mountpoints():
            return
        try:
            if not unmount_quietly(m, merged):
                return
        except OSError as e:
            raise System(f"error unmounting {merged}: {e.strerror or e}") from None


def is_mounted(path: str, *, mounter: Mounter | None = None) -> bool:
    """Is `path` a mount point (per /proc/self/mountinfo)?"""
    m = mounter or libc_mounter()
    return os.path.realpath(path) in m.mountpoints()
