"""Time `docker pull` and `docker push` of a ~100 MB image against a local registry, sangjad vs dockerd.

    .venv/bin/python -m bench.registry                          # sangjad and dockerd, 3 runs each
    .venv/bin/python -m bench.registry --engines sangjad --repeat 5 --mb 100

The image is busybox plus two layers of `--mb`/2 MB each (files half random, half repetitive
text, so gzip has work to do but the blobs stay large), put into a source registry (Debian's
docker-registry on 127.0.0.1) by hand as an OCI image with gzip layers. Each
engine runs on temp roots and a socket of its own, started and stopped by PID, driven by the
docker CLI:

- pull: the image is removed (and nothing else is left in the store), the page cache is
  dropped (`echo 3 > /proc/sys/vm/drop_caches`), then `docker pull` is timed;
- push: a new, empty registry is started for every run (so nothing can be skipped or
  mounted), the page cache is dropped, then `docker push` of the pulled image is timed.

Loopback registries are plain HTTP for both engines (dockerd treats 127.0.0.0/8 as insecure).
The medians and the sangjad/dockerd ratios are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.support.commands import Cli, docker_binary
from tests.support.daemon import SpawnedDaemon
from tests.support.registry import RegistryServer
from tests.support.registry import available as registry_available
from tests.support.registry3_images import HandImage, Layer, tar_of

from bench import engines
from bench.run import REPO, available

REPO_NAME = "bench/big"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    return HandImage.build([Layer(busybox.read_bytes(), "gzip"), Layer(big_layer(1, half), "gzip"),
                            Layer(big_layer(2, half), "gzip")])


@contextlib.contextmanager
def running(kind: str) -> Iterator[SpawnedDaemon]:
    engine = engines.make(kind)
    try:
        engine.start()
        yield engine
    finally:
        leaked = engine.close()
        if leaked:
            print(f"[bench] {kind} left (and the bench cleared):\n{leaked.describe()}", file=sys.stderr)


def bench_engine(kind: str, source: RegistryServer, base: Path, home: Path,
                 repeat: int) -> tuple[list[float], list[float]]:
    pulls: list[float] = []
    pushes: list[float] = []
    ref = f"{source.host}/{REPO_NAME}:latest"
    with running(kind) as engine:
        cli = Cli.docker(engine.host, str(home))
        for _ in range(repeat):
            for image_id in engine.image_ids():
                cli.ok("rmi", "-f", image_id, timeout=300)
            drop_caches()
            t0 = time.perf_counter()
            cli.ok("pull", ref, timeout=900)
            pulls.append(time.perf_counter() - t0)
        for i in range(repeat):
            with RegistryServer.start(base / f"push-{kind}-{i}", _port()) as target:
                dest = f"{target.host}/{REPO_NAME}:latest"
                cli.ok("tag", ref, dest)
                drop_caches()
                t0 = time.perf_counter()
                cli.ok("push", dest, timeout=900)
                pushes.append(time.perf_counter() - t0)
                cli.ok("rmi", dest)
    return pulls, pushes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="sangjad,dockerd")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mb", type=int, default=100, help="size of the two big layers together (uncompressed)")
    args = parser.parse_args(argv)
    if not 1 <= args.repeat <= 50 or not 2 <= args.mb <= 2048:
        parser.error("--repeat must be 1..50 and --mb 2..2048")
    if docker_binary() is None:
        parser.error("the docker CLI is needed (it drives every engine)")
    if not registry_available():
        parser.error("docker-registry is needed (apt-get install docker-registry)")
    results: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="sangja-bench-") as tmp:
        base, home = Path(tmp), Path(tmp) / "home"
        home.mkdir()
        busybox = base / "busybox.tar"
        subprocess.run(["sh", str(REPO / "scripts" / "make-busybox-rootfs.sh"), str(busybox)], check=True,
                       timeout=120)
        image = build_image(busybox, args.mb)
        compressed = sum(len(b) for _, b in image.blobs) / 1e6
        print(f"[bench] image: {len(image.blobs)} layers, {compressed:.1f} MB compressed", file=sys.stderr)
        with RegistryServer.start(base / "source", _port()) as source:
            image.upload(source.host, REPO_NAME, "latest")
            del image
            for kind in [k.strip() for k in args.engines.split(",") if k.strip()]:
                if not available(kind):
                    print(f"[bench] {kind} is not installed: skipped", file=sys.stderr)
                    continue
                pulls, pushes = bench_engine(kind, source, base, home, args.repeat)
                print(f"[bench] {kind}: pull {[round(x, 2) for x in pulls]} s, push {[round(x, 2) for x in pushes]} s",
                      file=sys.stderr)
                results[kind] = (statistics.median(pulls), statistics.median(pushes))
    print(f"| engine | pull of ~{args.mb} MB (median of {args.repeat}, s) | push (median of {args.repeat}, s) |")
    print("|---|---|---|")
    for kind, (pull, push) in results.items():
        print(f"| {kind} | {pull:.2f} | {push:.2f} |")
    if "sangjad" in results and "dockerd" in results:
        (sp, ss), (dp, ds) = results["sangjad"], results["dockerd"]
        print(f"| sangjad/dockerd | {sp / dp:.2f} | {ss / ds:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
