"""kill -9 of sangjad in the middle of a pull: nothing half-registered, and the next pull works.

The image (busybox, which the store has, and two new gzip layers) is in the real registry;
the pull goes through a proxy (tests/support/registry3_images.StallProxy) that sends the top
layer's first MiB and then holds the connection. So the kill lands at a known point: the
middle layer downloaded, verified and unpacked into a .tmp-* layer directory (a pull publishes
its layers together, after one flush), the top one half-way in ingest/, no image record yet.
After the restart the store holds exactly what it held before the pull (the partial download
and the unpublished layer are gone), and a new pull completes, keeps the image ID and runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from sangja.image.ids import chain_ids
from tests.e2e.conftest import make_cli
from tests.support.daemon import SpawnedDaemon, target_kind
from tests.support.ports import free_local_port
from tests.support.prereq import require
from tests.support.registry import RegistryServer, available
from tests.support.registry3_images import HandImage, Layer, StallProxy, digest_of, tar_of
from tests.support.waiting import wait_until


def _layer_dirs(root: Path) -> set[str]:
    return {p.name for p in (root / "image" / "layers").iterdir()}


def _prepared(root: Path) -> list[Path]:
    """Layer directories unpacked and described but not yet renamed under their chain IDs."""
    return [p for p in (root / "image" / "layers").glob(".tmp-*") if (p / "layer.json").is_file()]


def test_kill9_during_a_pull_leaves_nothing_half_registered(fresh_daemon: SpawnedDaemon, tmp_path: Path,
                                                            busybox_tar: Path, cli_home: Path,
                                                            names: Callable[[str], str]) -> None:
    if target_kind() != "sangjad":
        pytest.skip("inspects sangjad's data root")
    require(available(), "docker-registry is not installed (scripts/setup.sh)")
    d = fresh_daemon
    root = Path(d.data_root)
    sangja = make_cli("sangja", d, cli_home)
    # busybox (which the store already has), a middle layer, the top layer that will stall.
    middle = tar_of({"one": os.urandom(256 << 10)})
    top = tar_of({"two": os.urandom(4 << 20), "msg": b"survived\n"})
    img = HandImage.build([Layer(busybox_tar.read_bytes(), "gzip"), Layer(middle, "gzip"), Layer(top, "gzip")])
    top_digest = digest_of(img.blobs[2][1])
    middle_chain = chain_ids(json.loads(img.config)["rootfs"]["diff_ids"])[1].split(":")[1]
    repo = names("kill9")
    images_before = set(d.image_ids())
    layers_before = _layer_dirs(root)

    with RegistryServer.start(tmp_path / "registry", free_local_port()) as reg:
        img.upload(reg.host, repo, "latest")
        with StallProxy(reg.host, {top_digest: 1 << 20}) as proxy:
            ref = f"{proxy.host}/{repo}"
            pull = sangja.popen("pull", ref)
            try:
                assert proxy.stalled.wait(60), "the pull never reached the top layer"
                wait_until(lambda: _prepared(root), timeout=60, what="the middle layer to be unpacked")
                partial = wait_until(lambda: [p for p in (root / "image" / "ingest").iterdir()
                                              if p.stat().st_size > 0],
                                     timeout=60, what="the top layer's partial download in ingest/")
                assert partial
                d.kill9()
            finally:
                proxy.release.set()
                _, err = pull.communicate(timeout=60)
            assert pull.returncode != 0, err

            # The state the crash left: an unpacked layer not yet published, a partial blob, no image.
            assert middle_chain not in _layer_dirs(root)
            assert _prepared(root)
            d.start()
            assert set(d.image_ids()) == images_before
            assert list((root / "image" / "ingest").iterdir()) == []
            assert _layer_dirs(root) == layers_before
            listed = d.get_json("/images/json?all=1")
            assert not any(ref in " ".join(i.get("RepoTags") or []) for i in listed)

            # The next pull completes, through the same proxy that now stalls nothing.
            proxy.stall.clear()
            out = sangja.ok("pull", ref, timeout=120)
            assert "Pull complete" in out and f"Digest: {img.manifest_digest}" in out, out
            inspect = d.get_json(f"/images/{ref}/json")
            assert inspect["Id"] == img.image_id
            assert inspect["RootFS"]["Layers"] == json.loads(img.config)["rootfs"]["diff_ids"]
            assert sangja.ok("run", "--rm", ref, "cat", "/msg", timeout=60) == "survived\n"
            sangja.ok("rmi", ref)
