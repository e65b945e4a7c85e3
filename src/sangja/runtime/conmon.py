"""The runtime adapter: each container runs under its own conmon, which runs runc.

A thin wrapper (CONMON-NOTES.md has the measured facts it relies on). No container state is
kept here: everything is read back from the files conmon and runc leave, so a restarted
daemon (a new ConmonRuntime on the same exec root) re-adopts running containers.

Layout under exec_root (keep it short: conmon's attach socket path must stay < 108 bytes):
    c/<id>/               the container's directory, conmon's cwd (its stray `oom` file lands here)
        bundle/           config.json; conmon adds ctl (FIFO), winsz, attach (socket)
        persist/          conmon's exit and oom files
        conmon.pid        the long-lived conmon's PID
        pidfile           the container's init PID (written by runc)
    exits/<id>            the exit code, decimal, no newline (watched by ExitWatcher)
    s/<id>                symlink to c/<id>/bundle: clients connect to s/<id>/attach
    runc/                 runc's --root: its state for this daemon only
    bin/runc              symlink to runc's sealed copy (host/sealed_binary.py), given to conmon

Lifecycle: create() (runc create under conmon, process waiting) → start() (runc start) →
the process exits: conmon writes exits/<id> and leaves → delete() removes every trace
(or delete_soon(), which does it in the background).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import shutil
import socket
from pathlib import Path
from typing import Any

from sangja.errors import Conflict, InvalidParameter, System
from sangja.host import proc
from sangja.host.cgroups import Cgroups
from sangja.host.sealed_binary import runtime_link
from sangja.runtime.runc import CreateFailed, NotRunning, Runc, clean_runc_message
from sangja.runtime.types import LaunchOptions, RuntimeState, RuntimeStatus

__all__ = ["ConmonRuntime", "CreateFailed", "NotRunning"]

log = logging.getLogger(__name__)

MINIMAL_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SYNC_TIMEOUT = 120.0         # runc create of any sane container is far below this
MONITOR_EXIT_WAIT = 2.0      # how long delete() waits for conmon to leave after the container died
POLL = 0.005
UNIX_PATH_MAX = 108
INITIAL_TTY = (24, 80)       # a new pty is 0x0; Docker's clients resize right after start anyway
_STATES: dict[str, RuntimeState] = {"created": "created", "running": "running", "paused": "paused",
                                    "stopped": "stopped", "creating": "created"}


def _valid_id(cid: str) -> str:
    if not cid or len(cid) > 1024 or cid.startswith(".") or not all(c.isalnum() or c in "_-." for c in cid):
        raise InvalidParameter(f"invalid container id {cid!r}")
    return cid


class ConmonRuntime:
    """Containers under conmon + runc, rooted at `exec_root` (one per daemon)."""

    def __init__(self, exec_root: Path, runtime: str = "runc", conmon: str = "conmon",
                 cgroup_parent: str = "/sangja", cgroups: Cgroups | None = None) -> None:
        self.exec_root = Path(os.path.abspath(exec_root))
        self.runtime_path = _which(runtime)
        self.conmon_path = _which(conmon)
        self.cgroup_parent = "/" + cgroup_parent.strip("/")
        self.containers_dir = self.exec_root / "c"
        self.exits_dir = self.exec_root / "exits"
        self.sockets_dir = self.exec_root / "s"
        self.runc_root = self.exec_root / "runc"
        for d in (self.exec_root, self.containers_dir, self.exits_dir, self.sockets_dir, self.runc_root):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.runc = Runc(self.runtime_path, self.runc_root)
        self.cgroups = cgroups if cgroups is not None else Cgroups()
        self._parent_ready = False
        self._deleting: dict[str, asyncio.Task[None]] = {}

    # -- paths --------------------------------------------------------------------------------

    def container_dir(self, cid: str) -> Path:
        return self.containers_dir / _valid_id(cid)

    def bundle_dir(self, cid: str) -> Path:
        return self.container_dir(cid) / "bundle"

    def attach_socket(self, cid: str) -> str:
        """Path of conmon's attach socket (SOCK_SEQPACKET). See `connect_attach` for long paths."""
        return str(self.sockets_dir / _valid_id(cid) / "attach")

    def list_ids(self) -> list[str]:
        """IDs with a directory under exec_root/c (created, running, or not yet deleted)."""
        try:
            return sorted(p.name for p in self.containers_dir.iterdir() if p.is_dir())
        except FileNotFoundError:
            return []

    # -- create -------------------------------------------------------------------------------

    async def create(self, cid: str, spec: dict[str, Any], opts: LaunchOptions) -> int:
        """Create the container under a new conmon; it waits for start(). Returns its init PID.

        Raises Conflict if the ID is live in this runtime, CreateFailed if runc refused
        (everything created is removed again).
        """
        d = self.container_dir(cid)
        await self._settle(cid)
        if (self.runc_root / cid).exists() or self._monitor_alive(cid):
            raise Conflict(f"container with given ID already exists: {cid}")
        root = spec.get("root", {}).get("path", "")
        if not os.path.isabs(root):
            raise InvalidParameter(f"the OCI spec's root.path must be absolute: {root!r}")
        if ":" in opts.log_path or not os.path.isabs(opts.log_path):
            # conmon cuts a --log-path at its first ":" (CONMON-NOTES §2).
            raise InvalidParameter(f"log path must be absolute and without ':': {opts.log_path}")
        self._remove_files(cid)            # leftovers of an earlier run with this ID
        self._ensure_cgroup_parent()

        bundle = d / "bundle"
        (d / "persist").mkdir(parents=True, exist_ok=True)
        bundle.mkdir(exist_ok=True)
        Path(opts.log_path).parent.mkdir(parents=True, exist_ok=True)
        (bundle / "config.json").write_text(json.dumps(spec, separators=(",", ":")))
        try:
            pid = await self._launch(cid, opts)
        except BaseException:
            await self._cleanup_failed(cid)
            raise
        if opts.tty:
            with contextlib.suppress(NotRunning, System):
                self.resize(cid, *INITIAL_TTY)
        return pid

    def _conmon_args(self, cid: str, opts: LaunchOptions) -> list[str]:
        d = self.container_dir(cid)
        args = [
            self.conmon_path, "--api-version", "1",
            "--cid", cid, "--cuuid", cid, "--name", cid,
            # runc's sealed copy (host/sealed_binary.py): `runc init` skips copying itself.
            "--runtime", runtime_link(self.runtime_path, self.exec_root / "bin"),
            "--runtime-arg", "--root", "--runtime-arg", str(self.runc_root),
            "--bundle", str(d / "bundle"),
            "--container-pidfile", str(d / "pidfile"),
            "--conmon-pidfile", str(d / "conmon.pid"),
            "--persist-dir", str(d / "persist"),
            "--exit-dir", str(self.exits_dir),
            "--socket-dir-path", str(self.sockets_dir),
            "--log-path", f"k8s-file:{opts.log_path}",
            # No fsync of the log on reopen or exit: Docker's json-file doesn't either, and
            # under I/O load the fsync stalls conmon (and the container's output) for 100s of ms.
            "--no-sync-log",
        ]
        if opts.log_size_max > 0:
            args += ["--log-size-max", str(opts.log_size_max)]
        if opts.tty:
            # With a pty, input goes through it and survives detaches without --stdin (§4).
            args.append("--terminal")
        elif opts.stdin:
            args.append("--stdin")
            if not opts.stdin_once:
                args.append("--leave-stdin-open")
        for key, value in opts.extra.items():
            args += [key, value] if value else [key]
        return args

    async def _launch(self, cid: str, opts: LaunchOptions) -> int:
        """conmon with sync + start pipes (CONMON-NOTES §1, §9); returns the container PID."""
        d = self.container_dir(cid)
        sync_parent, sync_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        start_parent, start_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            env = {
                "PATH": MINIMAL_PATH,
                "_OCI_SYNCPIPE": str(sync_child.fileno()),
                "_OCI_STARTPIPE": str(start_child.fileno()),
            }
            first = await asyncio.create_subprocess_exec(
                *self._conmon_args(cid, opts),
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                cwd=str(d), env=env, pass_fds=(sync_child.fileno(), start_child.fileno()),
                start_new_session=True,
            )
            sync_child.close()
            start_child.close()
            start_parent.send(b"\0")
            _, stderr = await first.communicate()
            if first.returncode != 0:
                text = stderr.decode("utf-8", "replace").strip()
                raise CreateFailed(f"conmon failed: {text or f'exit status {first.returncode}'}", kind="")
            # The long-lived monitor leaves the daemon's cgroup (a service manager stopping the
            # daemon must not kill it) while runc creates the container: a cgroup v1 migration
            # waits for an RCU grace period (5-20 ms here), which is not worth waiting for
            # first. The container's own processes never live in the daemon's cgroup: runc puts
            # its init into the container's cgroup.
            mover = asyncio.ensure_future(asyncio.to_thread(self._move_monitor, cid))
            try:
                return await self._read_sync(sync_parent)
            finally:
                await mover
        finally:
            for s in (sync_parent, sync_child, start_parent, start_child):
                s.close()

    def _move_monitor(self, cid: str) -> None:
        pid = self._conmon_pid(cid)  # written by the first conmon before it exited
        if pid:
            self.cgroups.move_to_conmon_cgroup(pid, self.cgroup_parent)

    async def _read_sync(self, sock: socket.socket) -> int:
        """Read conmon's `{"data": pid}` (or `{"data": -1, "message": ...}`) from the sync pipe."""
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        try:
            raw = await asyncio.wait_for(loop.sock_recv(sock, 65536), SYNC_TIMEOUT)
        except TimeoutError:
            raise CreateFailed("timed out waiting for the OCI runtime to create the container", kind="") \
                from None
        if not raw:
            raise CreateFailed("conmon exited before reporting the container's PID", kind="")
        try:
            msg = json.loads(raw.decode("utf-8", "replace").strip().splitlines()[0])
            pid = int(msg.get("data", msg.get("pid", -1)))
        except (ValueError, IndexError, AttributeError, TypeError):
            raise CreateFailed(f"unexpected message from conmon: {raw[:200]!r}", kind="") from None
        if pid <= 0:
            raise CreateFailed(clean_runc_message(str(msg.get("message") or "")) or "runc create failed")
        return pid

    async def _cleanup_failed(self, cid: str) -> None:
        with contextlib.suppress(Exception):
            await self.delete(cid)

    def _ensure_cgroup_parent(self) -> None:
        if not self._parent_ready:
            with contextlib.suppress(OSError):
                self.cgroups.ensure_parent(self.cgroup_parent)
            self._parent_ready = True

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self, cid: str) -> None:
        """Let the created container's process run (`runc start`)."""
        await self.runc.check("start", _valid_id(cid))

    async def kill(self, cid: str, signal: int) -> None:
        """Send `signal` to the container's init. NotRunning if it has no running process."""
        try:
            await self.runc.check("kill", _valid_id(cid), str(int(signal)))
        except NotRunning:
            raise NotRunning(f"Container {cid} is not running") from None

    async def pause(self, cid: str) -> None:
        try:
            await self.runc.check("pause", _valid_id(cid))
        except NotRunning:
            raise NotRunning(f"Container {cid} is not running") from None

    async def resume(self, cid: str) -> None:
        try:
            await self.runc.check("resume", _valid_id(cid))
        except NotRunning:
            raise NotRunning(f"Container {cid} is not paused") from None

    async def delete(self, cid: str) -> None:
        """Remove every trace of the container (killing it if needed). Idempotent."""
        _valid_id(cid)
        await self._settle(cid)
        await self._delete_now(cid)

    def delete_soon(self, cid: str) -> None:
        """delete() in the background, for a container whose process has exited.

        `runc delete` and conmon's leaving take ~10 ms that nobody needs to wait for: the
        daemon's record of the container is already right. create() and delete() of the same
        ID wait for it, drain() at shutdown; a daemon killed meanwhile deletes the leftovers
        when it starts again (list_ids() still shows the ID).
        """
        _valid_id(cid)
        if cid in self._deleting:
            return
        task = asyncio.get_running_loop().create_task(self._delete_logged(cid))
        self._deleting[cid] = task
        task.add_done_callback(lambda done: self._deleting.pop(cid, None) if self._deleting.get(cid) is done
                               else None)

    async def drain(self) -> None:
        """Wait for the deletes delete_soon() started."""
        while self._deleting:
            await asyncio.gather(*self._deleting.values(), return_exceptions=True)

    async def _settle(self, cid: str) -> None:
        pending = self._deleting.get(cid)
        if pending is not None:
            await asyncio.shield(pending)

    async def _delete_logged(self, cid: str) -> None:
        try:
            await self._delete_now(cid)
        except Exception as exc:  # the next delete() or the daemon's next start tries again
            log.warning("deleting the runtime state of %s failed: %s", cid[:12], exc)

    async def _delete_now(self, cid: str) -> None:
        spec = self._spec(cid)
        cgroups_path = str((spec or {}).get("linux", {}).get("cgroupsPath") or "")
        # runc keeps its state in <root>/<id>: without it there is nothing for runc to delete, and
        # skipping the call saves a process spawn on every second delete (exit, then rm).
        if (self.runc_root / cid).exists():
            rc, _, err = await self.runc.run("delete", "-f", cid)
            if rc != 0:
                message = clean_runc_message(err.decode("utf-8", "replace"))
                if "does not exist" not in message:
                    raise System(f"cannot delete container {cid}: {message}")
        await self._wait_monitor_gone(cid)
        self._remove_files(cid)
        if cgroups_path:
            with contextlib.suppress(OSError, ValueError):
                self.cgroups.remove(cgroups_path, stop_at=self.cgroup_parent)

    async def _wait_monitor_gone(self, cid: str) -> None:
        """conmon leaves right after writing the exit file; don't remove files under it."""
        pid = self._conmon_pid(cid)
        if not pid:
            return
        for _ in range(int(MONITOR_EXIT_WAIT / POLL)):
            if not proc.is_alive(pid, b"--cid", cid.encode()):
                return
            await asyncio.sleep(POLL)
        # A monitor with no container left is useless; SIGTERM would be forwarded, so KILL.
        if proc.is_alive(pid, b"--cid", cid.encode()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)

    def _remove_files(self, cid: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.exits_dir / cid).unlink()
        with contextlib.suppress(FileNotFoundError):
            (self.sockets_dir / cid).unlink()
        shutil.rmtree(self.container_dir(cid), ignore_errors=True)

    # -- state --------------------------------------------------------------------------------

    async def status(self, cid: str) -> RuntimeStatus:
        """What is really there (CONMON-NOTES §6). `runc state` only runs when no exit file exists."""
        d = self.container_dir(cid)
        alive = self._monitor_alive(cid)
        pid = _read_int(d / "pidfile") or 0
        oom = (d / "persist" / "oom").exists() or (d / "oom").exists()
        exit_file = self.exits_dir / cid
        code = self.exit_code(cid)
        if code is not None:
            try:
                finished: float | None = exit_file.stat().st_mtime
            except FileNotFoundError:
                finished = None
            return RuntimeStatus("stopped", pid, code, oom, alive, finished)
        if not d.exists() and not (self.runc_root / cid).exists():
            return RuntimeStatus("gone", monitor_alive=alive)
        rc, out, _ = await self.runc.run("state", cid)
        if rc != 0:
            return RuntimeStatus("gone", pid, None, oom, alive)
        try:
            state = json.loads(out)
        except ValueError:
            raise System(f"unreadable runc state for {cid}: {out[:200]!r}") from None
        return RuntimeStatus(_STATES.get(str(state.get("status")), "stopped"),
                             int(state.get("pid") or pid), None, oom, alive)

    def exit_code(self, cid: str) -> int | None:
        """The code in conmon's exit file, None if the container hasn't exited (or was deleted)."""
        return _read_int(self.exits_dir / _valid_id(cid))

    def monitor_pid(self, cid: str) -> int:
        return self._conmon_pid(cid)

    def _conmon_pid(self, cid: str) -> int:
        return _read_int(self.container_dir(cid) / "conmon.pid") or 0

    def _monitor_alive(self, cid: str) -> bool:
        pid = self._conmon_pid(cid)
        return bool(pid) and proc.is_alive(pid, b"--cid", cid.encode())

    def _spec(self, cid: str) -> dict[str, Any] | None:
        try:
            spec = json.loads((self.bundle_dir(cid) / "config.json").read_text())
        except (OSError, ValueError):
            return None
        return spec if isinstance(spec, dict) and isinstance(spec.get("linux", {}), dict) else None

    async def top(self, cid: str) -> list[int]:
        """PIDs (host namespace) of the container's processes."""
        out = await self.runc.check("ps", "--format", "json", _valid_id(cid))
        try:
            pids = json.loads(out or b"null")
        except ValueError:
            raise System(f"unreadable runc ps output for {cid}") from None
        return [int(p) for p in pids or []]

    async def update(self, cid: str, resources: dict[str, Any]) -> None:
        """Apply new cgroup limits (OCI LinuxResources) to a created/running container: `runc update -r`."""
        path = self.container_dir(cid) / "update-resources.json"
        path.write_text(json.dumps(resources))
        try:
            await self.runc.check("update", "-r", str(path), _valid_id(cid))
        finally:
            path.unlink(missing_ok=True)

    # -- conmon's control FIFO ----------------------------------------------------------------

    def _write_ctl(self, cid: str, message: str) -> None:
        """One message per write(): conmon applies only the first of several in one read (§4)."""
        path = self.bundle_dir(cid) / "ctl"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as e:
            if e.errno in (errno.ENOENT, errno.ENXIO):
                raise NotRunning(f"Container {cid} is not running") from None
            raise System(f"cannot open conmon's control FIFO: {e.strerror}") from None
        try:
            os.write(fd, message.encode())
        except OSError as e:
            raise System(f"cannot write conmon's control FIFO: {e.strerror}") from None
        finally:
            os.close(fd)

    def resize(self, cid: str, height: int, width: int) -> None:
        """Resize the container's pty (ignored by conmon without a tty)."""
        self._write_ctl(cid, f"1 {int(height)} {int(width)}\n")

    def reopen_log(self, cid: str) -> None:
        """Make conmon reopen its log file (after the caller renamed it away)."""
        self._write_ctl(cid, "2 0 0\n")

    def connect_attach(self, cid: str) -> socket.socket:
        """A connected SOCK_SEQPACKET socket to conmon's attach socket, whatever the path length.

        Paths of 108 bytes and more are reached through /proc/self/fd/<dirfd>/attach (§4).
        """
        path = self.attach_socket(cid)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        try:
            if len(os.fsencode(path)) < UNIX_PATH_MAX:
                sock.connect(path)
            else:
                dir_fd = os.open(os.path.dirname(path), os.O_PATH | os.O_CLOEXEC)
                try:
                    sock.connect(f"/proc/self/fd/{dir_fd}/attach")
                finally:
                    os.close(dir_fd)
        except OSError:
            sock.close()
            raise
        return sock


def _which(program: str) -> str:
    path = program if os.path.isabs(program) else shutil.which(program)
    if not path or not os.access(path, os.X_OK):
        raise System(f"{program}: executable file not found in $PATH")
    return os.path.abspath(path)


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        return int(text)
    except ValueError:
        return None
