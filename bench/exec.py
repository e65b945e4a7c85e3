"""Time `exec` on sangjad, dockerd and podman, side by side.

    .venv/bin/python -m bench.exec                    # every installed engine, 20 runs each
    .venv/bin/python -m bench.exec --engines sangjad --repeat 5 --mb 100

Each engine runs on temp roots and a socket of its own (started and stopped by PID), with one
running busybox container (`--network none`). Timed from exec to exit of the whole CLI command:
- `exec true`: latency, `--repeat` runs after one warm-up, median in ms; through the docker
  CLI on every engine (and the sangja CLI on sangjad);
- `exec -i cat` of `--mb` MB of random bytes: the output is compared with the input
  (byte-exact), median of 3 runs, reported in MB/s.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tests.support.commands import Cli, docker_binary

from bench.common import busybox_engine, installed, workspace

BOX = "bench-exec"


def _latency(cli: Cli, repeat: int) -> float:
    cli.ok("exec", BOX, "true")  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        cli.ok("exec", BOX, "true")
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def _throughput(cli: Cli, data: bytes) -> float:
    digest = hashlib.sha256(data).digest()
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        proc = subprocess.run([*cli.prefix, "exec", "-i", BOX, "cat"], env=cli.env, input=data,
                              capture_output=True, timeout=300, check=False)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0 or hashlib.sha256(proc.stdout).digest() != digest:
            raise RuntimeError(f"{cli.name} exec -i cat: rc {proc.returncode}, {len(proc.stdout)} bytes back")
    return len(data) / (1 << 20) / statistics.median(times)


def bench_exec(kind: str, tar: Path, home: Path, data: bytes, repeat: int) -> dict[str, tuple[float, float]]:
    with busybox_engine(kind, tar) as engine:
        docker = Cli.docker(engine.host, str(home))
        docker.ok("run", "-d", "--name", BOX, "--network", "none", "busybox", "sh", "-c", "while :; do sleep 1; done")
        clis = [("sangja", Cli.sangja(engine.host, str(home)))] if kind == "sangjad" else []
        clis.append(("docker", docker))
        out = {}
        for name, cli in clis:
            print(f"[bench] {name} CLI -> {kind}: exec", file=sys.stderr, flush=True)
            out[f"{name} CLI -> {kind}"] = (_latency(cli, repeat), _throughput(cli, data))
        docker.ok("rm", "-f", BOX)
        return out


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
    results: dict[str, tuple[float, float]] = {}
    with workspace() as (tar, home):
        for kind in installed(args.engines):
            results.update(bench_exec(kind, tar, home, data, args.repeat))
    print(f"| client -> engine | exec true (median of {args.repeat}, ms) | exec -i cat {args.mb} MB (MB/s) |")
    print("|---|---|---|")
    for label, (ms, mbps) in results.items():
        print(f"| {label} | {ms:.0f} | {mbps:.0f} |")
    ours = results.get("docker CLI -> sangjad")
    for other in ("dockerd", "podman"):
        theirs = results.get(f"docker CLI -> {other}")
        if ours and theirs:
            print(f"\nsangjad/{other}: exec true {ours[0] / theirs[0]:.2f}, throughput {ours[1] / theirs[1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
