"""Time container operations on sangjad, Debian's dockerd and podman, side by side.

    .venv/bin/python -m bench.run                       # everything that is installed
    .venv/bin/python -m bench.run --engines sangjad --repeat 5 --counts 0,100
    .venv/bin/python -m bench.run --markdown --json /tmp/bench.json

Each engine runs on temp roots and a temp socket of its own, started and stopped by the
bench by PID (never the system's /var/run/docker.sock). Every operation is a whole CLI
command, timed from exec to exit, `--repeat` times; the table shows medians in ms.
Clients: the sangja CLI (sangjad only) and the docker CLI (every engine), so the
"docker CLI" columns compare engines with the same client.

Operations: `run --rm busybox true`, `create`, `start`, `stop`, `rm`, and `ps -a` with
0/100/1000 containers present (made through the API, untimed). Memory: each daemon's idle
RSS, and per running container (N=20): PSS of its monitor process (conmon, or
containerd-shim for dockerd) plus the daemon's RSS growth divided by N.
Loopback only (a Unix socket); every loop is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.commands import Cli, docker_binary
from tests.support.daemon import SpawnedDaemon
from tests.support.waiting import wait_until

from bench import engines

REPO = Path(__file__).resolve().parents[1]
# Exits at once on SIGTERM (the trap interrupts `wait`), so `stop` measures the engine, not a timeout.
SERVE = ["sh", "-c", 'trap "exit 0" TERM; sleep 3600 & wait']
NET = ["--network", "none"]  # the same (no) networking work on every engine


@dataclass
class Column:
    engine: str
    client: str
    timings: dict[str, list[float]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.client} CLI -> {self.engine}"

    def median_ms(self, op: str) -> float | None:
        values = self.timings.get(op)
        return statistics.median(values) * 1000 if values else None


def timed(cli: Cli, *args: str) -> float:
    start = time.perf_counter()
    result = cli(*args, timeout=120)
    elapsed = time.perf_counter() - start
    if result.rc != 0:
        raise RuntimeError(f"{cli.name} {' '.join(args)} failed\n{result}")
    return elapsed


def lifecycle(cols: list[tuple[Column, Cli]], repeat: int) -> None:
    """run --rm, then create/start/stop/rm on `repeat` containers, each op timed per container.
    The clients take turns run by run, so that this VM's drift over a run hits them alike."""
    for _, cli in cols:
        cli.ok("run", "--rm", *NET, "busybox", "true", timeout=120)  # warm-up, untimed
    ops: list[tuple[str, Callable[[Column, int], tuple[str, ...]]]] = [
        ("run --rm busybox true", lambda col, i: ("run", "--rm", *NET, "busybox", "true")),
        ("create", lambda col, i: ("create", *NET, "--name", f"bench-{col.client}-{i}", "busybox", *SERVE)),
        ("start", lambda col, i: ("start", f"bench-{col.client}-{i}")),
        ("stop", lambda col, i: ("stop", f"bench-{col.client}-{i}")),
        ("rm", lambda col, i: ("rm", f"bench-{col.client}-{i}")),
    ]
    for op, argv in ops:
        for i in range(repeat):
            for col, cli in cols:
                col.timings.setdefault(op, []).append(timed(cli, *argv(col, i)))


def create_via_api(engine: SpawnedDaemon, count: int) -> None:
    config = {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"NetworkMode": "none"}}
    for _ in range(count):
        engine.post_json("/containers/create", config)


def ps_scaling(engine: SpawnedDaemon, cols: list[tuple[Column, Cli]], counts: list[int], repeat: int) -> None:
    engine.remove_containers(engine.container_ids())
    present = 0
    for n in sorted(counts):
        create_via_api(engine, n - present)
        present = n
        for col, cli in cols:
            cli.ok("ps", "-a", "-q")  # warm-up
            col.timings[f"ps -a ({n} containers)"] = [timed(cli, "ps", "-a") for _ in range(repeat)]
    engine.remove_containers(engine.container_ids())


def memory(engine: SpawnedDaemon, n: int) -> dict[str, float]:
    """Idle RSS of the daemon, then the cost of `n` running containers."""
    engine.remove_containers(engine.container_ids())
    time.sleep(1.0)  # let the daemon settle after the import and the timing runs
    idle_kb = engines.rss_kb(engine.pids())
    config = {"Image": "busybox", "Cmd": SERVE, "HostConfig": {"NetworkMode": "none"}}
    ids = []
    for _ in range(n):
        ids.append(engine.post_json("/containers/create", config)["Id"])
        engine.api("POST", f"/containers/{ids[-1]}/start")
    wait_until(
        lambda: all(engine.get_json(f"/containers/{i}/json")["State"]["Running"] for i in ids),
        timeout=120, what=f"{n} containers running",
    )
    monitors = engines.monitor_pids(engine)
    monitor_kb = sum(engines.pss_kb(pid) for pid in monitors)
    busy_kb = engines.rss_kb(engine.pids())
    engine.remove_containers(ids)
    return {
        "idle_rss_mib": idle_kb / 1024,
        "monitors": len(monitors),
        "monitor_pss_kib_per_container": monitor_kb / max(len(monitors), 1),
        "daemon_growth_kib_per_container": (busy_kb - idle_kb) / n,
        "total_kib_per_container": (monitor_kb + busy_kb - idle_kb) / n,
    }


