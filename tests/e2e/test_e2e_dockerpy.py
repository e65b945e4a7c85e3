"""docker-py (the Docker SDK for Python) against the daemon, unchanged."""

from __future__ import annotations

from collections.abc import Callable

import docker
import docker.errors
import pytest

from tests.support.daemon import Daemon, target_kind
from tests.support.flows import validate_against_swagger
from tests.support.waiting import wait_until

LOOP = ["sh", "-c", "echo hello; while :; do sleep 1; done"]


def test_ping_and_version(client: docker.DockerClient, daemon: Daemon) -> None:
    assert client.ping() is True
    version = client.version()
    validate_against_swagger(version, "SystemVersion")
    if target_kind() == "sangjad":
        assert version["ApiVersion"] == "1.51"
        assert version["MinAPIVersion"] == "1.24"
    assert version["Os"] == "linux"
    assert any(c["Name"] == "Engine" for c in version["Components"])
    assert client.api.api_version == version["ApiVersion"]  # "auto" negotiated the server's version


def test_run_detached_logs_stop_wait_remove(client: docker.DockerClient, names: Callable[[str], str]) -> None:
    name = names("py")
    container = client.containers.run("busybox", LOOP, detach=True, name=name)
    wait_until(lambda: b"hello\n" in container.logs(), timeout=30, what="hello in the logs")
    container.reload()
    assert container.status == "running"
    assert container.name == name
    assert name in [c.name for c in client.containers.list()]

    container.stop(timeout=1)
    outcome = container.wait(timeout=30)
    assert outcome["StatusCode"] == 137
    assert outcome.get("Error") is None  # dockerd >= 25 omits it, older ones send null
    container.reload()
    assert container.status == "exited"
    assert container.attrs["State"]["ExitCode"] == 137
    assert container.logs() == b"hello\n"

    container.remove()
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(name)


def test_wait_returns_the_exit_code(client: docker.DockerClient) -> None:
    container = client.containers.run("busybox", ["sh", "-c", "echo bye; echo oops >&2; exit 4"], detach=True)
    try:
        assert container.wait(timeout=30)["StatusCode"] == 4
        assert container.logs(stdout=True, stderr=False) == b"bye\n"
        assert container.logs(stdout=False, stderr=True) == b"oops\n"
    finally:
        container.remove(force=True)


def test_run_attached_returns_output(client: docker.DockerClient) -> None:
    assert client.containers.run("busybox", ["echo", "hi there"], remove=True) == b"hi there\n"
    with pytest.raises(docker.errors.ContainerError) as info:
        client.containers.run("busybox", ["sh", "-c", "exit 3"], remove=True)
    assert info.value.exit_status == 3


def test_containers_list_all(client: docker.DockerClient, names: Callable[[str], str]) -> None:
    created = client.containers.create("busybox", ["true"], name=names("made"))
    running = client.containers.run("busybox", LOOP, detach=True, name=names("up"))
    try:
        listed = {c.id for c in client.containers.list()}
        everything = {c.id: c.status for c in client.containers.list(all=True)}
        assert running.id in listed and created.id not in listed
        assert everything[created.id] == "created" and everything[running.id] == "running"
    finally:
        running.remove(force=True)
        created.remove()


def test_images_list(client: docker.DockerClient) -> None:
    images = client.images.list()
    tags = [t for image in images for t in image.tags]
    assert "busybox:latest" in tags
    busybox = client.images.get("busybox")
    assert busybox.id.startswith("sha256:") and busybox.attrs["Config"]["Cmd"] == ["sh"]
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get("no-such-image-here")


def test_inspect_container_matches_the_swagger(client: docker.DockerClient, names: Callable[[str], str]) -> None:
    container = client.containers.run("busybox", LOOP, detach=True, name=names("insp"))
    try:
        running = client.api.inspect_container(container.id)
        validate_against_swagger(running, "ContainerInspectResponse")
        assert running["State"]["Running"] is True and running["State"]["Pid"] > 0
        assert running["Config"]["Cmd"] == LOOP

        container.stop(timeout=1)
        stopped = client.api.inspect_container(container.id)
        validate_against_swagger(stopped, "ContainerInspectResponse")
        assert stopped["State"]["Running"] is False and stopped["State"]["ExitCode"] == 137

        summary = client.api.containers(all=True, filters={"id": container.id})
        assert [s["Id"] for s in summary] == [container.id]
        validate_against_swagger(summary[0], "ContainerSummary")
    finally:
        container.remove(force=True)


def test_errors_carry_dockers_messages(client: docker.DockerClient, names: Callable[[str], str]) -> None:
    missing = names("ghost")
    with pytest.raises(docker.errors.NotFound) as info:
        client.containers.get(missing)
    assert info.value.explanation == f"No such container: {missing}"

    name = names("taken")
    first = client.containers.create("busybox", ["true"], name=name)
    try:
        with pytest.raises(docker.errors.APIError) as conflict:
            client.containers.create("busybox", ["true"], name=name)
        assert conflict.value.status_code == 409
        assert f'The container name "/{name}" is already in use by container "{first.id}"' in str(
            conflict.value.explanation
        )
    finally:
        first.remove()
