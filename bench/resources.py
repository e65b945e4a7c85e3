"""Time `stats` and `system df` on sangjad and dockerd (and podman), side by side.

    .venv/bin/python -m bench.resources                        # every installed engine
    .venv/bin/python -m bench.resources --engines sangjad --running 20 --images 100 --containers 100

Each engine runs on temp roots and a socket of its own (started and stopped by PID). Timed from
exec to exit of the whole docker CLI command, `--repeat` runs after one warm-up, median in ms:
- `stats --no-stream` with `--running` busybox containers running (`--network none`);
- `system df` with `--images` distinct images (the busybox layer imported again with a different
  label, so each has its own config and ID but they share the layer) and `--containers` created
  containers present.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from tests.support.commands import Cli, docker_binary

from bench.common import busybox_engine, installed, workspace


def _median_ms(cli: Cli, args: list[str], repeat: int) -> float:
    cli.ok(*args)  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        cli.ok(*args)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def bench_engine(kind: str, tar: Path, home: Path, args: argparse.Namespace) -> tuple[float, float]:
    with busybox_engine(kind, tar) as engine:
        docker = Cli.docker(engine.host, str(home))
        print(f"[bench] {kind}: {args.running} running containers", file=sys.stderr, flush=True)
        for i in range(args.running):
            docker.ok("run", "-d", "--name", f"bench-run-{i}", "--network", "none", "busybox",
                      "sh", "-c", "while :; do sleep 1; done")
        stats_ms = _median_ms(docker, ["stats", "--no-stream"], args.repeat)
        docker.ok("rm", "-f", *[f"bench-run-{i}" for i in range(args.running)])
        print(f"[bench] {kind}: {args.images} images, {args.containers} containers", file=sys.stderr, flush=True)
        for i in range(args.images):
            engine.import_image(tar, f"bench-img-{i}", "latest", (f"LABEL bench={i}",))
        for _ in range(args.containers):
            engine.post_json("/containers/create", {"Image": "busybox", "Cmd": ["true"],
                                                    "HostConfig": {"NetworkMode": "none"}})
        df_ms = _median_ms(docker, ["system", "df"], args.repeat)
        docker.ok("container", "prune", "-f")
        return stats_ms, df_ms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="sangjad,dockerd,podman")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--running", type=int, default=20)
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--containers", type=int, default=100)
    args = parser.parse_args(argv)
    if not 1 <= args.repeat <= 100 or not 1 <= args.running <= 200:
        parser.error("--repeat must be 1..100 and --running 1..200")
    if not 0 <= args.images <= 1000 or not 0 <= args.containers <= 2000:
        parser.error("--images must be 0..1000 and --containers 0..2000")
    if docker_binary() is None:
        parser.error("the docker CLI is needed (it drives every engine)")
    results: dict[str, tuple[float, float]] = {}
    with workspace() as (tar, home):
        for kind in installed(args.engines):
            results[kind] = bench_engine(kind, tar, home, args)
    print(f"| docker CLI -> engine | stats --no-stream, {args.running} running (ms) | "
          f"system df, {args.images} images + {args.containers} containers (ms) |")
    print("|---|---|---|")
    for kind, (stats_ms, df_ms) in results.items():
        print(f"| {kind} | {stats_ms:.0f} | {df_ms:.0f} |")
    ours = results.get("sangjad")
    for other in ("dockerd", "podman"):
        theirs = results.get(other)
        if ours and theirs:
            print(f"\nsangjad/{other}: stats {ours[0] / theirs[0]:.2f}, system df {ours[1] / theirs[1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
