"""Time `exec` on sangjad, dockerd and podman, side by side, and where sangjad's time goes.

    .venv/bin/python -m bench.exec                    # every installed engine, 20 rounds
    .venv/bin/python -m bench.exec --engines sangjad --repeat 5 --mb 100

Each engine runs on temp roots and a socket of its own (started and stopped by PID), with one
running busybox container (`--network none`). All engines run at once and the latency runs are
interleaved: each round times every (client, engine) pair once, in a shuffled order, so load
from elsewhere on the machine falls on all of them alike and the ratios stay fair.
- `exec true`: latency of the whole CLI command, from exec to exit, median of `--repeat` rounds
  after one warm-up; through the docker CLI on every engine (and the sangja CLI on sangjad);
- the docker CLI's floor on each engine: `exec` into a container that does not exist (the CLI's
  start-up, `HEAD /_ping` and the container inspect that answers 404);
- for sangjad, two components timed in the same rounds: `runc exec <box> true` alone (run from
  a sealed copy of runc, as sangjad runs it), and the docker CLI's API requests for `exec true`
  sent by this process without any CLI (ping, inspect, create, hijacked start, exec inspect);
- `exec -i cat` of `--mb` MB of random bytes: the output is compared with the input
  (byte-exact), median of 3 runs, reported in MB/s.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.commands import Cli, docker_binary
from tests.support.daemon import SpawnedDaemon
from tests.support.hijack import hijack

from bench.common import busybox_engine, installed, workspace
from sangja.host.sealed_binary import copy_sealed

BOX = "bench-exec"
EXEC_BODY = {"User": "", "Privileged": False, "Tty": False, "AttachStdin": False, "AttachStderr": True,
             "AttachStdout": True, "Detach": False, "DetachKeys": "", "Env": None, "WorkingDir": "", "Cmd": ["true"]}


def _http(s: socket.socket, method: str, path: str, body: object = None) -> bytes:
    """One request on a kept-alive connection; the response body (Content-Length framed)."""
    data = b"" if body is None else json.dumps(body).encode()
    head = f"{method} {path} HTTP/1.1\r\nHost: api.moby.localhost\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    s.sendall(head.encode() + b"\r\n" + data)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError(f"{method} {path}: connection closed")
        buf += chunk
    header, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in header.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError(f"{method} {path}: body cut short")
        rest += chunk
    return rest if method != "HEAD" else b""


def api_exec_true(socket_path: str) -> None:
    """What docker CLI 28 sends for `docker exec BOX true`, without the CLI."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(60)
        s.connect(socket_path)
        _http(s, "HEAD", "/_ping")
        _http(s, "GET", f"/v1.50/containers/{BOX}/json")
        exec_id = json.loads(_http(s, "POST", f"/v1.50/containers/{BOX}/exec", EXEC_BODY))["Id"]
        with hijack(socket_path, f"/v1.50/exec/{exec_id}/start", {"Detach": False, "Tty": False}) as stream:
            while stream.recv(65536):
                pass
        code = json.loads(_http(s, "GET", f"/v1.50/exec/{exec_id}/json"))["ExitCode"]
        if code != 0:
            raise RuntimeError(f"exec true through the API: exit code {code}")


def _run_ok(argv: list[str], env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)) -> None:
    """Run to exit. Not subprocess.run(timeout=…): its wait polls with sleeps that double up to
    50 ms, which rounded every measurement up to 31.5, 63.5, 113.5 ms… (a blocking wait here,
    with a watchdog that kills after 60 s, keeps the loop bounded)."""
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    watchdog = threading.Timer(60, proc.kill)
    watchdog.start()
    try:
        rc = proc.wait()
    finally:
        watchdog.cancel()
    if rc not in ok:
        raise RuntimeError(f"{' '.join(argv)}: rc {rc}")


def _throughput(cli: Cli, data: bytes) -> float | str:
    """MB/s, or what went wrong (podman 4.3 has been seen to lose 40 KiB of the 100 MB)."""
    digest = hashlib.sha256(data).digest()
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        proc = subprocess.run([*cli.prefix, "exec", "-i", BOX, "cat"], env=cli.env, input=data,
                              capture_output=True, timeout=300, check=False)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0 or hashlib.sha256(proc.stdout).digest() != digest:
            return f"wrong: rc {proc.returncode}, {len(proc.stdout)} of {len(data)} bytes back"
    return len(data) / (1 << 20) / statistics.median(times)


