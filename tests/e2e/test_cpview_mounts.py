"""`cp` sees what the container sees: volumes, binds and tmpfs mounts, through both CLIs,
for running and stopped containers (moby mounts the volumes before resolving the path)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from pathlib import Path

from tests.support.commands import Cli
from tests.support.waiting import wait_until

SETUP = "ln -sfn /etc/passwd /data/pw && ln -sfn ../../../../.. /data/up && echo vol > /data/f"


def _ready(cli: Cli, ctr: str) -> Callable[[], bool | None]:
    return lambda: "A /ready" in cli.ok("diff", ctr) or None


def _tar_names(cli: Cli, path: str) -> list[str]:
    proc = cli.popen("cp", path, "-")
    data, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, path
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        return sorted(tf.getnames())


def test_cp_through_volumes_binds_and_tmpfs(cli: Cli, names: Callable[[str], str], tmp_path: Path) -> None:
    hostdir, rodir = tmp_path / "hb", tmp_path / "ro"
    hostdir.mkdir()
    rodir.mkdir()
    (hostdir / "from-host").write_text("host file\n")
    src = tmp_path / "src"
    src.write_text("copied in\n")
    vol = names("cpv-vol")
    for running in (True, False):
        ctr = names("cpv")
        mounts = ["-v", f"{vol}:/srv/data", "-v", f"{hostdir}:/hb", "-v", f"{rodir}:/ro:ro", "--tmpfs", "/scratch"]
        script = SETUP.replace("/data", "/srv/data") + " && echo t > /scratch/t"
        try:
            if running:
                cli.ok("run", "-d", "--name", ctr, *mounts, "busybox", "sh", "-c",
                       script + " && touch /ready && sleep 300")
                wait_until(_ready(cli, ctr), timeout=30, what="the setup")
            else:
                cli.ok("run", "--name", ctr, *mounts, "busybox", "sh", "-c", script)
            # Out of a bind mount: the host directory.
            cli.ok("cp", f"{ctr}:/hb/from-host", str(tmp_path / "out1"))
            assert (tmp_path / "out1").read_text() == "host file\n"
            # Out of the volume; a directory above it holds the volume's content.
            cli.ok("cp", f"{ctr}:/srv/data/f", str(tmp_path / "out2"))
            assert (tmp_path / "out2").read_text() == "vol\n"
            assert "srv/data/f" in _tar_names(cli, f"{ctr}:/srv")
            # A link in the volume to /etc/passwd is the container's /etc/passwd, not the host's.
            cli.ok("cp", "-L", f"{ctr}:/srv/data/pw", str(tmp_path / "pw"))
            cli.ok("cp", f"{ctr}:/etc/passwd", str(tmp_path / "passwd"))
            assert (tmp_path / "pw").read_text() == (tmp_path / "passwd").read_text()
            assert (tmp_path / "pw").read_text() != Path("/etc/passwd").read_text()
            cli.ok("cp", str(src), f"{ctr}:/srv/data/up/")       # ".." stops at the container's root
            assert not Path("/src").exists()
            # Into the volume: another container using it sees the file.
            cli.ok("cp", str(src), f"{ctr}:/srv/data/in-{int(running)}")
            assert cli.ok("run", "--rm", "-v", f"{vol}:/v", "busybox", "cat", f"/v/in-{int(running)}") == "copied in\n"
            # A directory copied above the volume: what falls inside the mount point goes into it.
            tree = tmp_path / f"tree{int(running)}"
            (tree / "srv" / "data").mkdir(parents=True, exist_ok=True)
            (tree / "srv" / "data" / "deep").write_text("deep\n")
            (tree / "srv" / "beside").write_text("beside\n")
            cli.ok("cp", f"{tree}/.", f"{ctr}:/")
            assert cli.ok("run", "--rm", "-v", f"{vol}:/v", "busybox", "cat", "/v/deep") == "deep\n"
            cli.ok("cp", f"{ctr}:/srv/beside", str(tmp_path / f"beside{int(running)}"))
            # Into the bind mount: the host directory.
            cli.ok("cp", str(src), f"{ctr}:/hb/")
            assert (hostdir / "src").read_text() == "copied in\n"
            # A read-only mount refuses, with moby's message.
            refused = cli("cp", str(src), f"{ctr}:/ro/")
            assert refused.rc == 1 and "mounted volume is marked read-only" in refused.err
            assert not (rodir / "src").exists()
            if running:
                # The running container's tmpfs, both ways.
                cli.ok("cp", f"{ctr}:/scratch/t", str(tmp_path / "t"))
                assert (tmp_path / "t").read_text() == "t\n"
                assert "scratch/t" in _tar_names(cli, f"{ctr}:/scratch")
                # Writing there is refused rather than landing, unseen, in the layer under it.
                refused = cli("cp", str(src), f"{ctr}:/scratch/")
                assert refused.rc == 1 and "copying into the tmpfs mount /scratch is not supported" in refused.err
        finally:
            cli("rm", "-f", ctr)
            (hostdir / "src").unlink(missing_ok=True)
    cli.ok("volume", "rm", vol)


def test_cp_into_a_read_only_rootfs_only_through_a_volume(cli: Cli, names: Callable[[str], str],
                                                          tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_text("x\n")
    ctr, vol = names("cpv-ro"), names("cpv-rovol")
    cli.ok("create", "--name", ctr, "--read-only", "-v", f"{vol}:/data", "busybox", "true")
    try:
        refused = cli("cp", str(src), f"{ctr}:/")
        assert refused.rc == 1 and "container rootfs is marked read-only" in refused.err
        cli.ok("cp", str(src), f"{ctr}:/data/")     # a created container: its volume is already its view
        assert cli.ok("run", "--rm", "-v", f"{vol}:/v", "busybox", "cat", "/v/src") == "x\n"
    finally:
        cli("rm", "-f", ctr)
        cli("volume", "rm", vol)
