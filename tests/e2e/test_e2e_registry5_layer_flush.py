"""A pulled layer is published before the disk has its unpacked files; they are flushed in the
background, and after the machine went down first they are unpacked again from the kept blob
(daemon/layer_flush.py).

A real power cut can't be made here; what it leaves can: a layer still marked `unflushed` by an
earlier boot, with files missing or cut short. The next start must give the layer back whole.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from sangja.image.ids import chain_ids
from tests.e2e.conftest import make_cli
from tests.support.commands import Cli
from tests.support.daemon import SpawnedDaemon, target_kind
from tests.support.registry import RegistryServer
from tests.support.registry3_images import HandImage, Layer, tar_of
from tests.support.waiting import wait_until

MARKER = "unflushed"


def _setup(d: SpawnedDaemon, cli_home: Path, busybox_tar: Path,
           files: dict[str, bytes]) -> tuple[Cli, Path, HandImage, Path]:
    """(the sangja CLI, the layer store's root, busybox plus a layer of `files`, that layer's directory)."""
    if target_kind() != "sangjad":
        pytest.skip("inspects sangjad's data root")
    layers_root = Path(d.data_root) / "image" / "layers"
    img = HandImage.build([Layer(busybox_tar.read_bytes(), "gzip"), Layer(tar_of(files), "gzip")])
    top_dir = layers_root / chain_ids(json.loads(img.config)["rootfs"]["diff_ids"])[1].split(":")[1]
    return make_cli("sangja", d, cli_home), layers_root, img, top_dir


def test_pulled_layers_are_flushed_later_and_rebuilt_after_a_crash_of_the_machine(
    fresh_daemon: SpawnedDaemon, registry: RegistryServer, busybox_tar: Path, cli_home: Path,
    names: Callable[[str], str],
) -> None:
    d = fresh_daemon
    payload = os.urandom(1 << 20)
    sangja, layers_root, img, top_dir = _setup(d, cli_home, busybox_tar, {"data": payload, "msg": b"whole again\n"})
    repo = names("flush")

    img.upload(registry.host, repo, "latest")
    ref = f"{registry.host}/{repo}"
    sangja.ok("rmi", "busybox")  # the pull unpacks both layers itself
    assert "Pull complete" in sangja.ok("pull", ref, timeout=120)

    # The background flush ends and takes the markers away.
    wait_until(lambda: not (top_dir / MARKER).exists(), timeout=30, what="the pulled layer to be flushed")
    assert not list(layers_root.glob(f"*/{MARKER}"))

    # sangjad killed before its flush ended, the machine still up: the page cache holds the
    # files, so the next start only flushes them (and rebuilds nothing).
    d.kill9()
    this_boot = Path("/proc/sys/kernel/random/boot_id").read_text()
    for layer in layers_root.iterdir():
        if (layer / "layer.json").is_file():
            (layer / MARKER).write_text(this_boot)
    inode = (top_dir / "diff" / "data").stat().st_ino
    d.start()
    assert not list(layers_root.glob(f"*/{MARKER}"))
    assert (top_dir / "diff" / "data").stat().st_ino == inode

    # What a power cut before that flush would have left: markers of an earlier boot, files
    # cut short or missing.
    d.kill9()
    for layer in layers_root.iterdir():
        if (layer / "layer.json").is_file():
            (layer / MARKER).write_text("00000000-0000-0000-0000-000000000000\n")
    (top_dir / "diff" / "data").write_bytes(payload[:1000])
    (top_dir / "diff" / "msg").unlink()
    d.start()

    assert not list(layers_root.glob(f"*/{MARKER}"))
    assert (top_dir / "diff" / "data").read_bytes() == payload
    assert sangja.ok("run", "--rm", ref, "cat", "/msg", timeout=60) == "whole again\n"
    assert sangja.ok("run", "--rm", ref, "sh", "-c", "wc -c < /data", timeout=60).strip() == str(len(payload))
    assert d.get_json(f"/images/{ref}/json")["Id"] == img.image_id
    sangja.ok("rmi", ref)


def test_a_layer_that_cannot_be_rebuilt_is_removed_and_the_next_pull_fetches_it(
    fresh_daemon: SpawnedDaemon, registry: RegistryServer, busybox_tar: Path, cli_home: Path,
    names: Callable[[str], str],
) -> None:
    d = fresh_daemon
    sangja, _, img, top_dir = _setup(d, cli_home, busybox_tar, {"msg": b"fetched again\n"})
    repo = names("flush-lost")

    img.upload(registry.host, repo, "latest")
    ref = f"{registry.host}/{repo}"
    sangja.ok("pull", ref, timeout=120)
    wait_until(lambda: not (top_dir / MARKER).exists(), timeout=30, what="the pulled layer to be flushed")

    # A power cut before the flush, and the kept blob damaged too (a disk error).
    d.kill9()
    (top_dir / MARKER).write_text("00000000-0000-0000-0000-000000000000\n")
    (top_dir / "diff" / "msg").unlink()
    (top_dir / "dist-blob").write_bytes(b"not gzip")
    d.start()

    assert not top_dir.exists()
    assert repo in sangja.ok("images")  # the image is still listed, its layer to be fetched
    failed = sangja("run", "--rm", ref, "cat", "/msg", timeout=60)
    assert failed.rc != 0 and "pull the image again" in failed.err, failed
    out = sangja.ok("pull", ref, timeout=120)
    assert "Pull complete" in out, out
    assert sangja.ok("run", "--rm", ref, "cat", "/msg", timeout=60) == "fetched again\n"
    sangja.ok("rmi", ref)
