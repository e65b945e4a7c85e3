"""The build context and the file copies of COPY/ADD (blocking, file system only).

    extract_context(tar_path, dest)                    the uploaded context, safely unpacked
    sources = find_sources(ctx, ["src/*.py"], "COPY") the files a COPY names (wildcards, scoped)
    copy_sources(sources, root, "/app/", owner, mode)  write them under a root file system
    source_checksum(sources)                           "file:<hex>" / "dir:<hex>" for the cache

Every path a Dockerfile names is resolved inside its root (the context, or another stage's
root file system): "..", absolute paths and symlinks never lead outside it.
"""

from __future__ import annotations

import glob
import hashlib
import os
import posixpath
import shutil
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path

from sangja.errors import InvalidParameter
from sangja.runtime.user import resolve_in_root


def _inside(root: str, path: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def safe_extract(tf: tarfile.TarFile, dest: Path, *, as_root: bool) -> None:
    """Extract every member under `dest`, refusing any that would land outside it: absolute or
    ".." names, hard links to outside, and paths through symlinks extracted earlier. With
    `as_root`, everything becomes root's (a context's owners mean nothing in an image);
    otherwise the archive's numeric owners are kept (ADD of a local archive)."""
    root = os.path.realpath(dest)
    for member in tf:
        name = posixpath.normpath(member.name.lstrip("/"))
        if name in (".", "") or name.startswith("../") or name == "..":
            if name in (".", ""):
                continue
            raise InvalidParameter(f"invalid tar entry {member.name!r}: outside of the destination")
        parent = os.path.realpath(os.path.join(root, posixpath.dirname(name)))
        if not _inside(root, parent):
            raise InvalidParameter(f"invalid tar entry {member.name!r}: outside of the destination")
        if member.islnk():
            link = os.path.realpath(os.path.join(root, posixpath.normpath(member.linkname.lstrip("/"))))
            if not _inside(root, link):
                raise InvalidParameter(f"invalid hard link {member.name!r}: outside of the destination")
            member.linkname = os.path.relpath(link, root)
        member.name = name
        if as_root:
            member.uid = member.gid = 0
            member.uname = member.gname = "root"
        tf.extract(member, root, set_attrs=True, numeric_owner=True)


def extract_context(tar_path: Path, dest: Path) -> None:
    """Unpack the context tar (optionally compressed). InvalidParameter for a malformed one."""
    try:
        with tarfile.open(tar_path, "r:*") as tf:
            safe_extract(tf, dest, as_root=True)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise InvalidParameter(f"failed to read the build context: {exc}") from None


def read_dockerfile(ctx: Path, name: str) -> str:
    path = resolve_in_root(str(ctx), name or "Dockerfile")
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        raise InvalidParameter(
            f"Cannot locate specified Dockerfile: {name or 'Dockerfile'}"
        ) from None


@dataclass(frozen=True)
class Source:
    rel: str        # as matched, relative to the root ("." for the root itself)
    path: str       # the host path, resolved inside the root


def find_sources(root: Path, patterns: list[str], cmd: str) -> list[Source]:
    """The sources of a COPY/ADD: each pattern relative to `root`, wildcards expanded."""
    out: list[Source] = []
    for pattern in patterns:
        clean = posixpath.normpath("/" + pattern).lstrip("/") or "."
        if glob.has_magic(clean):
            matches = sorted(glob.glob(clean, root_dir=str(root), include_hidden=True))
            if not matches:
                raise InvalidParameter(f"{cmd} failed: no source files were specified")
            out += [Source(m, resolve_in_root(str(root), m)) for m in matches]
            continue
        path = resolve_in_root(str(root), clean)
        if not os.path.lexists(path):
            raise InvalidParameter(
                f"{cmd} failed: file not found in build context or excluded by .dockerignore: "
                f"stat {clean}: file does not exist"
            )
        out.append(Source(clean, path))
    return out


def source_checksum(sources: list[Source]) -> str:
    """A digest of the sources' names, modes, link targets and contents (the cache key of a
    COPY/ADD): "file:<hex>" for one file, "dir:<hex>" for one directory, "multi:<hex>"."""
    h = hashlib.sha256()

    def add(path: str, rel: str) -> None:
        st = os.lstat(path)
        h.update(f"{rel}\0{st.st_mode:o}\0".encode())
        if stat.S_ISLNK(st.st_mode):
            h.update(os.readlink(path).encode())
        elif stat.S_ISREG(st.st_mode):
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
        elif stat.S_ISDIR(st.st_mode):
            for name in sorted(os.listdir(path)):
                add(os.path.join(path, name), f"{rel}/{name}")

    for s in sources:
        add(s.path, s.rel)
    kind = "multi" if len(sources) != 1 else ("dir" if os.path.isdir(sources[0].path) else "file")
    return f"{kind}:{h.hexdigest()}"


@dataclass(frozen=True)
class Owner:
    uid: int | None = None      # None: keep root (0) as docker does without --chown
    gid: int | None = None


def _apply(path: str, owner: Owner, mode: int | None, *, is_link: bool = False) -> None:
    uid = owner.uid or 0
    os.lchown(path, uid, owner.gid if owner.gid is not None else uid)
    if mode is not None and not is_link:
        os.chmod(path, mode)


def _mkdirs(root: str, dest: str, owner: Owner) -> str:
    """Create `dest` (absolute, inside root) and its missing parents; the host path."""
    parts = [p for p in dest.split("/") if p]
    current = "/"
    for part in parts:
        current = posixpath.join(current, part)
        host = resolve_in_root(root, current)
        if not os.path.lexists(host):
            os.mkdir(host, 0o755)
            _apply(host, owner, None)
        elif not os.path.isdir(host):
            raise InvalidParameter(f"mkdir {current}: not a directory")
    return resolve_in_root(root, dest)


def _copy_entry(src: str, dst: str, owner: Owner, mode: int | None) -> None:
    st = os.lstat(src)
    if stat.S_ISDIR(st.st_mode):
        if not os.path.isdir(dst):
            if os.path.lexists(dst):
                os.unlink(dst)
            os.mkdir(dst)
        shutil.copystat(src, dst, follow_symlinks=False)
        _apply(dst, owner, mode)
        for name in sorted(os.listdir(src)):
            _copy_entry(os.path.join(src, name), os.path.join(dst, name), owner, mode)
        return
    if os.path.islink(dst) or (os.path.lexists(dst) and not os.path.isdir(dst)):
        os.unlink(dst)
    elif os.path.isdir(dst):
        shutil.rmtree(dst)
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(src), dst)
        _apply(dst, owner, None, is_link=True)
        return
    if stat.S_ISREG(st.st_mode):
        shutil.copy2(src, dst, follow_symlinks=False)
    else:
        raise InvalidParameter(f"cannot copy {os.path.basename(src)}: not a regular file, directory or symlink")
    _apply(dst, owner, mode)


