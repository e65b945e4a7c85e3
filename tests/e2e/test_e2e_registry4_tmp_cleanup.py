"""What a kill -9 of sangjad leaves in the middle of a push's compression or of a pull is
removed when the daemon starts again, and the store keeps working.

A push compresses a layer that has no kept blob into `<layer>/.dist-blob.<random>.tmp`, then
renames it to `dist-blob`; a pull downloads into `ingest/` and unpacks into `layers/.tmp-*`.
The exact moment of a kill cannot be chosen without a race, so the test kills the daemon after
a real push and puts those leftovers where a kill at that moment leaves them, with the names
the code uses. After the restart they are gone, the kept blob is intact, and pushing the image
again to a new repository reuses it (a cross-repository mount, nothing compressed or sent).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import make_cli
from tests.support.daemon import SpawnedDaemon, target_kind
from tests.support.registry import RegistryServer


def test_leftovers_of_a_kill9_during_push_or_pull_are_removed_at_start(
        fresh_daemon: SpawnedDaemon, registry: RegistryServer, cli_home: Path,
        names: Callable[[str], str]) -> None:
    if target_kind() != "sangjad":
        pytest.skip("inspects sangjad's data root")
    d = fresh_daemon
    layers = Path(d.data_root) / "image" / "layers"
    ingest = Path(d.data_root) / "image" / "ingest"
    sangja = make_cli("sangja", d, cli_home)
    first = f"{registry.host}/{names('first')}:v1"
    sangja.ok("tag", "busybox", first)
    sangja.ok("push", first, timeout=120)
    kept = [p.parent for p in layers.glob("*/dist-blob")]
    assert kept, "the push kept no compressed blob"
    layer_dir = kept[0]
    blob_before = (layer_dir / "dist-blob").read_bytes()
    d.kill9()

    # A push's compression cut short, a metadata write cut short, a pull's unpacked but
    # unpublished layer and its half-downloaded blob.
    (layer_dir / ".dist-blob.5f1d0c2a9b8e4d7f.tmp").write_bytes(blob_before[: len(blob_before) // 2])
    (layer_dir / ".dist-blob.json.77aa.tmp").write_text("{")
    unpublished = layers / ".tmp-0123456789abcdef"
    (unpublished / "diff").mkdir(parents=True)
    (unpublished / "layer.json").write_text(json.dumps({"chain_id": "sha256:" + "0" * 64}))
    (ingest / "89abcdef.blob").write_bytes(b"\x1f\x8b half a layer")

    d.start()
    assert sorted(p.name for p in layer_dir.iterdir() if p.name.startswith(".")) == []
    assert not unpublished.exists()
    assert list(ingest.iterdir()) == []
    assert (layer_dir / "dist-blob").read_bytes() == blob_before

    second = f"{registry.host}/{names('second')}:v1"
    sangja.ok("tag", "busybox", second)
    out = sangja.ok("push", second, timeout=120)
    assert "Mounted from" in out or "Layer already exists" in out, out
    assert sangja.ok("run", "--rm", "busybox", "echo", "still works", timeout=60) == "still works\n"
    sangja.ok("rmi", first, second)
