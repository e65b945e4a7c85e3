"""What every side-by-side benchmark does around its measurement: a temp workspace with the
busybox rootfs tar, the installed engines, and an engine started with busybox imported."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.support.daemon import SpawnedDaemon

from bench import engines
from bench.run import REPO, available


@contextlib.contextmanager
def workspace() -> Iterator[tuple[Path, Path]]:
    """(busybox rootfs tar, a CLI home directory) in a temp directory removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="sangja-bench-") as tmp:
        tar, home = Path(tmp) / "busybox.tar", Path(tmp) / "home"
        home.mkdir()
        subprocess.run(["sh", str(REPO / "scripts" / "make-busybox-rootfs.sh"), str(tar)], check=True, timeout=120)
        yield tar, home


def installed(engine_list: str) -> Iterator[str]:
    """The engines named in a comma list that are installed; the others are reported as skipped."""
    for kind in [k.strip() for k in engine_list.split(",") if k.strip()]:
        if available(kind):
            yield kind
        else:
            print(f"[bench] {kind} is not installed: skipped", file=sys.stderr)


@contextlib.contextmanager
def busybox_engine(kind: str, tar: Path, engine: SpawnedDaemon | None = None) -> Iterator[SpawnedDaemon]:
    """The engine on temp roots (started and stopped by PID) with the busybox image imported;
    `engine` when the caller made it (a dockerd with a bridge of its own)."""
    engine = engine if engine is not None else engines.make(kind)
    try:
        engine.start()
        engine.import_image(tar, "busybox", "latest", ('CMD ["sh"]',))
        yield engine
    finally:
        leaked = engine.close()
        if leaked:
            print(f"[bench] {kind} left (and the bench cleared):\n{leaked.describe()}", file=sys.stderr)
