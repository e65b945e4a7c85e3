"""Networking on sangjad, dockerd and podman, side by side: published ports and the bridge's cost.

    .venv/bin/python -m bench.network                     # every installed engine
    .venv/bin/python -m bench.network --engines sangjad,dockerd --repeat 10 --mb 128

Each engine runs on temp roots and a socket of its own (started and stopped by PID), driven by
the docker CLI, with one busybox `httpd` container publishing port 80 on 127.0.0.1:
- throughput: a `--mb` MB file (on a tmpfs in the container) fetched over HTTP from the host
  through the published port, byte count checked, median of 3, in MB/s;
- connections per second: `--conns` short requests one after the other (connect, GET of a
  3-byte page, read to the close), median of 3;
- `run --rm busybox true` with the default bridge and with `--network none`, `--repeat` times
  each, alternating, after a warm-up of each: medians, and what the bridge adds.

How each engine forwards 127.0.0.1: sangjad with a DNAT rule in the kernel (route_localnet);
dockerd with docker-proxy, its userland proxy (it is started on a bridge the bench makes, with
`--iptables=false --ip-forward=false` so the host's firewall and sysctls stay untouched: for
127.0.0.1 docker-proxy is what dockerd uses either way); podman (netavark) with iptables DNAT.
Traffic goes only to 127.0.0.1. Every loop is bounded.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from pyroute2 import IPRoute
from tests.support.commands import Cli, docker_binary
from tests.support.daemon import DockerDaemon, SpawnedDaemon
from tests.support.ports import free_local_port
from tests.support.waiting import wait_until

from bench import engines
from bench.common import busybox_engine, installed, workspace

BOX = "bench-net"
SERVE = ("dd if=/dev/zero of=/www/big bs=1M count={mb} 2>/dev/null && echo ok > /www/small"
         " && exec httpd -f -p 80 -h /www")
CHUNK = 1 << 20


class BridgedDockerd(DockerDaemon):
    """dockerd on a bridge of the bench's own (a bridge named other than docker0 must exist
    beforehand), its userland proxy on: the default setup as far as 127.0.0.1 is concerned."""

    def __init__(self, base_dir: str) -> None:
        super().__init__(base_dir)
        self.bridge = "sjbd" + Path(base_dir).name[3:][:8]

    def argv(self) -> list[str]:
        argv = super().argv()
        at = argv.index("--bridge")
        argv[at + 1] = self.bridge
        argv.remove("--iptables=false")
        return [*argv, "--iptables=false", "--ip-forward=false", "--userland-proxy=true"]


@contextlib.contextmanager
def _bridge(name: str) -> Iterator[None]:
    """A bridge with the first /24 of 10.234-10.253 that no host route covers, removed afterwards."""
    with IPRoute() as ipr:
        taken = [
            ipaddress.IPv4Network(f"{r.get_attr('RTA_DST')}/{r['dst_len']}")
            for r in ipr.get_routes(family=socket.AF_INET) if r.get_attr("RTA_DST")
        ]
        candidates = [ipaddress.IPv4Network(f"10.{b}.0.0/24") for b in range(234, 254)]
        subnet = next(n for n in candidates if not any(n.overlaps(t) for t in taken))
        ipr.link("add", ifname=name, kind="bridge")
        try:
            idx = ipr.link_lookup(ifname=name)[0]
            ipr.addr("add", index=idx, address=str(subnet.network_address + 1), prefixlen=24)
            ipr.link("set", index=idx, state="up")
            yield
        finally:
            with contextlib.suppress(Exception):
                ipr.link("del", ifname=name)


@contextlib.contextmanager
def engine_with_busybox(kind: str, tar: Path) -> Iterator[SpawnedDaemon]:
    engine: SpawnedDaemon = BridgedDockerd.create() if kind == "dockerd" else engines.make(kind)
    with contextlib.ExitStack() as stack:
        if isinstance(engine, BridgedDockerd):
            stack.enter_context(_bridge(engine.bridge))
        yield stack.enter_context(busybox_engine(kind, tar, engine))


def http_get(port: int, path: str, buf: bytearray) -> tuple[bytes, int]:
    """One HTTP/1.0 GET to 127.0.0.1:port (a new connection): (status line + headers, body size)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
        head, total, in_body = b"", 0, False
        while n := s.recv_into(buf):
            if in_body:
                total += n
                continue
            head += bytes(buf[:n])
            end = head.find(b"\r\n\r\n")
            if end >= 0:
                head, total, in_body = head[:end], len(head) - end - 4, True
            elif len(head) > 65536:
                raise RuntimeError("no end of the HTTP head in 64 KiB")
    if not in_body:
        raise RuntimeError(f"no HTTP answer: {head!r}")
    return head, total


def _ready(port: int, buf: bytearray) -> bool:
    with contextlib.suppress(OSError, RuntimeError):
        head, size = http_get(port, "/small", buf)
        return head.startswith(b"HTTP/1.") and b" 200 " in head.split(b"\r\n")[0] and size == 3
    return False


def throughput(port: int, mb: int, buf: bytearray) -> float:
    rates = []
    for _ in range(3):
        t0 = time.perf_counter()
        head, size = http_get(port, "/big", buf)
        elapsed = time.perf_counter() - t0
        if size != mb << 20:
            raise RuntimeError(f"got {size} bytes instead of {mb << 20}: {head!r}")
        rates.append(mb / elapsed)
    return statistics.median(rates)


