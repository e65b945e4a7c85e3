"""--registry-mirror: docker.io pulls try the mirror first and fall back to the origin.

sangjad runs with `--registry-mirror http://127.0.0.1:<M>` (a real registry, Debian's
docker-registry) and `--docker-io-endpoint http://127.0.0.1:<O>`, which replaces
https://registry-1.docker.io as docker.io's origin: nothing here can reach the real Hub. The
origin is either a closed port (so a pull can only have come from the mirror) or a second
registry (for the fallback).

sangjad only: the origin override is sangja's test seam; dockerd has none.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from tests.conftest import _ensure_busybox
from tests.e2e.conftest import make_cli
from tests.support.commands import Cli
from tests.support.daemon import SangjaDaemon, target_kind
from tests.support.ports import free_local_port
from tests.support.prereq import require
from tests.support.registry import RegistryServer, available


class MirrorDaemon(SangjaDaemon):
    def __init__(self, base_dir: str, mirror: str, origin: str) -> None:
        super().__init__(base_dir)
        self.mirror = mirror
        self.origin = origin

    def argv(self) -> list[str]:
        return [*super().argv(), "--registry-mirror", self.mirror, "--docker-io-endpoint", self.origin]


@dataclass
class Setup:
    daemon: MirrorDaemon
    mirror: RegistryServer
    origin_port: int
    sangja: Cli
    docker: Cli
    base: Path

    def image_ids(self) -> list[str]:
        return self.daemon.image_ids()

    def inspect(self, ref: str) -> dict[str, object]:
        found: dict[str, object] = self.daemon.get_json(f"/images/{ref}/json")
        return found


@pytest.fixture
def setup(tmp_path: Path, busybox_tar: Path) -> Iterator[Setup]:
    if target_kind() != "sangjad":
        pytest.skip("sangjad's --docker-io-endpoint keeps these tests off the real Hub; dockerd has no such seam")
    require(available(), "docker-registry is not installed (scripts/setup.sh)")
    origin_port = free_local_port()
    with RegistryServer.start(tmp_path / "mirror", free_local_port()) as mirror:
        d = MirrorDaemon.create(mirror=f"http://{mirror.host}", origin=f"http://127.0.0.1:{origin_port}")
        try:
            d.start()
            _ensure_busybox(d, busybox_tar)
            yield Setup(d, mirror, origin_port, make_cli("sangja", d, tmp_path / "home"),
                        make_cli("docker", d, tmp_path / "docker-home"), tmp_path)
        finally:
            leaked = d.close()
            assert not leaked, f"the daemon leaked {leaked}"


def _publish(s: Setup, target: str) -> str:
    """Push busybox as `target`, then empty the store; the busybox image ID."""
    image_id = str(s.inspect("busybox")["Id"])
    s.sangja.ok("tag", "busybox", target)
    s.sangja.ok("push", target, timeout=120)
    s.sangja.ok("rmi", target, "busybox")
    assert s.image_ids() == []
    return image_id


def test_docker_io_pulls_come_from_the_mirror(setup: Setup, names: Callable[[str], str]) -> None:
    s = setup
    name = names("mirrored")
    image_id = _publish(s, f"{s.mirror.host}/library/{name}")

    # The origin is a closed port: only the mirror can have served this.
    out = s.docker.ok("pull", name, timeout=120)
    assert "Pull complete" in out and f"Downloaded newer image for {name}:latest" in out, out
    pulled = s.inspect(name)
    assert pulled["Id"] == image_id
    assert pulled["RepoTags"] == [f"{name}:latest"]
    digests = pulled["RepoDigests"]
    assert isinstance(digests, list) and len(digests) == 1 and digests[0].startswith(f"{name}@sha256:")
    assert s.docker.ok("run", "--rm", name, "echo", "from-the-mirror").strip() == "from-the-mirror"
    # The fully qualified name is the same image; sangja's pull finds it up to date.
    again = s.sangja.ok("pull", f"docker.io/library/{name}:latest", timeout=120)
    assert f"Image is up to date for {name}:latest" in again, again

    info = s.docker.ok("info")
    assert "Registry Mirrors:" in info and f"http://{s.mirror.host}/" in info
    assert s.daemon.get_json("/info")["RegistryConfig"]["Mirrors"] == [f"http://{s.mirror.host}/"]

    # A name the mirror lacks falls back to the origin, whose failure is the one reported: it is
    # the overridden origin on loopback that was tried, never registry-1.docker.io.
    missing = s.docker("pull", names("absent"), timeout=120)
    assert missing.rc == 1, missing
    assert f"http://127.0.0.1:{s.origin_port}/v2/" in missing.err and "connection refused" in missing.err, missing
    assert "docker.io" not in missing.err.replace("docker.io/library", ""), missing
    assert s.image_ids() == [image_id]
    s.sangja.ok("rmi", name)


def test_pulls_fall_back_to_the_origin(setup: Setup, names: Callable[[str], str]) -> None:
    s = setup
    name = names("origin-only")
    with RegistryServer.start(s.base / "origin", s.origin_port) as origin:
        # A push to docker.io goes to the origin (never to a mirror: mirrors are for pulls).
        image_id = str(s.inspect("busybox")["Id"])
        s.sangja.ok("tag", "busybox", name)
        pushed = s.sangja.ok("push", name, timeout=120)
        assert f"The push refers to repository [docker.io/library/{name}]" in pushed, pushed
        manifest = subprocess.run(
            ["curl", "-sf", "-H", "Accept: application/vnd.docker.distribution.manifest.v2+json",
             f"http://{origin.host}/v2/library/{name}/manifests/latest"], capture_output=True, timeout=30)
        assert manifest.returncode == 0 and json.loads(manifest.stdout)["schemaVersion"] == 2
        absent = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                 f"http://{s.mirror.host}/v2/library/{name}/manifests/latest"],
                                capture_output=True, timeout=30)
        assert absent.stdout == b"404"
        s.sangja.ok("rmi", name, "busybox")
        assert s.image_ids() == []

        # The mirror answers 404 for it: the origin serves it.
        out = s.sangja.ok("pull", name, timeout=120)
        assert f"Downloaded newer image for {name}:latest" in out, out
        assert s.inspect(name)["Id"] == image_id
        assert s.sangja.ok("run", "--rm", name, "echo", "from-the-origin").strip() == "from-the-origin"

        # The mirror is down (connection refused): the origin serves it too, asked the way
        # docker-py asks (fromImage=name&tag=latest).
        s.mirror.stop()
        s.sangja.ok("rmi", name)
        assert s.image_ids() == []
        client = docker.DockerClient(base_url=s.daemon.host, version="auto", timeout=120)
        try:
            image = client.images.pull(name, tag="latest")
        finally:
            client.close()
        assert image.id == image_id
        assert s.inspect(name)["RepoTags"] == [f"{name}:latest"]
        s.sangja.ok("rmi", name)
