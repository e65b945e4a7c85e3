"""`docker build` with the classic builder (DOCKER_BUILDKIT=0), `sangja build` and docker-py's
images.build against sangjad: a multi-stage build, the cache, a failing RUN, .dockerignore."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import docker

from tests.support.commands import Cli

DOCKERFILE = """\
# escape=\\
ARG BASE=busybox
FROM ${BASE} AS builder
ENV GREETING="hello there" \\
    EMPTY=
WORKDIR /work
COPY greeting.txt sub ./
RUN echo "$GREETING from ${EMPTY:-builder}" > out.txt && cat greeting.txt inner.txt >> out.txt

FROM busybox
ARG VERSION=0
LABEL version=${VERSION} stage="final"
COPY --from=builder --chown=1000:1000 /work/out.txt /app/
WORKDIR /app
USER 1000
RUN id -u > whoami.txt 2>/dev/null || id -u
EXPOSE 8080/tcp
CMD ["cat", "/app/out.txt"]
"""


def _classic(cli: Cli) -> Cli:
    return Cli(cli.name, cli.prefix, {**cli.env, "DOCKER_BUILDKIT": "0"})


def _context(tmp_path: Path) -> Path:
    ctx = tmp_path / "ctx"
    (ctx / "sub").mkdir(parents=True)
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    (ctx / "greeting.txt").write_text("from the context\n")
    (ctx / "sub" / "inner.txt").write_text("inner file\n")
    (ctx / "secret.txt").write_text("must not be sent\n")
    (ctx / ".dockerignore").write_text("secret.txt\n")
    return ctx


def test_multi_stage_build_runs_and_is_cached(cli: Cli, names: Callable[[str], str], tmp_path: Path) -> None:
    b = _classic(cli)
    ctx = _context(tmp_path)
    repo = names("built")
    out = b.ok("build", "-t", f"{repo}:1", "--build-arg", "VERSION=7", str(ctx), timeout=180)
    assert "Step 1/15 : ARG BASE=busybox" in out
    assert " ---> Running in " in out and "Removing intermediate container" in out
    assert f"Successfully tagged {repo}:1" in out
    try:
        assert b.ok("run", "--rm", f"{repo}:1").splitlines() == [
            "hello there from builder", "from the context", "inner file",
        ]
        listing = b.ok("run", "--rm", f"{repo}:1", "sh", "-c", "stat -c '%u %n' /app/out.txt; cat whoami.txt; pwd")
        assert listing.splitlines() == ["1000 /app/out.txt", "1000", "/app"]
        config = json.loads(b.ok("image", "inspect", "-f", "{{json .Config}}", f"{repo}:1"))
        assert config["Labels"] == {"stage": "final", "version": "7"}
        assert config["User"] == "1000" and config["ExposedPorts"] == {"8080/tcp": {}}

        again = b.ok("build", "-t", f"{repo}:1", "--build-arg", "VERSION=7", str(ctx), timeout=180)
        assert " ---> Running in " not in again        # a second identical build runs nothing
        assert again.count(" ---> Using cache") == 12

        (ctx / "sub" / "inner.txt").write_text("changed\n")
        third = b.ok("build", "-t", f"{repo}:1", "--build-arg", "VERSION=7", str(ctx), timeout=180)
        steps = third.split("Step ")
        cached = [s.split(" :")[0] for s in steps if "Using cache" in s]
        # ENV, WORKDIR, then ARG, LABEL of the second stage; invalidated from each COPY on
        assert cached == ["3/15", "4/15", "8/15", "9/15"]
        assert b.ok("run", "--rm", f"{repo}:1").splitlines()[-1] == "changed"
    finally:
        cli("rmi", "-f", f"{repo}:1")
        cli("image", "prune", "-f")


def test_failing_run_stops_the_build(cli: Cli, names: Callable[[str], str], tmp_path: Path) -> None:
    b = _classic(cli)
    ctx = tmp_path / "fail"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo before-failing; false\nRUN echo never\n")
    repo = names("failed")
    res = b("build", "-t", repo, str(ctx), timeout=120)
    assert res.rc == 1
    assert "before-failing" in res.out
    assert "The command '/bin/sh -c echo before-failing; false' returned a non-zero code: 1" in res.err
    assert "never" not in res.out
    assert b("image", "inspect", repo).rc != 0      # nothing tagged
    # docker keeps the failed step's container (without --force-rm): remove it
    for cid in b.ok("ps", "-aq", "--filter", "status=exited").split():
        if "false" in b.ok("inspect", "-f", "{{json .Config.Cmd}}", cid):
            b.ok("rm", cid)


def test_build_errors(cli: Cli, tmp_path: Path) -> None:
    b = _classic(cli)
    ctx = tmp_path / "bad"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nFOO bar\n")
    res = b("build", str(ctx))
    assert res.rc == 1 and "unknown instruction: FOO" in res.err and "line 2" in res.err
    (ctx / "Dockerfile").write_text("FROM busybox\nCOPY missing.txt /\n")
    res = b("build", str(ctx))
    assert res.rc == 1 and "file not found in build context" in res.err
    (ctx / "Dockerfile").write_text("FROM busybox AS one\nRUN true\n")
    res = b("build", "--target", "two", str(ctx))
    assert res.rc == 1 and "failed to reach build target two in Dockerfile" in res.err


def test_docker_py_images_build(client: docker.DockerClient, names: Callable[[str], str]) -> None:
    dockerfile = b"FROM busybox\nENV X=1\nRUN echo built > /built\nCMD [\"cat\", \"/built\"]\n"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tf.addfile(info, io.BytesIO(dockerfile))
    buf.seek(0)
    repo = names("pybuilt")
    image, logs = client.images.build(fileobj=buf, custom_context=True, tag=repo, rm=True)
    try:
        assert any("Successfully built" in (m.get("stream") or "") for m in logs)
        assert image.attrs["Config"]["Env"][-1] == "X=1"
        assert client.containers.run(repo, remove=True) == b"built\n"
    finally:
        client.images.remove(repo, force=True)