def connections_per_second(port: int, count: int, buf: bytearray) -> float:
    rates = []
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(count):
            head, size = http_get(port, "/small", buf)
            if size != 3:
                raise RuntimeError(f"a short request got {size} bytes: {head!r}")
        rates.append(count / (time.perf_counter() - t0))
    return statistics.median(rates)


def _timed_run(cli: Cli, *net: str) -> float:
    t0 = time.perf_counter()
    result = cli("run", "--rm", *net, "busybox", "true", timeout=120)
    elapsed = time.perf_counter() - t0
    if result.rc != 0:
        raise RuntimeError(f"run --rm {' '.join(net)} failed\n{result}")
    return elapsed * 1000


def run_latency(cli: Cli, repeat: int) -> tuple[float, float]:
    """(median ms with the default bridge, median ms with --network none), runs alternating."""
    _timed_run(cli)  # warm-ups, untimed
    _timed_run(cli, "--network", "none")
    bridge, none = [], []
    for _ in range(repeat):
        bridge.append(_timed_run(cli))
        none.append(_timed_run(cli, "--network", "none"))
    return statistics.median(bridge), statistics.median(none)


def bench_engine(kind: str, tar: Path, home: Path, args: argparse.Namespace) -> dict[str, float]:
    with engine_with_busybox(kind, tar) as engine:
        cli = Cli.docker(engine.host, str(home))
        print(f"[bench] {kind}: run --rm, bridge vs none x{args.repeat}", file=sys.stderr, flush=True)
        bridge_ms, none_ms = run_latency(cli, args.repeat)
        port = free_local_port()
        buf = bytearray(CHUNK)
        cli.ok("run", "-d", "--name", BOX, "--tmpfs", "/www", "-p", f"127.0.0.1:{port}:80",
               "busybox", "sh", "-c", SERVE.format(mb=args.mb))
        try:
            wait_until(lambda: _ready(port, buf), timeout=60, interval=0.05, what=f"httpd on 127.0.0.1:{port}")
            print(f"[bench] {kind}: published port, {args.mb} MB x3 and {args.conns} requests x3",
                  file=sys.stderr, flush=True)
            mbps = throughput(port, args.mb, buf)
            cps = connections_per_second(port, args.conns, buf)
        finally:
            cli("rm", "-f", BOX, timeout=120)
        return {"bridge_ms": bridge_ms, "none_ms": none_ms, "mbps": mbps, "cps": cps}


def report(results: dict[str, dict[str, float]], args: argparse.Namespace) -> str:
    lines = [
        f"| docker CLI -> engine | run --rm, bridge (ms) | run --rm, none (ms) | bridge adds (ms) "
        f"| published port, {args.mb} MB (MB/s) | connections/s ({args.conns} sequential) |",
        "|---|---|---|---|---|---|",
    ]
    for kind, r in results.items():
        lines.append(f"| {kind} | {r['bridge_ms']:.0f} | {r['none_ms']:.0f} | {r['bridge_ms'] - r['none_ms']:.1f} "
                     f"| {r['mbps']:.0f} | {r['cps']:.0f} |")
    ours = results.get("sangjad")
    for other in ("dockerd", "podman"):
        theirs = results.get(other)
        if ours and theirs:
            lines.append(f"\nsangjad/{other}: throughput {ours['mbps'] / theirs['mbps']:.2f}, "
                         f"connections/s {ours['cps'] / theirs['cps']:.2f}, "
                         f"bridge adds {ours['bridge_ms'] - ours['none_ms']:.1f} ms vs "
                         f"{theirs['bridge_ms'] - theirs['none_ms']:.1f} ms")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="sangjad,dockerd,podman")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--mb", type=int, default=256)
    parser.add_argument("--conns", type=int, default=300)
    args = parser.parse_args(argv)
    if not 1 <= args.repeat <= 500 or not 1 <= args.mb <= 2048 or not 1 <= args.conns <= 20000:
        parser.error("--repeat must be 1..500, --mb 1..2048 and --conns 1..20000")
    if docker_binary() is None:
        parser.error("the docker CLI is needed (it drives every engine)")
    results: dict[str, dict[str, float]] = {}
    with workspace() as (tar, home):
        for kind in installed(args.engines):
            with podman_residue_cleared() if kind == "podman" else contextlib.nullcontext():
                results[kind] = bench_engine(kind, tar, home, args)
    print(report(results, args))
    return 0


@contextlib.contextmanager
def podman_residue_cleared() -> Iterator[None]:
    """podman's network (netavark) lives outside its --root: the bridge `podman0` and iptables
    chains in the ip/ip6 nat and filter tables. What was not there before the run is removed."""
    before_links = _links()
    before_tables = _nft_tables()
    try:
        yield
    finally:
        with IPRoute() as ipr:
            for name in _links() - before_links:
                if name.startswith(("podman", "cni-podman", "veth")):
                    with contextlib.suppress(Exception):
                        ipr.link("del", ifname=name)
        for table in _nft_tables() - before_tables:
            family, name = table
            if name in ("nat", "filter", "mangle", "raw"):
                subprocess.run(["nft", "delete", "table", family, name], capture_output=True, timeout=30, check=False)


def _links() -> set[str]:
    with IPRoute() as ipr:
        return {str(link.get_attr("IFLA_IFNAME")) for link in ipr.get_links()}


def _nft_tables() -> set[tuple[str, str]]:
    out = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, timeout=30, check=False).stdout
    return {(w[1], w[2]) for w in (line.split() for line in out.splitlines()) if len(w) == 3 and w[0] == "table"}


if __name__ == "__main__":
    sys.exit(main())
