"""Volumes end to end, through the docker CLI and sangja: create/ls/inspect/rm/prune, `run -v`
with named, anonymous and image volumes, copy-up, read-only mounts, tmpfs, and Docker's errors."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest

from tests.support.commands import Cli
from tests.support.flows import inspect, validate_against_swagger


@pytest.fixture
def volumes(cli: Cli) -> Iterator[list[str]]:
    """Volume names the test creates; removed (with their containers gone) after it."""
    made: list[str] = []
    yield made
    for name in made:
        cli("volume", "rm", "-f", name)


def test_named_volume_outlives_its_container_with_copy_up(
    cli: Cli, names: Callable[[str], str], volumes: list[str]
) -> None:
    vol = names("data")
    volumes.append(vol)
    assert cli.ok("volume", "create", "--label", "tier=test", vol).strip() == vol
    assert vol in cli.ok("volume", "ls", "-q").split()
    assert cli.ok("volume", "ls", "-q", "--filter", "label=tier=test").split() == [vol]
    info = inspect(cli, vol, "volume")
    validate_against_swagger(info, "Volume")
    assert info["Name"] == vol and info["Driver"] == "local" and info["Labels"] == {"tier": "test"}

    # A new, empty volume mounted on /etc is first filled with the image's /etc (copy-up).
    out = cli.ok("run", "--rm", "-v", f"{vol}:/etc", "busybox", "sh", "-c", "echo kept > /etc/marker; cat /etc/passwd")
    assert out.startswith("root:")
    # The data outlived that container; a read-only mount refuses writes.
    r = cli("run", "--rm", "-v", f"{vol}:/etc:ro", "busybox", "sh", "-c", "cat /etc/marker; touch /etc/new")
    assert r.rc == 1 and r.out == "kept\n" and "Read-only file system" in r.err, r

    holder = names("holder")
    cid = cli.ok("run", "-d", "--name", holder, "-v", f"{vol}:/data", "busybox", "sleep", "60").strip()
    try:
        mounts = inspect(cli, holder)["Mounts"]
        assert [(m["Type"], m["Name"], m["Destination"], m["RW"]) for m in mounts] == [("volume", vol, "/data", True)]
        assert mounts[0]["Source"] == info["Mountpoint"]
        r = cli("volume", "rm", vol)
        assert r.rc == 1 and f"remove {vol}: volume is in use - [{cid}]" in r.err, r
    finally:
        cli.ok("rm", "-f", holder)
    assert cli.ok("volume", "rm", vol).strip() == vol
    r = cli("volume", "inspect", vol)
    assert r.rc == 1 and f"get {vol}: no such volume" in r.err, r


def test_anonymous_and_image_volumes_go_with_rm_v(
    cli: Cli, names: Callable[[str], str], busybox_tar: Path
) -> None:
    image = names("volimage")
    cli.ok("import", "-c", 'CMD ["sh"]', "-c", "VOLUME /etc", str(busybox_tar), image)
    name = names("anon")
    cli.ok("run", "-d", "--name", name, "-v", "/scratch", image, "sleep", "60")
    try:
        mounts = {m["Destination"]: m for m in inspect(cli, name)["Mounts"]}
        assert set(mounts) == {"/etc", "/scratch"}
        anon = [m["Name"] for m in mounts.values()]
        assert all(m["Type"] == "volume" and len(m["Name"]) == 64 for m in mounts.values())
        listed = cli.ok("volume", "ls", "-q").split()
        assert set(anon) <= set(listed)
        # the image's VOLUME got the image's content
        assert "root:" in cli.ok("run", "--rm", "--volumes-from", name, "busybox", "cat", "/etc/passwd")
    finally:
        cli.ok("rm", "-fv", name)
    assert not set(anon) & set(cli.ok("volume", "ls", "-q").split())


def test_tmpfs_mounts_and_tmpfs_volumes(cli: Cli, names: Callable[[str], str], volumes: list[str]) -> None:
    out = cli.ok("run", "--rm", "--tmpfs", "/t:size=1m", "busybox", "grep", " /t ", "/proc/mounts")
    assert out.startswith("tmpfs /t tmpfs ") and "size=1024k" in out and "noexec" in out
    out = cli.ok("run", "--rm", "--mount", "type=tmpfs,target=/m,tmpfs-size=2m", "busybox",
                 "grep", " /m ", "/proc/mounts")
    assert out.startswith("tmpfs /m tmpfs ") and "size=2048k" in out
    vol = names("tmpvol")
    volumes.append(vol)
    cli.ok("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=3m", vol)
    assert inspect(cli, vol, "volume")["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=3m"}
    out = cli.ok("run", "--rm", "-v", f"{vol}:/v", "busybox", "grep", " /v ", "/proc/mounts")
    assert out.startswith("tmpfs /v tmpfs ") and "size=3072k" in out
    r = cli("run", "--rm", "--read-only", "busybox", "touch", "/f")
    assert r.rc == 1 and "Read-only file system" in r.err, r


def test_volume_errors_and_prune(cli: Cli, names: Callable[[str], str]) -> None:
    r = cli("volume", "create", "bad/name")
    assert r.rc == 1 and '"bad/name" includes invalid characters for a local volume name' in r.err, r
    r = cli("run", "--rm", "--mount", "type=bind,source=/no/such/dir,target=/x", "busybox", "true")
    assert r.rc == 125 and "bind source path does not exist: /no/such/dir" in r.err, r
    r = cli("volume", "rm", "no-such-volume")
    assert r.rc == 1 and "get no-such-volume: no such volume" in r.err, r
    named = names("keep")
    only = f"label=run={named}"  # prune only this test's volumes on the shared daemon
    anon = cli.ok("volume", "create", "--label", f"run={named}").strip()
    cli.ok("volume", "create", "--label", f"run={named}", named)
    try:
        out = cli.ok("volume", "prune", "-f", "--filter", only)
        assert anon in out and named not in out and "Total reclaimed space:" in out
        assert named in cli.ok("volume", "prune", "-af", "--filter", only)
    finally:
        cli("volume", "rm", "-f", named, anon)


def test_docker_py_volumes(client: docker.DockerClient, names: Callable[[str], str]) -> None:
    name = names("py")
    vol = client.volumes.create(name, labels={"a": "b"})
    try:
        assert vol.name == name and client.volumes.get(name).attrs["Labels"] == {"a": "b"}
        assert name in [v.name for v in client.volumes.list(filters={"label": "a=b"})]
        out = client.containers.run("busybox", ["sh", "-c", "echo x > /v/f; cat /v/f"], remove=True,
                                    volumes={name: {"bind": "/v", "mode": "rw"}})
        assert out == b"x\n"
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            vol.remove()
    with pytest.raises(docker.errors.NotFound):
        client.volumes.get(name)