def copy_sources(sources: list[Source], root: str, dest: str, workdir: str, owner: Owner,
                 mode: int | None, *, extract_archives: bool = False) -> None:
    """COPY/ADD `sources` to `dest` in the file system at `root` (moby's copier semantics):
    a directory's contents are copied, not the directory; `dest` is a directory when it
    ends with "/", already is one, or there are several sources."""
    if not dest.startswith("/"):
        dest = posixpath.join("/", workdir or "/", dest)
    into_dir = dest.endswith("/") or len(sources) > 1
    dest = posixpath.normpath(dest)
    if dest.startswith("//"):
        dest = dest[1:]
    host_dest = resolve_in_root(root, dest)
    if os.path.isdir(host_dest):
        into_dir = True
    if len(sources) > 1 and not dest.endswith("/") and os.path.lexists(host_dest) and not into_dir:
        raise InvalidParameter(
            "When using COPY with more than one source file, the destination must be a directory and end with a /"
        )
    for s in sources:
        is_dir = os.path.isdir(s.path) and not os.path.islink(s.path)
        if extract_archives and not is_dir and _is_archive(s.path):
            target = _mkdirs(root, dest, owner)
            _extract_archive(s.path, target)
            continue
        if is_dir:
            target = _mkdirs(root, dest, owner)
            if dest != "/":
                shutil.copystat(s.path, target, follow_symlinks=False)
                _apply(target, owner, mode)
            for name in sorted(os.listdir(s.path)):
                _copy_entry(os.path.join(s.path, name), os.path.join(target, name), owner, mode)
        elif into_dir:
            target = _mkdirs(root, dest, owner)
            _copy_entry(s.path, os.path.join(target, posixpath.basename(s.rel)), owner, mode)
        else:
            parent = _mkdirs(root, posixpath.dirname(dest), Owner())
            _copy_entry(s.path, os.path.join(parent, posixpath.basename(dest)), owner, mode)


def write_file(root: str, dest: str, workdir: str, name: str, content: bytes, owner: Owner,
               mode: int | None) -> None:
    """A heredoc's body as a file (COPY <<EOF /dest)."""
    if not dest.startswith("/"):
        dest = posixpath.join("/", workdir or "/", dest)
    if dest.endswith("/") or os.path.isdir(resolve_in_root(root, dest)):
        dest = posixpath.join(dest, name)
    parent = _mkdirs(root, posixpath.dirname(posixpath.normpath(dest)), Owner())
    path = os.path.join(parent, posixpath.basename(posixpath.normpath(dest)))
    with open(path, "wb") as f:
        f.write(content)
    os.chmod(path, 0o644 if mode is None else mode)
    _apply(path, owner, mode)


def _is_archive(path: str) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except OSError:
        return False


def _extract_archive(path: str, target: str) -> None:
    """ADD of a local tar (plain, gzip, bzip2 or xz): unpacked into the target directory, with
    the archive's owners and modes (moby's untar), nothing outside the target."""
    try:
        with tarfile.open(path, "r:*") as tf:
            safe_extract(tf, Path(target), as_root=False)
    except (tarfile.TarError, OSError) as exc:
        raise InvalidParameter(f"ADD failed: cannot extract {os.path.basename(path)}: {exc}") from None
