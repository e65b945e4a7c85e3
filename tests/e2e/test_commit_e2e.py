"""commit, diff and export end to end, through the docker CLI and sangja (and docker-py).

Each `cli` test runs once with each CLI against the shared daemon.
"""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Callable

import docker

from tests.support.commands import Cli
from tests.support.flows import inspect, validate_against_swagger
from tests.support.waiting import wait_until

SETUP = (
    "mkdir -p /data/sub && echo one > /data/sub/f && echo keep > /data/keep && "
    "echo changed >> /etc/passwd && rm /etc/group && mkdir /emptydir"
)


def _container_with_changes(cli: Cli, name: str) -> None:
    cli.ok("run", "--name", name, "busybox", "sh", "-c", SETUP)


def test_commit_shows_added_changed_and_deleted_files(cli: Cli, names: Callable[[str], str]) -> None:
    ctr, repo = names("commit-src"), names("committed")
    _container_with_changes(cli, ctr)
    image_id = cli.ok("commit", "-a", "Ann <ann@example.com>", "-m", "my message", ctr, f"{repo}:v1").strip()
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", image_id), image_id

    image = inspect(cli, f"{repo}:v1", kind="image")
    validate_against_swagger(image, "ImageInspect")
    assert image["Id"] == image_id
    assert image["Author"] == "Ann <ann@example.com>"
    assert image["Comment"] == "my message"
    base = inspect(cli, "busybox", kind="image")
    assert image["Parent"] == base["Id"]
    assert len(image["RootFS"]["Layers"]) == len(base["RootFS"]["Layers"]) + 1
    assert image["Config"]["Cmd"] == ["sh", "-c", SETUP]   # the container's config is kept

    out = cli.ok("run", "--rm", "--entrypoint", "sh", f"{repo}:v1", "-c",
                 "cat /data/sub/f /data/keep; tail -n1 /etc/passwd; ls /etc/group 2>&1; test -d /emptydir && echo dir")
    lines = out.splitlines()
    assert lines[:3] == ["one", "keep", "changed"]
    assert "No such file" in lines[3]
    assert lines[4] == "dir"

    history = cli.ok("history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Comment}}", f"{repo}:v1").splitlines()
    assert history[0] == f"sh -c {SETUP}|my message"


def test_commit_with_changes_and_a_running_container(cli: Cli, names: Callable[[str], str]) -> None:
    ctr, repo = names("commit-run"), names("committed")
    cli.ok("run", "-d", "--name", ctr, "busybox", "sh", "-c", "echo hi > /hello; sleep 300")
    wait_until(lambda: "A /hello" in cli.ok("diff", ctr) or None, timeout=30)
    image_id = cli.ok(
        "commit",
        "-c", 'CMD ["cat", "/hello"]',
        "-c", "ENV MODE=prod",
        "-c", "EXPOSE 8080",
        "-c", "LABEL team=core",
        "-c", "WORKDIR /srv",
        "-c", "USER nobody",
        "-c", "VOLUME /cache",
        "-c", "STOPSIGNAL SIGINT",
        "-c", 'ENTRYPOINT ["/bin/env"]',
        ctr, repo,
    ).strip()
    assert inspect(cli, ctr)["State"]["Running"] is True   # commit pauses, then resumes
    assert inspect(cli, ctr)["State"]["Paused"] is False
    config = inspect(cli, image_id, kind="image")["Config"]
    assert config["Cmd"] == ["cat", "/hello"]
    assert config["Entrypoint"] == ["/bin/env"]
    assert "MODE=prod" in config["Env"]
    assert "8080/tcp" in config["ExposedPorts"]
    assert config["Labels"] == {"team": "core"}
    assert config["WorkingDir"] == "/srv"
    assert config["User"] == "nobody"
    assert "/cache" in config["Volumes"]
    assert config["StopSignal"] == "SIGINT"
    out = cli.ok("run", "--rm", "--user", "root", "--entrypoint", "cat", f"{repo}:latest", "/hello")
    assert out == "hi\n"
    cli.ok("rm", "-f", ctr)


def test_commit_without_changes_adds_an_empty_layer(cli: Cli, names: Callable[[str], str]) -> None:
    ctr = names("commit-empty")
    cli.ok("create", "--name", ctr, "busybox", "true")
    assert cli.ok("diff", ctr) == ""
    image_id = cli.ok("commit", ctr).strip()
    image = inspect(cli, image_id, kind="image")
    base = inspect(cli, "busybox", kind="image")
    assert image["RootFS"]["Layers"] == base["RootFS"]["Layers"]
    assert image["RepoTags"] == []


def test_commit_errors(cli: Cli, names: Callable[[str], str]) -> None:
    gone = names("gone")
    result = cli("commit", gone)
    assert result.rc == 1
    assert f"No such container: {gone}" in result.err
    ctr = names("commit-bad")
    cli.ok("create", "--name", ctr, "busybox")
    result = cli("commit", "-c", "FROM busybox", ctr)
    assert result.rc != 0 and "FROM is not a valid change command" in result.err


def test_diff_lists_changes(cli: Cli, names: Callable[[str], str]) -> None:
    ctr = names("diff")
    _container_with_changes(cli, ctr)
    assert cli.ok("diff", ctr).splitlines() == [
        "A /data",
        "A /data/keep",
        "A /data/sub",
        "A /data/sub/f",
        "A /emptydir",
        "C /etc",
        "D /etc/group",
        "C /etc/passwd",
    ]


def test_export_then_import_round_trips(cli: Cli, names: Callable[[str], str]) -> None:
    ctr, repo = names("export"), names("reimported")
    _container_with_changes(cli, ctr)
    exported = cli.popen("export", ctr)
    data, _ = exported.communicate(timeout=60)
    assert exported.returncode == 0
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        names_in = set(tf.getnames())
    assert "data/sub/f" in names_in and "bin/sh" in names_in and "etc/group" not in names_in
    image_id = cli.ok("import", "-c", 'CMD ["sh"]', "-", repo, input=data).strip()
    assert image_id.startswith("sha256:")
    assert cli.ok("run", "--rm", repo, "cat", "/data/sub/f") == "one\n"
    refused = cli("export", names("missing"))
    assert refused.rc == 1 and "No such container" in refused.err


def test_docker_py_commit_diff_export(client: docker.DockerClient, names: Callable[[str], str]) -> None:
    ctr = client.containers.run("busybox", ["sh", "-c", "echo x > /x"], name=names("py"), detach=True)
    try:
        assert ctr.wait(timeout=60)["StatusCode"] == 0
        assert {"Path": "/x", "Kind": 1} in ctr.diff()
        image = ctr.commit(repository=names("pycommit"), tag="t", message="from py", changes=["ENV A=b"])
        assert "A=b" in image.attrs["Config"]["Env"]
        assert image.attrs["Comment"] == "from py"
        data = b"".join(ctr.export())
        with tarfile.open(fileobj=io.BytesIO(data)) as tf:
            assert tf.extractfile("x").read() == b"x\n"  # type: ignore[union-attr]
        client.images.remove(image.id, force=True)
    finally:
        ctr.remove(force=True)
