"""`sangja cp`: copy files and folders between a container and the local filesystem.

    sangja cp CONTAINER:SRC_PATH DEST_PATH|-
    sangja cp SRC_PATH|- CONTAINER:DEST_PATH

The daemon serves tars of container paths (GET /containers/{id}/archive) and extracts tars into
container directories (PUT); deciding names is the client's job, as in docker's cli/command/
container/cp.go: a directory copied to a path that does not exist takes that path's name, a
path ending in "/." copies a directory's contents, a file copied over a file replaces it.
`-` reads or writes a tar stream. Symlinks inside the container are resolved by the daemon
in the container's root; `-L` follows a symlink given as the source.
"""

from __future__ import annotations

import base64
import json
import os
import posixpath
import tarfile
import tempfile
from typing import Any

from sangja.cli.command import Cli, Spec, exact_args, quote_path
from sangja.cli.errors import CLIError, DaemonError
from sangja.cli.flags import Bool, Options
from sangja.cli.units import human_size

SPEC = Spec(
    use="[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tsangja cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
    short="Copy files/folders between a container and the local filesystem",
    flags=[
        Bool("archive", "a", "Archive mode (copy all uid/gid information)"),
        Bool("follow-link", "L", "Always follow symbol link in SRC_PATH"),
        Bool("quiet", "q", "Suppress progress output during copy. Progress output is automatically suppressed if "
                           "no terminal is attached"),
    ],
    args=exact_args(2),
    aliases="docker container cp, docker cp",
)

STAT_HEADER = "x-docker-container-path-stat"
GO_MODE_DIR = 1 << 31
GO_MODE_SYMLINK = 1 << 27


def split_cp_arg(arg: str) -> tuple[str, str]:
    """("container", "path") or ("", "local path"), like docker's splitCpArg."""
    if os.path.isabs(arg) or arg.startswith("."):
        return "", arg
    container, sep, path = arg.partition(":")
    if not sep:
        return "", arg
    return container, path


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    src_ctr, src_path = split_cp_arg(args[0])
    dst_ctr, dst_path = split_cp_arg(args[1])
    if not src_path:
        raise CLIError("source can not be empty")
    if not dst_path:
        raise CLIError("destination can not be empty")
    if src_ctr and dst_ctr:
        raise CLIError("copying between containers is not supported")
    if not src_ctr and not dst_ctr:
        raise CLIError("must specify at least one container source")
    if src_ctr:
        return _copy_from(cli, opts, src_ctr, src_path, dst_path)
    return _copy_to(cli, opts, src_path, dst_ctr, dst_path)


def _stat(cli: Cli, container: str, path: str) -> dict[str, Any]:
    resp = cli.client.request("HEAD", f"/containers/{quote_path(container)}/archive", {"path": path})
    cli.client.finish(resp)
    return _decode_stat(resp.headers.get(STAT_HEADER, ""))


def _decode_stat(raw: str) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(base64.b64decode(raw))
    except ValueError:
        raise CLIError("unable to decode container path stat header") from None
    return value if isinstance(value, dict) else {}


def _is_dir(info: dict[str, Any]) -> bool:
    return bool(int(info.get("mode", 0)) & GO_MODE_DIR)


def _resolve_local(path: str) -> str:
    """docker's resolveLocalPath: absolute, keeping a trailing "/." or "/"."""
    abs_path = os.path.abspath(path)
    if path.endswith("/.") or path == ".":
        return abs_path.rstrip("/") + "/."
    if path.endswith("/") and abs_path != "/":
        return abs_path + "/"
    return abs_path


def _err_is_terminal(cli: Cli) -> bool:
    return cli.streams.is_terminal(cli.streams.stderr)


# -- container → local ------------------------------------------------------------------------


class _Extractor(tarfile.TarFile):
    keep_owner = False

    def chown(self, tarinfo: tarfile.TarInfo, targetpath: Any, numeric_owner: bool) -> None:
        if self.keep_owner:
            super().chown(tarinfo, targetpath, True)