def _probes(kind: str, engine: SpawnedDaemon, home: Path, stack: contextlib.ExitStack) -> dict[str, Callable[[], None]]:
    """The timed commands for one engine, by row label."""
    docker = Cli.docker(engine.host, str(home))
    docker.ok("run", "-d", "--name", BOX, "--network", "none", "busybox", "sh", "-c", "while :; do sleep 1; done")
    probes: dict[str, Callable[[], None]] = {}
    if kind == "sangjad":
        sangja = Cli.sangja(engine.host, str(home))
        probes["sangja CLI -> sangjad"] = lambda: _run_ok([*sangja.prefix, "exec", BOX, "true"], sangja.env)
    probes[f"docker CLI -> {kind}"] = lambda: _run_ok([*docker.prefix, "exec", BOX, "true"], docker.env)
    probes[f"docker CLI floor -> {kind}"] = lambda: _run_ok([*docker.prefix, "exec", "no-such-box", "true"],
                                                            docker.env, ok=(1,))
    if kind == "sangjad":
        cid = docker.ok("inspect", "-f", "{{.Id}}", BOX).strip()
        fd = copy_sealed(shutil.which("runc") or "/usr/sbin/runc")
        stack.callback(os.close, fd)
        runc = [f"/proc/{os.getpid()}/fd/{fd}", "--root", os.path.join(engine.exec_root, "runc"), "exec", cid, "true"]
        probes["component: runc exec alone"] = lambda: _run_ok(runc)
        probes["component: API requests, no CLI"] = lambda: api_exec_true(engine.socket_path)
    return probes


def _rounds(probes: dict[str, Callable[[], None]], repeat: int) -> dict[str, float]:
    """Median ms per probe; every round runs each probe once, in a shuffled order."""
    for probe in probes.values():
        probe()  # warm-up
    times: dict[str, list[float]] = {label: [] for label in probes}
    for _ in range(repeat):
        for label in random.sample(list(probes), len(probes)):
            t0 = time.perf_counter()
            probes[label]()
            times[label].append(time.perf_counter() - t0)
    return {label: statistics.median(ts) * 1000 for label, ts in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="sangjad,dockerd,podman")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--mb", type=int, default=100)
    args = parser.parse_args(argv)
    if not 1 <= args.repeat <= 1000 or not 1 <= args.mb <= 1024:
        parser.error("--repeat must be 1..1000 and --mb 1..1024")
    if docker_binary() is None:
        parser.error("the docker CLI is needed (it drives every engine)")
    data = os.urandom(args.mb << 20)
    probes: dict[str, Callable[[], None]] = {}
    mbps: dict[str, float | str] = {}
    with workspace() as (tar, home), contextlib.ExitStack() as stack:
        engines = {kind: stack.enter_context(busybox_engine(kind, tar)) for kind in installed(args.engines)}
        for kind, engine in engines.items():
            probes.update(_probes(kind, engine, home, stack))
        print(f"[bench] exec true: {args.repeat} interleaved rounds of {len(probes)} commands", file=sys.stderr)
        latency = _rounds(probes, args.repeat)
        for label, ms in latency.items():
            print(f"[bench] {label}: {ms:.1f} ms", file=sys.stderr, flush=True)
        for kind, engine in engines.items():
            clis = [Cli.sangja(engine.host, str(home))] if kind == "sangjad" else []
            for cli in [*clis, Cli.docker(engine.host, str(home))]:
                print(f"[bench] {cli.name} CLI -> {kind}: exec -i cat {args.mb} MB", file=sys.stderr, flush=True)
                mbps[f"{cli.name} CLI -> {kind}"] = _throughput(cli, data)
            Cli.docker(engine.host, str(home)).ok("rm", "-f", BOX)
    print(f"| client -> engine | exec true (median of {args.repeat}, ms) | exec -i cat {args.mb} MB (MB/s) |")
    print("|---|---|---|")
    for label, ms in latency.items():
        rate = mbps.get(label, "")
        rate = f"{rate:.0f}" if isinstance(rate, float) else rate
        print(f"| {label} | {ms:.1f} | {rate} |")
    ours, ours_mbps = latency.get("docker CLI -> sangjad"), mbps.get("docker CLI -> sangjad")
    for other in ("dockerd", "podman"):
        theirs, theirs_mbps = latency.get(f"docker CLI -> {other}"), mbps.get(f"docker CLI -> {other}")
        if ours and theirs:
            ratio = (f", throughput {ours_mbps / theirs_mbps:.2f}"
                     if isinstance(ours_mbps, float) and isinstance(theirs_mbps, float) else "")
            print(f"\nsangjad/{other}: exec true {ours / theirs:.2f}{ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
