"""docker-py's exec forms against the daemon: exec_run (plain, demux, stream, tty),
exec_start(socket=True) with a half-close, and exec_inspect."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import docker
import pytest
from docker.models.containers import Container

from tests.support.hijack import demux


@pytest.fixture
def box(client: docker.DockerClient, names: Callable[[str], str]) -> Iterator[Container]:
    c = client.containers.run("busybox", ["sh", "-c", "while :; do sleep 1; done"], name=names("py"),
                              detach=True, network_mode="none")
    yield c


def test_exec_run_plain_demux_and_tty(box: Container) -> None:
    res = box.exec_run(["sh", "-c", "echo out; sleep 0.1; echo err >&2; exit 3"])
    assert (res.exit_code, res.output) == (3, b"out\nerr\n")
    res = box.exec_run(["sh", "-c", "echo out; echo err >&2"], demux=True)
    assert (res.exit_code, res.output) == (0, (b"out\n", b"err\n"))
    res = box.exec_run(["sh", "-c", "test -t 1 && echo tty"], tty=True)
    assert (res.exit_code, res.output) == (0, b"tty\r\n")
    res = box.exec_run(["nosuchcmd"])
    assert res.exit_code == 127 and b"executable file not found" in res.output
    res = box.exec_run("id -u", user="nobody", workdir="/tmp", environment={"A": "1"})
    assert res.output == b"65534\n"


def test_exec_run_stream(box: Container) -> None:
    res = box.exec_run(["sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.05; done"], stream=True)
    assert res.exit_code is None
    assert b"".join(res.output) == b"line1\nline2\nline3\n"


def test_exec_start_socket_half_close(client: docker.DockerClient, box: Container) -> None:
    api = client.api
    eid = api.exec_create(box.id, ["sh", "-c", "cat; echo after-eof; exit 6"], stdin=True)["Id"]
    sock = api.exec_start(eid, socket=True)
    raw_sock = sock._sock  # docker-py's documented way to reach the socket
    raw_sock.settimeout(60)
    try:
        raw_sock.sendall(b"hello\n")
        raw_sock.shutdown(socket.SHUT_WR)
        received = bytearray()
        while data := raw_sock.recv(65536):
            received.extend(data)
    finally:
        sock.close()
    out, err = demux(bytes(received))
    assert (out, err) == (b"hello\nafter-eof\n", b"")
    info = api.exec_inspect(eid)
    assert info["ExitCode"] == 6 and info["Running"] is False and info["ContainerID"] == box.id
    with pytest.raises(docker.errors.NotFound):
        api.exec_inspect("nosuchexec")
