"""Pull, push and login against a real registry (Debian's docker-registry on 127.0.0.1),
driven by the docker CLI and sangja (`cli`) and by docker-py (`client`)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest

from tests.e2e.conftest import make_cli
from tests.support.commands import Cli
from tests.support.daemon import Daemon
from tests.support.ports import free_local_port
from tests.support.prereq import require, require_programs
from tests.support.registry import RegistryServer, available


@pytest.fixture
def auth_registry(tmp_path: Path) -> Iterator[RegistryServer]:
    require(available(), "docker-registry is not installed (scripts/setup.sh)")
    require_programs("htpasswd")
    with RegistryServer.start(tmp_path / "registry", free_local_port(), htpasswd=("alice", "s3cret")) as reg:
        yield reg


def _image(daemon: Daemon, ref: str) -> dict[str, object]:
    result: dict[str, object] = daemon.get_json(f"/images/{ref}/json")
    return result


def test_push_then_pull_back(cli: Cli, daemon: Daemon, registry: RegistryServer,
                             names: Callable[[str], str]) -> None:
    repo = f"{registry.host}/{names('bb')}"
    original = _image(daemon, "busybox")["Id"]
    cli.ok("tag", "busybox", f"{repo}:v1")
    first = cli.ok("push", f"{repo}:v1", timeout=120)
    assert f"The push refers to repository [{repo}]" in first
    assert "Pushed" in first
    digest = first.strip().splitlines()[-1].split("digest: ")[1].split()[0]
    assert digest.startswith("sha256:")
    # The registry has exactly this manifest under the tag.
    second = cli.ok("push", f"{repo}:v1", timeout=120)
    assert "Layer already exists" in second and "Pushed" not in second
    assert f"v1: digest: {digest} size:" in second

    cli.ok("rmi", f"{repo}:v1")
    out = cli.ok("pull", f"{repo}:v1", timeout=120)
    assert f"Digest: {digest}" in out
    assert "Pull complete" in out or "Already exists" in out
    assert out.strip().splitlines()[-1] == f"{repo}:v1"
    pulled = _image(daemon, f"{repo}:v1")
    assert pulled["Id"] == original
    assert f"{repo}@{digest}" in (pulled["RepoDigests"] or [])  # type: ignore[operator]
    assert cli.ok("run", "--rm", f"{repo}:v1", "echo", "pulled-ok").strip() == "pulled-ok"
    listing = cli.ok("images", "--digests", repo)
    assert digest in listing


def test_pull_into_an_empty_store_downloads_and_runs(fresh_daemon: Daemon, registry: RegistryServer,
                                                     cli_home: Path, names: Callable[[str], str]) -> None:
    docker_cli = make_cli("docker", fresh_daemon, cli_home)
    sangja = make_cli("sangja", fresh_daemon, cli_home)
    repo = f"{registry.host}/{names('bb')}"
    image_id = _image(fresh_daemon, "busybox")["Id"]
    sangja.ok("tag", "busybox", f"{repo}:latest")
    sangja.ok("push", repo, timeout=120)
    sangja.ok("rmi", f"{repo}:latest", "busybox")
    assert fresh_daemon.image_ids() == []
    out = docker_cli.ok("pull", repo, timeout=120)
    assert "Using default tag: latest" in out
    assert "Pull complete" in out and "Downloaded newer image" in out
    assert _image(fresh_daemon, repo)["Id"] == image_id
    again = docker_cli.ok("pull", repo, timeout=120)
    assert "Image is up to date" in again
    # docker run of an image that is not there pulls it through /images/create.
    docker_cli.ok("rmi", repo)
    run = docker_cli("run", "--rm", repo, "echo", "ran")
    assert run.rc == 0, run
    assert "Unable to find image" in run.err and run.out.strip() == "ran"
    # A pull by digest.
    digest = _image(fresh_daemon, repo)["RepoDigests"][0].split("@")[1]  # type: ignore[index]
    docker_cli.ok("rmi", repo)
    out = docker_cli.ok("pull", f"{repo}@{digest}", timeout=120)
    assert _image(fresh_daemon, f"{repo}@{digest}")["Id"] == image_id


def test_pull_of_a_missing_tag_or_repository(cli: Cli, registry: RegistryServer) -> None:
    result = cli("pull", f"{registry.host}/nothing:here")
    assert result.rc == 1
    assert f"manifest for {registry.host}/nothing:here not found: manifest unknown" in result.err


def test_pull_from_a_registry_that_is_down(cli: Cli) -> None:
    port = free_local_port()
    result = cli("pull", f"127.0.0.1:{port}/x:y")
    assert result.rc == 1
    assert "connection refused" in result.err


def test_a_corrupted_blob_is_refused_and_nothing_is_stored(fresh_daemon: Daemon, registry: RegistryServer,
                                                           cli_home: Path, names: Callable[[str], str]) -> None:
    sangja = make_cli("sangja", fresh_daemon, cli_home)
    repo = f"{registry.host}/{names('bb')}"
    sangja.ok("tag", "busybox", repo)
    sangja.ok("push", repo, timeout=120)
    manifest = json.loads(subprocess.run(
        ["curl", "-sf", "-H", "Accept: application/vnd.docker.distribution.manifest.v2+json",
         f"http://{registry.host}/v2/{repo.split('/', 1)[1]}/manifests/latest"],
        capture_output=True, check=True, timeout=30).stdout)
    layer = registry.blob_data(manifest["layers"][0]["digest"])
    data = bytearray(layer.read_bytes())
    data[len(data) // 2] ^= 0xFF
    layer.write_bytes(bytes(data))
    sangja.ok("rmi", repo, "busybox")
    result = sangja("pull", repo, timeout=120)
    assert result.rc == 1
    assert "verification failed" in result.err
    assert fresh_daemon.image_ids() == []
    root = Path(fresh_daemon.data_root or "") / "image"
    assert list((root / "ingest").iterdir()) == []
    assert [p for p in (root / "layers").iterdir() if not p.name.startswith(".del-")] == []


def test_login_push_pull_logout_with_basic_auth(cli_kind: str, daemon: Daemon,
                                                auth_registry: RegistryServer, tmp_path: Path,
                                                names: Callable[[str], str]) -> None:
    c = make_cli(cli_kind, daemon, tmp_path / "home")
    host = auth_registry.host
    repo = f"{host}/{names('private')}"
    c.ok("tag", "busybox", repo)
    denied = c("push", repo, timeout=60)
    assert denied.rc == 1
    bad = c("login", "-u", "alice", "--password-stdin", host, input=b"wrong\n")
    assert bad.rc == 1 and "401 Unauthorized" in bad.err
    good = c("login", "-u", "alice", "--password-stdin", host, input=b"s3cret\n")
    assert good.rc == 0 and "Login Succeeded" in good.out, good
    config_file = (tmp_path / "home" / "config.json") if cli_kind == "docker" else \
        (tmp_path / "home" / ".docker" / "config.json")
    assert host in json.loads(config_file.read_text())["auths"]
    assert "Pushed" in c.ok("push", repo, timeout=120)
    c.ok("rmi", repo)
    assert "Downloaded newer image" in c.ok("pull", repo, timeout=120)
    assert "Removing login credentials" in c.ok("logout", host)
    c.ok("rmi", repo)
    again = c("pull", repo, timeout=60)
    assert again.rc == 1 and "pull access denied" in again.err


@pytest.fixture(params=["docker", "sangja"])
def cli_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_dockerpy_push_and_pull(client: docker.DockerClient, daemon: Daemon, registry: RegistryServer,
                                names: Callable[[str], str]) -> None:
    repo = f"{registry.host}/{names('py')}"
    image = client.images.get("busybox")
    image.tag(repo, "t1")
    lines = list(client.images.push(repo, tag="t1", stream=True, decode=True))
    assert any("aux" in line and line["aux"]["Tag"] == "t1" for line in lines), lines
    client.images.remove(f"{repo}:t1")
    pulled = client.images.pull(repo, tag="t1")
    assert pulled.id == image.id
    with pytest.raises(docker.errors.NotFound):
        client.images.pull(repo, tag="missing")


def test_skopeo_reads_what_sangja_pushed(cli: Cli, registry: RegistryServer, names: Callable[[str], str]) -> None:
    require_programs("skopeo")
    repo = f"{registry.host}/{names('sk')}"
    cli.ok("tag", "busybox", f"{repo}:1")
    cli.ok("push", f"{repo}:1", timeout=120)
    out = subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{repo}:1"], capture_output=True,
                         timeout=60, check=True).stdout
    info = json.loads(out)
    assert info["Os"] == "linux" and len(info["Layers"]) == 1
    config = json.loads(subprocess.run(["skopeo", "inspect", "--config", "--tls-verify=false", f"docker://{repo}:1"],
                                       capture_output=True, timeout=60, check=True).stdout)
    assert config["rootfs"]["type"] == "layers"