def available(kind: str) -> bool:
    need = {"sangjad": ["runc", "conmon"], "dockerd": ["dockerd"], "podman": ["podman"]}[kind]
    return all(shutil.which(p, path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") for p in need)


def bench_engine(kind: str, args: argparse.Namespace, tar: Path, home: Path) -> tuple[list[Column], dict[str, float]]:
    engine = engines.make(kind)
    try:
        engine.start()
        engine.import_image(tar, "busybox", "latest", ('CMD ["sh"]',))
        clients = ["sangja", "docker"] if kind == "sangjad" else ["docker"]
        cols: list[tuple[Column, Cli]] = []
        for client in clients:
            cli = Cli.sangja(engine.host, str(home)) if client == "sangja" else Cli.docker(engine.host, str(home))
            cols.append((Column(kind, client), cli))
        print(f"[bench] {kind}: lifecycle x{args.repeat} ({', '.join(c.label for c, _ in cols)})",
              file=sys.stderr, flush=True)
        lifecycle(cols, args.repeat)
        print(f"[bench] {kind}: ps -a with {args.counts} containers", file=sys.stderr, flush=True)
        ps_scaling(engine, cols, args.counts, args.repeat)
        print(f"[bench] {kind}: memory with {args.mem_containers} running containers", file=sys.stderr, flush=True)
        mem = memory(engine, args.mem_containers)
        return [c for c, _ in cols], mem
    finally:
        leaked = engine.close()
        if leaked:
            print(f"[bench] {kind} left (and the bench cleared):\n{leaked.describe()}", file=sys.stderr)


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}"


def report(columns: list[Column], mem: dict[str, dict[str, float]], markdown: bool) -> str:
    ops: list[str] = []
    for col in columns:
        ops += [op for op in col.timings if op not in ops]
    by = {(c.engine, c.client): c for c in columns}
    ref = by.get(("sangjad", "docker"))
    ratio_heads, ratio_cols = [], []
    for other in ("dockerd", "podman"):
        if ref is not None and (other, "docker") in by:
            ratio_heads.append(f"sangjad/{other}")
            ratio_cols.append(by[(other, "docker")])
    heads = ["operation (median ms)"] + [c.label for c in columns] + ratio_heads
    rows = []
    for op in ops:
        row = [op] + [_fmt(c.median_ms(op)) for c in columns]
        row += [_ratio(ref.median_ms(op) if ref else None, o.median_ms(op)) for o in ratio_cols]
        rows.append(row)
    mem_heads = ["memory", *mem.keys()]
    mem_rows = [
        ["daemon idle RSS (MiB)"] + [f"{m['idle_rss_mib']:.1f}" for m in mem.values()],
        ["monitor processes found"] + [f"{m['monitors']:.0f}" for m in mem.values()],
        ["monitor PSS per container (KiB)"] + [f"{m['monitor_pss_kib_per_container']:.0f}" for m in mem.values()],
        ["daemon growth per container (KiB)"] + [f"{m['daemon_growth_kib_per_container']:.0f}" for m in mem.values()],
        ["total per running container (KiB)"] + [f"{m['total_kib_per_container']:.0f}" for m in mem.values()],
    ]
    return _table(heads, rows, markdown) + "\n\n" + _table(mem_heads, mem_rows, markdown)


def _table(heads: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(heads, *rows, strict=True)]
    out = ["  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True))]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)


def environment() -> dict[str, str]:
    def version(argv: list[str]) -> str:
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False).stdout
        except OSError:
            return "not installed"
        return out.strip().splitlines()[0] if out.strip() else "?"

    return {
        "kernel": platform.release(),
        "cpus": str(len(os.sched_getaffinity(0))),
        "python": platform.python_version(),
        "runc": version(["runc", "--version"]),
        "conmon": version(["conmon", "--version"]),
        "dockerd": version(["dockerd", "--version"]),
        "podman": version(["podman", "--version"]),
        "docker CLI": version([docker_binary() or "docker", "--version"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="sangjad,dockerd,podman", help="comma list (default: all installed)")
    parser.add_argument("--repeat", type=int, default=10, help="timed runs per operation (default 10)")
    parser.add_argument("--counts", default="0,100,1000", help="containers present for ps -a (default 0,100,1000)")
    parser.add_argument("--mem-containers", type=int, default=20, help="running containers for memory (default 20)")
    parser.add_argument("--markdown", action="store_true", help="print markdown tables (for docs/benchmarks.md)")
    parser.add_argument("--json", type=Path, help="also write raw timings to this file")
    args = parser.parse_args(argv)
    args.counts = [int(c) for c in args.counts.split(",") if c.strip()]
    if not 1 <= args.repeat <= 1000 or any(not 0 <= c <= 10000 for c in args.counts):
        parser.error("--repeat must be 1..1000 and --counts 0..10000")
    if docker_binary() is None:
        parser.error("the docker CLI is needed (it drives every engine)")

    kinds = [k.strip() for k in args.engines.split(",") if k.strip()]
    with tempfile.TemporaryDirectory(prefix="sangja-bench-") as tmp:
        tar, home = Path(tmp) / "busybox.tar", Path(tmp) / "home"
        home.mkdir()
        subprocess.run(["sh", str(REPO / "scripts" / "make-busybox-rootfs.sh"), str(tar)], check=True, timeout=120)
        columns: list[Column] = []
        mem: dict[str, dict[str, float]] = {}
        for kind in kinds:
            if not available(kind):
                print(f"[bench] {kind} is not installed: skipped", file=sys.stderr)
                continue
            cols, mem[kind] = bench_engine(kind, args, tar, home)
            columns += cols

    env = environment()
    print("\n".join(f"{k}: {v}" for k, v in env.items()))
    print(f"repeat: {args.repeat}\n")
    print(report(columns, mem, args.markdown))
    if args.json:
        raw: dict[str, Any] = {
            "environment": env,
            "repeat": args.repeat,
            "timings_s": {c.label: c.timings for c in columns},
            "memory": mem,
        }
        args.json.write_text(json.dumps(raw, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
