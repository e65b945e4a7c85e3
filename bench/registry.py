"""Time `docker pull` and `docker push` against a local registry: sangjad, dockerd and podman.

    .venv/bin/python -m bench.registry                           # 60 and 200 MB, all three engines, 3 runs
    .venv/bin/python -m bench.registry --engines sangjad,dockerd --repeat 5 --sizes 100

For each size (MB, uncompressed), the image is busybox plus two layers of size/2 MB each
(1 MB files, half random, half repetitive text, so gzip has work to do but the blobs stay
large), put into a source registry (Debian's docker-registry on 127.0.0.1) by hand as an OCI
image with gzip layers. Each engine runs on temp roots and a socket of its own, started and
stopped by PID, and the same docker CLI drives all three (podman through `podman system
service`, its Docker-compatible API):

- pull: the image is removed (nothing else is left in the store), the page cache is dropped
  (`sync; echo 3 > /proc/sys/vm/drop_caches`), then `docker pull` is timed;
- push: a new, empty registry for every run (so nothing can be skipped or mounted), the page
  cache dropped, then `docker push` of the pulled image is timed.

Loopback registries are plain HTTP for every engine: dockerd and sangjad treat 127.0.0.0/8
as insecure; podman is given a registries.conf of its own that marks the source registry and
every push registry (their ports are chosen before it starts) `insecure = true`.
The medians and the ratios to dockerd (and podman) are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.support.commands import Cli, docker_binary
from tests.support.daemon import SpawnedDaemon
from tests.support.ports import free_local_port
from tests.support.registry import RegistryServer
from tests.support.registry import available as registry_available
from tests.support.registry3_images import HandImage, Layer, tar_of

from bench import engines
from bench.run import REPO, available


def drop_caches() -> None:
    subprocess.run(["sync"], check=True, timeout=120)
    with contextlib.suppress(OSError):
        Path("/proc/sys/vm/drop_caches").write_text("3\n")


def big_layer(seed: int, mb: int) -> bytes:
    """`mb` MB in 1 MB files: even ones random, odd ones repetitive text (reproducible)."""
    rng = random.Random(seed)
    line = b"".join(f"line {i} of a text file that compresses well\n".encode() for i in range(64))
    text = (line * ((1 << 20) // len(line) + 1))[: 1 << 20]
    return tar_of({f"data/{seed}/{i:03d}": rng.randbytes(1 << 20) if i % 2 == 0 else text for i in range(mb)})


def build_image(busybox: Path, mb: int) -> HandImage:
    half = max(mb // 2, 1)
    return HandImage.build([Layer(busybox.read_bytes(), "gzip"), Layer(big_layer(mb * 10 + 1, half), "gzip"),
                            Layer(big_layer(mb * 10 + 2, half), "gzip")])


class PodmanWithRegistries(engines.PodmanService):
    """podman's service with a registries.conf marking the bench's loopback registries insecure."""

    insecure: tuple[str, ...] = ()

    def env(self) -> dict[str, str]:
        env = super().env()
        conf = os.path.join(self.base_dir, "registries.conf")
        with open(conf, "w") as f:
            f.write('unqualified-search-registries = []\n')
            for host in self.insecure:
                f.write(f'[[registry]]\nlocation = "{host}"\ninsecure = true\n')
        env["CONTAINERS_REGISTRIES_CONF"] = conf
        return env


@contextlib.contextmanager
def running(kind: str, insecure: tuple[str, ...]) -> Iterator[SpawnedDaemon]:
    if kind == "podman":
        podman = PodmanWithRegistries.create()
        podman.insecure = insecure
        engine: SpawnedDaemon = podman
    else:
        engine = engines.make(kind)
    try:
        engine.start()
        yield engine
    finally:
        leaked = engine.close()
        if leaked:
            print(f"[bench] {kind} left (and the bench cleared):\n{leaked.describe()}", file=sys.stderr)


def bench_engine(kind: str, source: RegistryServer, repo: str, base: Path, home: Path,
                 repeat: int) -> tuple[list[float], list[float]]:
    pulls: list[float] = []
    pushes: list[float] = []
    ref = f"{source.host}/{repo}:latest"
    push_ports = [free_local_port() for _ in range(repeat)]
    insecure = (source.host, *(f"127.0.0.1:{p}" for p in push_ports))
    with running(kind, insecure) as engine:
        cli = Cli.docker(engine.host, str(home))
        for _ in range(repeat):
            for image_id in engine.image_ids():
                cli.ok("rmi", "-f", image_id, timeout=300)
            drop_caches()
            t0 = time.perf_counter()
            cli.ok("pull", ref, timeout=900)
            pulls.append(time.perf_counter() - t0)
        for i, port in enumerate(push_ports):
            with RegistryServer.start(base / f"push-{kind}-{repo.replace('/', '-')}-{i}", port) as target:
                dest = f"{target.host}/{repo}:latest"
                cli.ok("tag", ref, dest)
                drop_caches()
                t0 = time.perf_counter()
                cli.ok("push", dest, timeout=900)
                pushes.append(time.perf_counter() - t0)
                cli.ok("rmi", dest)
    return pulls, pushes


def table(results: dict[str, dict[int, tuple[float, float]]], sizes: list[int], repeat: int) -> list[str]:
    head = " | ".join(f"pull {mb} MB | push {mb} MB" for mb in sizes)
    lines = [f"| engine (median of {repeat}, s) | {head} |", "|---" * (1 + 2 * len(sizes)) + "|"]
    for kind, by_size in results.items():
        cells = " | ".join(f"{by_size[mb][0]:.2f} | {by_size[mb][1]:.2f}" for mb in sizes)
        lines.append(f"| {kind} | {cells} |")
    for other in ("dockerd", "podman"):
        if "sangjad" in results and other in results:
            s, o = results["sangjad"], results[other]
            cells = " | ".join(f"{s[mb][0] / o[mb][0]:.2f} | {s[mb][1] / o[mb][1]:.2f}" for mb in sizes)
            lines.append(f"| sangjad/{other} | {cells} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="sangjad,dockerd,podman")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="60,200", help="image sizes in MB (uncompressed), comma-separated")
    args = parser.parse_args(argv)
    try:
        sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    except ValueError:
        parser.error("--sizes must be numbers of MB")
    if not 1 <= args.repeat <= 50 or not sizes or not all(2 <= mb <= 2048 for mb in sizes):
        parser.error("--repeat must be 1..50 and each size 2..2048")
    if docker_binary() is None:
        parser.error("the docker CLI is needed (it drives every engine)")
    if not registry_available():
        parser.error("docker-registry is needed (apt-get install docker-registry)")
    kinds = [k.strip() for k in args.engines.split(",") if k.strip()]
    for kind in [k for k in kinds if not available(k)]:
        print(f"[bench] {kind} is not installed: skipped", file=sys.stderr)
    kinds = [k for k in kinds if available(k)]
    results: dict[str, dict[int, tuple[float, float]]] = {k: {} for k in kinds}
    with tempfile.TemporaryDirectory(prefix="sangja-bench-") as tmp:
        base, home = Path(tmp), Path(tmp) / "home"
        home.mkdir()
        busybox = base / "busybox.tar"
        subprocess.run(["sh", str(REPO / "scripts" / "make-busybox-rootfs.sh"), str(busybox)], check=True,
                       timeout=120)
        with RegistryServer.start(base / "source", free_local_port()) as source:
            for mb in sizes:
                image = build_image(busybox, mb)
                compressed = sum(len(b) for _, b in image.blobs) / 1e6
                print(f"[bench] {mb} MB image: {len(image.blobs)} layers, {compressed:.1f} MB compressed",
                      file=sys.stderr)
                repo = f"bench/big{mb}"
                image.upload(source.host, repo, "latest")
                del image
                for kind in list(kinds):
                    try:
                        pulls, pushes = bench_engine(kind, source, repo, base, home, args.repeat)
                    except AssertionError as exc:   # a CLI command failed: report it, go on without
                        print(f"[bench] {kind} failed, left out: {exc}", file=sys.stderr)
                        kinds.remove(kind)
                        del results[kind]
                        continue
                    print(f"[bench] {kind} {mb} MB: pull {[round(x, 2) for x in pulls]} s, "
                          f"push {[round(x, 2) for x in pushes]} s", file=sys.stderr)
                    results[kind][mb] = (statistics.median(pulls), statistics.median(pushes))
    print("\n".join(table(results, sizes, args.repeat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