def _rebased(name: str, old: str, new: str) -> str | None:
    """The entry `name` with its first component `old` renamed to `new` (None: not under it)."""
    name = posixpath.normpath(name) if name.strip("/") else name
    if old == ".":
        return posixpath.join(new, name) if name not in ("", ".") else new
    if name == old:
        return new
    if name.startswith(old + "/"):
        return new + name[len(old):]
    return None


def _safe(name: str) -> bool:
    parts = name.split("/")
    return not name.startswith("/") and ".." not in parts


def _copy_from(cli: Cli, opts: Options, container: str, src: str, dst: str) -> int:
    rebase = ""
    if opts.follow_link:
        info = _stat(cli, container, src)
        if int(info.get("mode", 0)) & GO_MODE_SYMLINK and info.get("linkTarget"):
            rebase = posixpath.basename(src.rstrip("/"))
            src = str(info["linkTarget"])
    resp = cli.client.stream("GET", f"/containers/{quote_path(container)}/archive", {"path": src})
    info = _decode_stat(resp.headers.get(STAT_HEADER, ""))
    if dst == "-":
        out = cli.streams.stdout
        for chunk in resp.chunks():
            out.write(chunk)
        out.flush()
        cli.client.finish(resp)
        return 0
    src_name = str(info.get("name") or posixpath.basename(src.rstrip("/")) or ".")
    src_is_dir = _is_dir(info)
    dst_abs = _resolve_local(dst)
    contents_only = src.endswith("/.") or src == "."
    with tempfile.TemporaryFile() as spool:
        total = 0
        for chunk in resp.chunks():
            spool.write(chunk)
            total += len(chunk)
        cli.client.finish(resp)
        spool.seek(0)
        target_dir, old, new = _copy_plan(src_name, src_is_dir, contents_only, dst_abs, rebase)
        with _Extractor.open(fileobj=spool, mode="r:") as tf:
            assert isinstance(tf, _Extractor)
            tf.keep_owner = bool(opts.archive)
            members = []
            for m in tf.getmembers():
                name = _rebased(m.name, old, new) if new else m.name
                if name is None or not _safe(name):
                    continue
                m.name = name
                if m.islnk():
                    linked = _rebased(m.linkname, old, new) if new else m.linkname
                    if linked is None or not _safe(linked):
                        continue
                    m.linkname = linked
                members.append(m)
            root = os.path.realpath(target_dir)
            dirs = []
            for m in members:
                # Never write through a symlink that leads out of the destination.
                parent = os.path.realpath(os.path.join(root, os.path.dirname(m.name)))
                if parent != root and not parent.startswith(root + "/"):
                    raise CLIError(f"failed to copy: {m.name!r} would be written outside {target_dir}")
                if m.issym() and not m.linkname.startswith("/"):
                    # Like docker: a relative link that climbs out of the destination is refused.
                    target = os.path.normpath(os.path.join(parent, m.linkname))
                    if target != root and not target.startswith(root + "/"):
                        raise CLIError(f'invalid symlink "{os.path.join(root, m.name)}" -> "{m.linkname}"')
                try:
                    tf.extract(m, root, set_attrs=not m.isdir(), numeric_owner=True)
                except OSError as exc:
                    raise CLIError(f"failed to copy: {exc.strerror or exc}") from None
                if m.isdir():
                    dirs.append(m)
            for m in reversed(dirs):  # directory metadata last, as tar does
                path = os.path.join(root, m.name)
                tf.chown(m, path, True)
                tf.chmod(m, path)
                tf.utime(m, path)
    if not opts.quiet and _err_is_terminal(cli):
        cli.err(f"Successfully copied {human_size(total)} to {dst}")
    return 0


