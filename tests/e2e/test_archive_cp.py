"""`cp` both ways end to end, through the docker CLI and sangja, and the archive API (docker-py).

Symlinks are resolved inside the container's root: a link to "/" or "../../.." in the
container never reaches the host's files.
"""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Callable
from pathlib import Path

import docker
import pytest

from tests.support.commands import Cli
from tests.support.waiting import wait_until

LINKS = (
    "mkdir -p /srv/app /srv/etc && echo conf > /srv/etc/app.conf && echo main > /srv/app/main && "
    "ln -s /srv/etc /srv/app/etc-link && mkdir /srv/esc && ln -s ../../../../../ /srv/esc/up && "
    "ln -s /etc/passwd /srv/pw"
)


def _make(cli: Cli, name: str, running: bool) -> None:
    if running:
        cli.ok("run", "-d", "--name", name, "busybox", "sh", "-c", LINKS + " && touch /ready && sleep 300")
        wait_until(lambda: "A /ready" in cli.ok("diff", name) or None, timeout=30, what="the setup")
    else:
        cli.ok("run", "--name", name, "busybox", "sh", "-c", LINKS)


def test_cp_out_of_a_stopped_container(cli: Cli, names: Callable[[str], str], tmp_path: Path) -> None:
    ctr = names("cp-out")
    _make(cli, ctr, running=False)
    # A directory to a new path takes that name; into an existing directory, it keeps its own.
    cli.ok("cp", f"{ctr}:/srv/app", str(tmp_path / "copy"))
    assert (tmp_path / "copy" / "main").read_text() == "main\n"
    assert os.readlink(tmp_path / "copy" / "etc-link") == "/srv/etc"   # kept as a link, not followed
    (tmp_path / "into").mkdir()
    cli.ok("cp", f"{ctr}:/srv/app", str(tmp_path / "into"))
    assert (tmp_path / "into" / "app" / "main").read_text() == "main\n"
    # "/." copies a directory's contents.
    (tmp_path / "contents").mkdir()
    cli.ok("cp", f"{ctr}:/srv/etc/.", str(tmp_path / "contents"))
    assert os.listdir(tmp_path / "contents") == ["app.conf"]
    # A path through a symlink in the container resolves inside the container.
    cli.ok("cp", f"{ctr}:/srv/app/etc-link/app.conf", str(tmp_path / "via-link"))
    assert (tmp_path / "via-link").read_text() == "conf\n"
    cli.ok("cp", f"{ctr}:/srv/esc/up/etc/hostname", str(tmp_path / "hostname"))
    assert (tmp_path / "hostname").read_text() == ""          # the container's, not the host's
    # -L follows the source link itself.
    cli.ok("cp", "-L", f"{ctr}:/srv/pw", str(tmp_path / "pw"))
    assert (tmp_path / "pw").read_text().startswith("root:x:0:0")
    cli.ok("cp", f"{ctr}:/srv/pw", str(tmp_path / "pw-link"))
    assert os.readlink(tmp_path / "pw-link") == "/etc/passwd"


def test_cp_into_running_and_stopped_containers(cli: Cli, names: Callable[[str], str], tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f").write_text("file\n")
    (src / "top").write_text("top\n")
    os.chmod(src / "top", 0o750)
    for running in (True, False):
        ctr = names("cp-in")
        _make(cli, ctr, running=running)
        cli.ok("cp", str(src), f"{ctr}:/srv/new")                 # new name
        cli.ok("cp", str(src / "top"), f"{ctr}:/srv/app/")        # into a directory
        cli.ok("cp", str(src / "top"), f"{ctr}:/srv/app/main")    # over a file
        cli.ok("cp", str(src / "top"), f"{ctr}:/srv/app/etc-link")  # a link to a directory: into it
        cli.ok("cp", str(src / "top"), f"{ctr}:/srv/esc/up/")     # "/" in the container, never the host's
        for path, text in [("/srv/new/sub/f", b"file\n"), ("/srv/new/top", b"top\n"), ("/srv/app/top", b"top\n"),
                           ("/srv/app/main", b"top\n"), ("/srv/etc/top", b"top\n"), ("/top", b"top\n")]:
            member, content = _read(cli, ctr, path)
            assert content == text, path
        assert member.mode == 0o750
        assert not Path("/top").exists()
        if not running:
            cli.ok("start", ctr)   # its setup fails the second time (mkdir): only the mount matters
            cli.ok("wait", ctr)
            assert _read(cli, ctr, "/srv/new/top")[1] == b"top\n"     # the rootfs mounts again fine
        cli.ok("rm", "-f", ctr)


def _read(cli: Cli, ctr: str, path: str) -> tuple[tarfile.TarInfo, bytes]:
    """The tar member and content of one file in a container, through `cp CTR:PATH -`."""
    proc = cli.popen("cp", f"{ctr}:{path}", "-")
    data, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, path
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        member = tf.getmembers()[0]
        f = tf.extractfile(member)
        assert f is not None
        return member, f.read()


def test_cp_tar_streams_and_errors(cli: Cli, names: Callable[[str], str], tmp_path: Path) -> None:
    ctr = names("cp-tar")
    _make(cli, ctr, running=False)
    proc = cli.popen("cp", f"{ctr}:/srv/etc", "-")
    data, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        assert sorted(tf.getnames()) == ["etc", "etc/app.conf"]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("streamed.txt")
        info.size = 3
        tf.addfile(info, io.BytesIO(b"abc"))
    cli.ok("cp", "-", f"{ctr}:/srv", input=buf.getvalue())
    cli.ok("cp", f"{ctr}:/srv/streamed.txt", str(tmp_path / "back"))
    assert (tmp_path / "back").read_text() == "abc"

    missing = cli("cp", f"{ctr}:/nope", str(tmp_path / "x"))
    assert missing.rc == 1 and "Could not find the file /nope in container" in missing.err
    both = cli("cp", f"{ctr}:/a", f"{ctr}:/b")
    assert both.rc == 1 and "copying between containers is not supported" in both.err
    none = cli("cp", str(tmp_path / "a"), str(tmp_path / "b"))
    assert none.rc == 1 and "must specify at least one container source" in none.err


def test_archive_api_with_docker_py(client: docker.DockerClient, names: Callable[[str], str]) -> None:
    ctr = client.containers.run("busybox", ["sh", "-c", LINKS], name=names("py-cp"), detach=True)
    try:
        assert ctr.wait(timeout=60)["StatusCode"] == 0
        stream, st = ctr.get_archive("/srv/app/etc-link")
        assert st["name"] == "etc-link" and st["linkTarget"] == "/srv/etc"
        assert st["mode"] & (1 << 27)          # os.ModeSymlink
        b"".join(stream)
        _, st = ctr.get_archive("/srv/etc")
        assert st["mode"] & (1 << 31)          # os.ModeDir
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            info = tarfile.TarInfo("evil/../../../../escape")
            info.size = 1
            tf.addfile(info, io.BytesIO(b"x"))
        try:
            ctr.put_archive("/srv/esc/up", buf.getvalue())
        except docker.errors.APIError:
            pass
        assert not Path("/escape").exists()
        with pytest.raises(docker.errors.NotFound):
            ctr.get_archive("/does/not/exist")
        with pytest.raises(docker.errors.APIError):
            ctr.put_archive("/srv/etc/app.conf", buf.getvalue())   # not a directory
    finally:
        ctr.remove(force=True)
