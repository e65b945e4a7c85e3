"""zstd layers: an OCI image whose layers are zstd (two frames), an uncompressed tar and gzip,
put into the real registry by hand (tests/support/registry3_images.py), pulls with the docker
CLI, sangja and docker-py, keeps its image ID (the config digest) and runs."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import docker

from tests.e2e.conftest import make_cli
from tests.support.commands import Cli
from tests.support.daemon import Daemon
from tests.support.registry import RegistryServer
from tests.support.registry3_images import HandImage, Layer, digest_of, tar_of


def _zstd_image(busybox_tar: Path) -> HandImage:
    return HandImage.build([
        Layer(busybox_tar.read_bytes(), "zstd"),
        Layer(tar_of({"hello.txt": b"zstd-ok\n"}), "none"),
        Layer(tar_of({"etc/greeting": b"gzip-ok\n"}), "gzip"),
    ])


def test_a_zstd_image_pulls_and_runs(cli: Cli, daemon: Daemon, registry: RegistryServer, busybox_tar: Path,
                                     names: Callable[[str], str]) -> None:
    img = _zstd_image(busybox_tar)
    repo = names("zstd")
    img.upload(registry.host, repo, "v1")
    ref = f"{registry.host}/{repo}:v1"
    out = cli.ok("pull", ref, timeout=120)
    assert f"Digest: {img.manifest_digest}" in out and "Downloaded newer image" in out, out
    inspect = daemon.get_json(f"/images/{ref}/json")
    assert inspect["Id"] == img.image_id
    assert inspect["RootFS"]["Layers"] == json.loads(img.config)["rootfs"]["diff_ids"]
    assert cli.ok("run", "--rm", ref, "cat", "/hello.txt", "/etc/greeting") == "zstd-ok\ngzip-ok\n"
    cli.ok("rmi", ref)


def test_dockerpy_pulls_a_zstd_image(client: docker.DockerClient, registry: RegistryServer, busybox_tar: Path,
                                     names: Callable[[str], str]) -> None:
    img = _zstd_image(busybox_tar)
    repo = names("zstd")
    img.upload(registry.host, repo, "latest")
    image = client.images.pull(f"{registry.host}/{repo}", tag="latest")
    assert image.id == img.image_id
    assert client.containers.run(image.id, ["cat", "/hello.txt"], remove=True) == b"zstd-ok\n"
    client.images.remove(image.id, force=True)


def test_a_truncated_zstd_layer_is_refused_and_nothing_is_stored(fresh_daemon: Daemon, registry: RegistryServer,
                                                                 busybox_tar: Path, cli_home: Path,
                                                                 names: Callable[[str], str]) -> None:
    # A bottom layer no image in the store has (busybox's would be "Already exists").
    img = HandImage.build([Layer(tar_of({"data": os.urandom(1 << 20)}), "zstd"),
                           Layer(tar_of({"hello.txt": b"zstd-ok\n"}), "none")])
    repo = names("zstd")
    # The registry holds the zstd blob cut in half, under the cut blob's own digest and size:
    # the digest checks out, only decompression can tell.
    whole = img.blobs[0][1]
    broken = _with_first_blob(img, whole[: len(whole) // 2])
    broken.upload(registry.host, repo, "latest")
    before = set(fresh_daemon.image_ids())
    layers_dir = Path(fresh_daemon.data_root) / "image" / "layers"
    layers_before = {p.name for p in layers_dir.iterdir()}
    result = make_cli("sangja", fresh_daemon, cli_home)("pull", f"{registry.host}/{repo}", timeout=120)
    assert result.rc == 1, result
    assert "invalid zstd layer data: unexpected end of data" in result.err, result
    assert set(fresh_daemon.image_ids()) == before
    assert {p.name for p in layers_dir.iterdir() if not p.name.startswith(".del-")} == layers_before
    assert list((Path(fresh_daemon.data_root) / "image" / "ingest").iterdir()) == []


def _with_first_blob(img: HandImage, blob: bytes) -> HandImage:
    manifest = json.loads(img.manifest)
    manifest["layers"][0]["digest"] = digest_of(blob)
    manifest["layers"][0]["size"] = len(blob)
    return HandImage(img.config, [(img.blobs[0][0], blob), *img.blobs[1:]],
                     json.dumps(manifest, separators=(",", ":")).encode())