def _copy_plan(src_name: str, src_is_dir: bool, contents_only: bool, dst: str, rebase: str) -> tuple[str, str, str]:
    """(directory to extract into, first component to rename, its new name or "")."""
    dst_clean = dst.rstrip("/") if dst != "/" else "/"
    if dst_clean.endswith("/."):
        dst_clean = dst_clean[:-2] or "/"
    exists = os.path.lexists(dst_clean)
    dst_is_dir = os.path.isdir(dst_clean)
    old = src_name
    if exists and dst_is_dir and not contents_only:
        return dst_clean, old, rebase
    if exists and not dst_is_dir:
        if src_is_dir:
            raise CLIError("cannot copy a directory to a file")
        return os.path.dirname(dst_clean) or "/", old, os.path.basename(dst_clean)
    if exists and contents_only:
        return dst_clean, ".", "."
    # The destination does not exist: the source takes its name.
    if dst.endswith("/") and not src_is_dir:
        raise CLIError(f'destination "{dst}" must be a directory')
    parent = os.path.dirname(dst_clean) or "/"
    if not os.path.isdir(parent):
        raise CLIError(f"no such directory: {parent}" if not os.path.exists(parent)
                       else f"not a directory: {parent}")
    return parent, ("." if contents_only else old), os.path.basename(dst_clean)


# -- local → container ------------------------------------------------------------------------


def _copy_to(cli: Cli, opts: Options, src: str, container: str, dst: str) -> int:
    query_base = {"copyUIDGID": "true" if opts.archive else None}
    if src == "-":
        resp = cli.client.request("PUT", f"/containers/{quote_path(container)}/archive",
                                  {"path": dst, **query_base}, raw_body=cli.streams.stdin,
                                  content_type="application/x-tar")
        resp.read()
        cli.client.finish(resp)
        return 0
    src_abs = _resolve_local(src)
    src_clean = src_abs[:-2] if src_abs.endswith("/.") else src_abs.rstrip("/") or "/"
    try:
        st = os.stat(src_clean) if opts.follow_link else os.lstat(src_clean)
    except OSError:
        raise CLIError(f"lstat {src_clean}: no such file or directory") from None
    src_is_dir = os.path.isdir(src_clean) if opts.follow_link else (st.st_mode & 0o170000) == 0o040000
    contents_only = src_abs.endswith("/.")
    dst_info: dict[str, Any] | None
    try:
        dst_info = _stat(cli, container, dst)
        if int(dst_info.get("mode", 0)) & GO_MODE_SYMLINK and dst_info.get("linkTarget"):
            # A symlink as the destination: its target (resolved in the container) is meant.
            dst = str(dst_info["linkTarget"])
            dst_info = _stat(cli, container, dst)
    except DaemonError as exc:
        if not exc.not_found:
            raise
        dst_info = None
    if dst_info is not None and _is_dir(dst_info):
        put_dir, name = dst, "." if contents_only else os.path.basename(src_clean)
    elif dst_info is not None:
        if src_is_dir:
            raise CLIError(f'cannot copy directory "{src}" to a file "{dst}"')
        put_dir, name = posixpath.dirname(dst.rstrip("/")) or "/", posixpath.basename(dst.rstrip("/"))
    else:
        if dst.endswith("/"):
            raise CLIError(f'destination "{container}:{dst}" must be a directory')
        put_dir, name = posixpath.dirname(dst) or "/", posixpath.basename(dst)
    with tempfile.TemporaryFile() as spool:
        with tarfile.open(fileobj=spool, mode="w:", format=tarfile.PAX_FORMAT) as tf:
            if contents_only and name == ".":
                for entry in sorted(os.listdir(src_clean)):
                    tf.add(os.path.join(src_clean, entry), arcname=entry, recursive=True)
            else:
                top = os.path.realpath(src_clean) if opts.follow_link else src_clean
                tf.add(top, arcname=name, recursive=True)
        size = spool.tell()
        spool.seek(0)
        resp = cli.client.request("PUT", f"/containers/{quote_path(container)}/archive",
                                  {"path": put_dir, **query_base}, raw_body=spool,
                                  content_type="application/x-tar")
        resp.read()
        cli.client.finish(resp)
    if not opts.quiet and _err_is_terminal(cli):
        cli.err(f"Successfully copied {human_size(size)} to {container}:{dst}")
    return 0
