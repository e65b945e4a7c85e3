"""Time `docker commit` of a container with 50 MB of changes on sangjad and dockerd, side by side.

    .venv/bin/python -m bench.commit                 # both engines, 5 runs each
    .venv/bin/python -m bench.commit --engines sangjad --repeat 3 --mb 50

Each engine runs on temp roots and a socket of its own (started and stopped by PID). A
container writes `--mb` MB of random data, exits, and is committed `--repeat` times through
the docker CLI (each commit timed from exec to exit; the median is reported). Every commit
makes a new image (a different comment), which is removed before the next one. The build
half of the issue's benchmark is bench/build.py.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from tests.support.commands import Cli, docker_binary

from bench.common import busybox_engine, installed, workspace


def bench_commit(kind: str, tar: Path, home: Path, mb: int, repeat: int) -> list[float]:
    with busybox_engine(kind, tar) as engine:
        cli = Cli.docker(engine.host, str(home))
        cli.ok("run", "--name", "bench-commit", "--network", "none", "busybox",
               "dd", "if=/dev/urandom", "of=/big", "bs=1048576", f"count={mb}", timeout=120)
        times = []
        for i in range(repeat):
            t0 = time.perf_counter()
            image_id = cli.ok("commit", "-m", f"run {i}", "bench-commit", timeout=300).strip()
            times.append(time.perf_counter() - t0)
            cli.ok("rmi", image_id)
        cli.ok("rm", "-f", "bench-commit")
        return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="sangjad,dockerd")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--mb", type=int, default=50)
    args = parser.parse_args(argv)
    if not 1 <= args.repeat <= 100 or not 1 <= args.mb <= 1024:
        parser.error("--repeat must be 1..100 and --mb 1..1024")
    if docker_binary() is None:
        parser.error("the docker CLI is needed (it drives every engine)")
    results: dict[str, float] = {}
    with workspace() as (tar, home):
        for kind in installed(args.engines):
            times = bench_commit(kind, tar, home, args.mb, args.repeat)
            results[kind] = statistics.median(times)
    print(f"| engine | commit of {args.mb} MB (median of {args.repeat}, ms) |")
    print("|---|---|")
    for kind, median in results.items():
        print(f"| {kind} | {median * 1000:.0f} |")
    if "sangjad" in results and "dockerd" in results:
        print(f"\nsangjad/dockerd: {results['sangjad'] / results['dockerd']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
