"""The classic builder as dockerd 20.10's behaves, through the docker CLI (DOCKER_BUILDKIT=0),
`sangja build` and docker-py: a failing RUN (its exit status is the CLI's, errorDetail.code on
the wire, nothing tagged), the intermediate containers of metadata steps, and `--pull`."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.support.commands import Cli
from tests.support.daemon import Daemon
from tests.support.registry import RegistryServer

FAILING = "FROM busybox\nENV MARK={mark}\nRUN echo out-before-{mark}; exit 3\nRUN echo never-{mark}\n"


def _classic(cli: Cli) -> Cli:
    return Cli(cli.name, cli.prefix, {**cli.env, "DOCKER_BUILDKIT": "0"})


def _context(tmp_path: Path, dockerfile: str, name: str = "ctx") -> Path:
    ctx = tmp_path / name
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    return ctx


def _tar(dockerfile: str) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile.encode())
        tf.addfile(info, io.BytesIO(dockerfile.encode()))
    buf.seek(0)
    return buf


def _remove_failed(cli: Cli, mark: str) -> int:
    """Remove the kept containers of the failed step; returns how many there were."""
    found = 0
    for cid in cli.ok("ps", "-aq", "--filter", "status=exited").split():
        if f"out-before-{mark}" in cli.ok("inspect", "-f", "{{json .Config.Cmd}}", cid):
            cli.ok("rm", cid)
            found += 1
    return found


def test_failing_run_exits_with_its_code(cli: Cli, names: Callable[[str], str], tmp_path: Path) -> None:
    b = _classic(cli)
    mark = names("m")
    repo = names("failed")
    ctx = _context(tmp_path, FAILING.format(mark=mark))
    message = f"The command '/bin/sh -c echo out-before-{mark}; exit 3' returned a non-zero code: 3"
    try:
        res = b("build", "-t", repo, str(ctx), timeout=120)
        assert res.rc == 3, res
        assert f"out-before-{mark}" in res.out          # the failed step's output is shown
        assert message in res.err
        assert f"never-{mark}" not in res.out
        assert "Successfully" not in res.out
        assert b("image", "inspect", repo).rc != 0      # nothing tagged
        # -q: nothing on stdout while it runs; the failure still exits 3 with the message
        quiet = b("build", "-q", "-t", repo, str(ctx), timeout=120)
        assert quiet.rc == 3 and message in quiet.err
        assert b("image", "inspect", repo).rc != 0
    finally:
        # docker keeps the failed step's container (no --force-rm): one per build
        assert _remove_failed(b, mark) == 2
        b("image", "prune", "-f")       # the ENV step's image


def test_failing_run_force_rm_keeps_nothing(cli: Cli, names: Callable[[str], str], tmp_path: Path) -> None:
    b = _classic(cli)
    mark = names("m")
    ctx = _context(tmp_path, FAILING.format(mark=mark))
    res = b("build", "--force-rm", str(ctx), timeout=120)
    assert res.rc == 3
    assert _remove_failed(b, mark) == 0
    b("image", "prune", "-f")


def test_failing_run_on_the_wire_and_in_docker_py(client: docker.DockerClient, names: Callable[[str], str]) -> None:
    mark = names("m")
    message = f"The command '/bin/sh -c echo out-before-{mark}; exit 3' returned a non-zero code: 3"
    try:
        stream = list(client.api.build(fileobj=_tar(FAILING.format(mark=mark)), custom_context=True, decode=True))
        # moby's streamformatter.FormatError of the JSONError dispatchRun returns
        assert stream[-1] == {"errorDetail": {"code": 3, "message": message}, "error": message}
        assert {"stream": f"out-before-{mark}\n"} in stream
        with pytest.raises(docker.errors.BuildError) as info:
            client.images.build(fileobj=_tar(FAILING.format(mark=mark)), custom_context=True, tag=names("py"))
        assert info.value.msg == message
        assert any(f"out-before-{mark}" in (m.get("stream") or "") for m in info.value.build_log)
    finally:
        for c in client.containers.list(all=True):
            if f"out-before-{mark}" in " ".join(c.attrs["Config"]["Cmd"] or []):
                c.remove()
        client.images.prune()


def test_metadata_steps_run_in_intermediate_containers(cli: Cli, daemon: Daemon, names: Callable[[str], str],
                                                       tmp_path: Path) -> None:
    b = _classic(cli)
    repo = names("meta")
    ctx = _context(tmp_path, f"FROM busybox\nENV A={repo}\nWORKDIR /w/{repo}\nLABEL l=1\nCMD [\"true\"]\n")
    before = set(b.ok("ps", "-aq").split())
    out = b.ok("build", "-t", repo, str(ctx), timeout=120)
    try:
        steps = out.split("Step ")[2:]
        assert len(steps) == 4
        for step in steps:
            lines = step.splitlines()
            # dockerd 20.10: create (never started), commit, remove, then the new image
            assert lines[1].startswith(" ---> Running in ")
            cid = lines[1].removeprefix(" ---> Running in ")
            assert lines[2] == f"Removing intermediate container {cid}"
            assert lines[3].startswith(" ---> ")
            assert len(lines) == 4 or lines[4].startswith("Successfully built ")
        last_cid = steps[-1].splitlines()[1].removeprefix(" ---> Running in ")
        # Container and ContainerConfig are answered up to API 1.44 (dockerd 20.10 knows 1.41)
        image = daemon.get_json(f"/v1.41/images/{repo}/json")
        assert image["Container"].startswith(last_cid)          # committed from that container
        assert image["ContainerConfig"]["Cmd"] == ["/bin/sh", "-c", "#(nop) ", 'CMD ["true"]']
        assert image["Config"]["WorkingDir"] == f"/w/{repo}"
        assert set(b.ok("ps", "-aq").split()) == before         # all of them removed
        assert b.ok("run", "--rm", repo, "sh", "-c", "pwd; echo $A").split() == [f"/w/{repo}", repo]
        again = b.ok("build", "-t", repo, str(ctx), timeout=120)
        assert "Running in" not in again and again.count(" ---> Using cache") == 4
    finally:
        b("rmi", repo)


def test_pull_takes_the_base_from_the_registry(cli: Cli, registry: RegistryServer, names: Callable[[str], str],
                                               tmp_path: Path) -> None:
    b = _classic(cli)
    base = f"{registry.host}/{names('base')}"
    out = names("out")
    remote = _context(tmp_path, "FROM busybox\nLABEL which=remote\n", "remote")
    local = _context(tmp_path, "FROM busybox\nLABEL which=local\n", "local")
    child = _context(tmp_path, f"FROM {base}\nCMD [\"true\"]\n", "child")
    try:
        b.ok("build", "-t", base, str(remote), timeout=120)
        b.ok("push", base, timeout=120)
        b.ok("build", "-t", base, str(local), timeout=120)      # the local tag now differs

        def built_from() -> str:
            return b.ok("image", "inspect", "-f", "{{index .Config.Labels \"which\"}}", out).strip()

        b.ok("build", "-t", out, str(child), timeout=120)
        assert built_from() == "local"
        b.ok("build", "--pull", "-t", out, str(child), timeout=120)
        assert built_from() == "remote"
        assert b.ok("image", "inspect", "-f", "{{index .Config.Labels \"which\"}}", base).strip() == "remote"
    finally:
        b("rmi", out, base)
        b("image", "prune", "-f")


def test_pull_from_an_unreachable_registry_fails(cli: Cli, free_port: int, names: Callable[[str], str],
                                                 tmp_path: Path) -> None:
    b = _classic(cli)
    base = f"127.0.0.1:{free_port}/{names('gone')}"
    ctx = _context(tmp_path, f"FROM {base}\nCMD [\"true\"]\n")
    b.ok("tag", "busybox", base)
    try:
        res = b("build", "--pull", str(ctx), timeout=120)
        assert res.rc == 1
        assert f"127.0.0.1:{free_port}" in res.err and "connection refused" in res.err
        assert "Step 1/2" in res.out and "Step 2/2" not in res.out
        # without --pull the local image is used
        ok = b.ok("build", "-q", str(ctx), timeout=120).strip()
        b.ok("rmi", ok)
    finally:
        b("rmi", base)
