"""Daemons under test: sangjad (what CI tests) and Debian's dockerd (the reference).

Lifecycle of a spawned daemon:

    d = SangjaDaemon.create()      # /tmp/sj-XXXXXXXX/{sock,data,run,pid,log}: short unix socket path
    d.start()                      # Popen as our child, poll GET /_ping until ready (bounded)
    ... tests ...
    d.kill9(); d.start()           # crash and restart on the same roots (re-adoption tests)
    leaks = d.close()              # remove all containers via the API, SIGTERM (SIGKILL after a
                                   # bound), reap, report + clear leftovers, delete the temp dir

Containers outlive sangjad by design (conmon holds them), which is why `close` removes
every container through the API *before* stopping the daemon. `ExternalDaemon` wraps a
daemon someone else runs (SANGJA_E2E_SOCKET): it is never stopped, restarted or cleaned.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any, Self

from tests.support import leaks, netleaks, unixhttp
from tests.support.commands import venv_script

START_TIMEOUT = float(os.environ.get("SANGJA_E2E_START_TIMEOUT", "60"))
STOP_TIMEOUT = 30.0


class DaemonError(AssertionError):
    """The daemon did not start, died, or refused a harness call; the message carries its log."""


class Daemon:
    """A Docker-API daemon the tests talk to over a Unix socket."""

    kind = "daemon"            # "sangjad" or "dockerd"
    restartable = False        # kill9()/start() are available
    data_root = ""
    exec_root = ""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path

    @property
    def host(self) -> str:
        return f"unix://{self.socket_path}"

    # -- life cycle (spawned daemons override) -------------------------------------------
    def alive(self) -> bool:
        return unixhttp.ping(self.socket_path)

    def start(self) -> None:
        raise DaemonError(f"{self!r} cannot be started by the harness")

    def kill9(self) -> None:
        raise DaemonError(f"{self!r} cannot be killed by the harness")

    def close(self) -> leaks.Leaks:
        return leaks.Leaks()

    def pids(self) -> set[int]:
        """PIDs that belong to the daemon itself (not to containers)."""
        return set()

    def log_tail(self, lines: int = 80) -> str:
        return ""

    def tolerated(self, found: leaks.Leaks) -> leaks.Leaks:
        """`found` without what this kind of daemon leaves by design (not a test's leak)."""
        return found

    # -- API helpers the harness needs ---------------------------------------------------
    def api(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        timeout: float = 60.0,
        content_type: str | None = None,
    ) -> bytes:
        headers = {"Content-Type": content_type} if content_type else {}
        try:
            return unixhttp.call(self.socket_path, method, path, body=body, headers=headers, timeout=timeout)
        except OSError as exc:
            raise DaemonError(f"{method} {path}: {exc}\n{self.log_tail()}") from None

    def post_json(self, path: str, payload: dict[str, Any], timeout: float = 60.0) -> Any:
        """POST a JSON body (as the docker CLI does: Content-Type application/json); the decoded answer."""
        raw = self.api("POST", path, json.dumps(payload).encode(), timeout, content_type="application/json")
        return json.loads(raw) if raw.strip() else None

    def get_json(self, path: str, timeout: float = 60.0) -> Any:
        return json.loads(self.api("GET", path, timeout=timeout))

    def container_ids(self) -> list[str]:
        return [c["Id"] for c in self.get_json("/containers/json?all=1")]

    def image_ids(self) -> list[str]:
        return [i["Id"] for i in self.get_json("/images/json?all=1")]

    def event_container_ids(self) -> set[str]:
        """IDs of every container the daemon's event history mentions (created and maybe removed)."""
        until = time.time()
        try:
            raw = self.api("GET", f"/events?since=0&until={until:.9f}", timeout=10)
        except (DaemonError, unixhttp.ApiError):
            return set()  # bookkeeping only: a daemon without events still gets its containers listed
        ids = set()
        for line in raw.decode(errors="replace").splitlines():
            line = line.strip()
            if not line:
                continue
            event = json.loads(line)
            if event.get("Type") == "container":
                ids.add(event.get("Actor", {}).get("ID") or event.get("id", ""))
        ids.discard("")
        return ids

    def remove_containers(self, ids: list[str]) -> None:
        """Force-remove containers (and their anonymous volumes); a vanished one is fine."""
        for cid in ids:
            try:
                unixhttp.call(self.socket_path, "DELETE", f"/containers/{cid}?force=1&v=1", timeout=90)
            except unixhttp.ApiError as exc:
                if exc.status != 404:
                    raise DaemonError(f"removing container {cid}: {exc}\n{self.log_tail()}") from None

    def remove_images(self, ids: list[str]) -> None:
        for iid in ids:
            try:
                unixhttp.call(self.socket_path, "DELETE", f"/images/{iid}?force=1", timeout=90)
            except unixhttp.ApiError as exc:
                if exc.status != 404:
                    raise DaemonError(f"removing image {iid}: {exc}\n{self.log_tail()}") from None

    def import_image(self, tar_path: Path, repo: str, tag: str = "latest", changes: tuple[str, ...] = ()) -> str:
        """POST /images/create?fromSrc=- as `docker import -c ... FILE repo:tag` does; returns the ID."""
        query = [("fromSrc", "-"), ("repo", repo), ("tag", tag)] + [("changes", c) for c in changes]
        path = "/images/create?" + urllib.parse.urlencode(query)
        raw = self.api("POST", path, body=tar_path.read_bytes(), timeout=120, content_type="application/x-tar")
        for line in raw.decode(errors="replace").splitlines():
            if line.strip() and "error" in json.loads(line):
                raise DaemonError(f"import {repo}:{tag} failed: {line}")
        inspect = self.get_json(f"/images/{repo}:{tag}/json")
        return str(inspect["Id"])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.socket_path})"


