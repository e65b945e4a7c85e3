"""Time a 6-step Dockerfile built with the classic builder (`DOCKER_BUILDKIT=0 docker build`) on
sangjad, dockerd and podman, side by side, cold and fully cached.

    .venv/bin/python -m bench.build                      # all three engines, 5 runs each
    .venv/bin/python -m bench.build --engines sangjad,dockerd --repeat 3

Each engine runs on temp roots and a socket of its own (started and stopped by PID), with the
busybox image imported; the docker CLI drives all of them. The Dockerfile is FROM busybox, RUN,
COPY (a 1 MB file), ENV, RUN, CMD. *cold*: `build --no-cache` to a new tag, every step done
again (the image is removed before the next run); *cached*: the same build again after one
untimed build, every step a cache hit. Each build is timed from exec to exit; medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.support.commands import Cli, docker_binary

from bench.common import busybox_engine, installed, workspace

DOCKERFILE = """\
FROM busybox
RUN mkdir -p /app && echo built > /app/stamp
COPY payload.bin /app/
ENV APP_HOME=/app
RUN ls -l /app > /app/listing
CMD ["cat", "/app/stamp"]
"""


def make_context(base: Path) -> Path:
    ctx = base / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    (ctx / "payload.bin").write_bytes(os.urandom(1 << 20))
    return ctx


def bench_build(kind: str, tar: Path, home: Path, ctx: Path, repeat: int) -> dict[str, list[float]]:
    with busybox_engine(kind, tar) as engine:
        base = Cli.docker(engine.host, str(home))
        cli = Cli(base.name, base.prefix, {**base.env, "DOCKER_BUILDKIT": "0"})

        def timed(*args: str) -> float:
            t0 = time.perf_counter()
            cli.ok("build", "-q", *args, str(ctx), timeout=300)
            return time.perf_counter() - t0

        cold: list[float] = []
        cached: list[float] = []
        timed("-t", "bench-build:warm")          # warm-up, and what the cached builds hit
        for _ in range(repeat):
            cached.append(timed("-t", "bench-build:warm"))
        for i in range(repeat):
            cold.append(timed("--no-cache", "-t", f"bench-build:cold{i}"))
            cli.ok("rmi", f"bench-build:cold{i}")
        cli.ok("rmi", "bench-build:warm")
        return {"cold": cold, "cached": cached}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="sangjad,dockerd,podman")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    if not 1 <= args.repeat <= 100:
        parser.error("--repeat must be 1..100")
    if docker_binary() is None:
        parser.error("the docker CLI is needed (it drives every engine)")
    results: dict[str, dict[str, float]] = {}
    with workspace() as (tar, home), tempfile.TemporaryDirectory(prefix="sangja-bench-build-") as tmp:
        ctx = make_context(Path(tmp))
        for kind in installed(args.engines):
            print(f"[bench] {kind}: build x{args.repeat}", file=sys.stderr, flush=True)
            times = bench_build(kind, tar, home, ctx, args.repeat)
            results[kind] = {k: statistics.median(v) for k, v in times.items()}
    print(f"| docker CLI (DOCKER_BUILDKIT=0) -> engine, median of {args.repeat} | 6-step build, cold (ms) |"
          " fully cached (ms) |")
    print("|---|---|---|")
    for kind, med in results.items():
        print(f"| {kind} | {med['cold'] * 1000:.0f} | {med['cached'] * 1000:.0f} |")
    if "sangjad" in results:
        for other in ("dockerd", "podman"):
            if other in results:
                s, o = results["sangjad"], results[other]
                print(f"\nsangjad/{other}: cold {s['cold'] / o['cold']:.2f}, cached {s['cached'] / o['cached']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