class ExternalDaemon(Daemon):
    """A daemon started by someone else (SANGJA_E2E_SOCKET); the harness only talks to it."""

    def __init__(self, socket_path: str, kind: str) -> None:
        super().__init__(socket_path)
        self.kind = kind


class SpawnedDaemon(Daemon):
    """A daemon the harness starts as its own child process, on roots of its own."""

    restartable = True

    def __init__(self, base_dir: str) -> None:
        self.base_dir = base_dir
        super().__init__(os.path.join(base_dir, "sock"))
        self.data_root = os.path.join(base_dir, "data")
        self.exec_root = os.path.join(base_dir, "run")
        self.pidfile = os.path.join(base_dir, "pid")
        self.log_path = os.path.join(base_dir, "log")
        self.proc: subprocess.Popen[bytes] | None = None
        self.seen_container_ids: set[str] = set()

    @classmethod
    def create(cls, **kwargs: Any) -> Self:
        # /tmp/sj-XXXXXXXX keeps every socket path under the 108-byte sun_path limit.
        return cls(tempfile.mkdtemp(prefix="sj-", dir="/tmp"), **kwargs)

    def argv(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        env["PATH"] = os.environ.get("PATH", os.defpath) + ":/usr/sbin:/sbin"
        return env

    def start(self) -> None:
        """Start the daemon and wait (bounded) until it answers /_ping."""
        if self.proc is not None and self.proc.poll() is None:
            raise DaemonError(f"{self!r} is already running")
        os.makedirs(self.data_root, exist_ok=True)
        os.makedirs(self.exec_root, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"=== starting {' '.join(self.argv())}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                self.argv(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env(),
                start_new_session=True,  # a ^C to pytest must not hit the daemon first
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise DaemonError(f"{self.kind} exited with {self.proc.returncode} while starting\n{self.log_tail()}")
            if os.path.exists(self.socket_path) and unixhttp.ping(self.socket_path):
                return
            time.sleep(0.05)
        self._terminate()
        raise DaemonError(f"{self.kind} did not answer /_ping within {START_TIMEOUT}s\n{self.log_tail()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and super().alive()

    def pids(self) -> set[int]:
        if self.proc is None or self.proc.poll() is not None:
            return set()
        found = {self.proc.pid}
        # dockerd runs containerd as its child; it is part of the daemon, not a leak.
        for pid, cmd in leaks.processes_mentioning(self.exec_root):
            if cmd.split(" ", 1)[0].endswith("/containerd") or cmd.startswith("containerd "):
                found.add(pid)
        return found

    def kill9(self) -> None:
        """SIGKILL the daemon (a crash) and reap it; containers stay as they are."""
        if self.proc is None:
            raise DaemonError(f"{self!r} is not running")
        self.remember_containers()
        own = self.pids()
        self.proc.kill()
        self.proc.wait(timeout=STOP_TIMEOUT)
        # dockerd's containerd dies with it but lingers as a zombie until PID 1 reaps it,
        # and a restarted dockerd would take that PID for a live containerd.
        deadline = time.monotonic() + STOP_TIMEOUT
        while any(os.path.exists(f"/proc/{pid}") for pid in own) and time.monotonic() < deadline:
            time.sleep(0.1)

    def remember_containers(self) -> None:
        """Note every container ID the daemon knows, for the leak check after it is gone."""
        try:
            self.seen_container_ids |= set(self.container_ids()) | self.event_container_ids()
        except (DaemonError, unixhttp.ApiError, ValueError):
            pass  # a daemon that cannot answer leaves nothing more to learn

    def _terminate(self) -> None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT; always reaps."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with open(self.log_path, "ab") as log:
                log.write(f"=== harness: no exit {STOP_TIMEOUT}s after SIGTERM, sending SIGKILL\n".encode())
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)

    def stop(self) -> None:
        """Remove every container through the API, then stop the daemon by PID."""
        if self.proc is not None and self.proc.poll() is None:
            self.remember_containers()
            if super().alive():
                self.remove_containers(self.container_ids())
        self._terminate()

    def close(self) -> leaks.Leaks:
        """Stop, then find and clear leftovers and delete the temp dir. Returns what leaked."""
        try:
            self.stop()
        finally:
            found = leaks.find(self.data_root, self.exec_root, self.seen_container_ids, tolerate=self.tolerated)
            leaks.clean(found)
            leaks.clean(leaks.snapshot(self.data_root, self.exec_root))  # what tolerated() let through
            leaks.safe_rmtree(self.base_dir)
        return found

    def log_tail(self, lines: int = 80) -> str:
        try:
            text = Path(self.log_path).read_text(errors="replace")
        except OSError:
            return "(no daemon log)"
        tail = "\n".join(text.splitlines()[-lines:])
        return f"--- last {lines} lines of {self.log_path} ---\n{tail}"


class SangjaDaemon(SpawnedDaemon):
    kind = "sangjad"

    def __init__(self, base_dir: str, runtime: str | None = None) -> None:
        super().__init__(base_dir)
        self.runtime = runtime if runtime is not None else os.environ.get("SANGJA_E2E_RUNTIME")
        # A bridge (and nft table) of this daemon's own: test daemons run side by side.
        self.bridge = "sjt" + os.path.basename(base_dir)[3:][:11]
        # Where the embedded DNS forwards names it does not know: no nameserver unless a test
        # writes its fake upstream's address here, so no query leaves the machine.
        self.upstream_resolv_conf = os.path.join(base_dir, "upstream-resolv.conf")
        Path(self.upstream_resolv_conf).touch()

    def argv(self) -> list[str]:
        argv = [
            venv_script("sangjad"),
            "-H", self.host,
            "--data-root", self.data_root,
            "--exec-root", self.exec_root,
            "--pidfile", self.pidfile,
            "--log-level", "debug",
            "--bridge", self.bridge,
            "--resolv-conf", self.upstream_resolv_conf,
        ]
        if self.runtime:
            argv += ["--runtime", self.runtime]
        return argv

    def close(self) -> leaks.Leaks:
        """As SpawnedDaemon.close, and the bridge, veths and nft table must be gone too, and
        the bridges of the user-defined networks it has on record (read before its roots go)."""
        user_bridges = netleaks.user_bridges(self.data_root)
        found = super().close()
        found.network += netleaks.clean(self.bridge)
        found.network += netleaks.clean_user_bridges(user_bridges)
        return found


class DockerDaemon(SpawnedDaemon):
    """Debian's dockerd (docker.io) on private roots, with no bridge and no iptables.

    --live-restore makes running containers survive a dockerd crash, which is what sangjad
    does by design; the re-adoption tests compare against that mode.
    """

    kind = "dockerd"

    def argv(self) -> list[str]:
        return [
            "dockerd",
            "-H", self.host,
            "--data-root", self.data_root,
            "--exec-root", self.exec_root,
            "--pidfile", self.pidfile,
            "--bridge", "none",
            "--iptables=false",
            "--ip6tables=false",
            "--live-restore",
        ]

    def tolerated(self, found: leaks.Leaks) -> leaks.Leaks:
        # dockerd leaves its own bind mount of the data root and the default netns file
        # mounted after a clean stop; that is dockerd's behaviour, not a test's leak.
        own = {self.data_root, os.path.join(self.exec_root, "netns", "default")}
        return leaks.Leaks(
            mounts=[m for m in found.mounts if m not in own],
            processes=found.processes,
            cgroups=found.cgroups,
        )


def target_kind() -> str:
    """The daemon the e2e suite targets: $SANGJA_E2E_TARGET, "sangjad" (default) or "dockerd"."""
    kind = os.environ.get("SANGJA_E2E_TARGET", "sangjad")
    if kind not in ("sangjad", "dockerd"):
        raise ValueError(f"SANGJA_E2E_TARGET must be sangjad or dockerd, not {kind!r}")
    return kind


def spawn(kind: str) -> SpawnedDaemon:
    """A new, not yet started daemon of `kind` ("sangjad" or "dockerd") on fresh temp roots."""
    if kind == "dockerd":
        return DockerDaemon.create()
    if kind == "sangjad":
        return SangjaDaemon.create()
    raise ValueError(f"unknown daemon kind {kind!r}")
