"""Images end to end: import, images, inspect, tag, rmi, save | load, and their errors.

Each test runs once through the docker CLI and once through the sangja CLI.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from tests.support.commands import Cli
from tests.support.flows import inspect, short_id, validate_against_swagger


def _import(cli: Cli, tar: Path, ref: str) -> str:
    out = cli.ok("import", "-c", 'CMD ["sh"]', str(tar), ref)
    image_id = out.strip()
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", image_id), out
    return image_id


def _image_rows(cli: Cli) -> list[str]:
    return cli.ok("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").splitlines()


def test_import_lists_and_runs_the_image(cli: Cli, busybox_tar: Path, names: Callable[[str], str]) -> None:
    repo = names("imported")
    image_id = _import(cli, busybox_tar, f"{repo}:v1")

    assert f"{repo}:v1 {short_id(image_id)}" in _image_rows(cli)
    table = cli.ok("images").splitlines()
    assert table[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    row = next(line.split() for line in table[1:] if line.startswith(repo + " "))
    assert row[:3] == [repo, "v1", short_id(image_id)]

    image = inspect(cli, f"{repo}:v1", kind="image")
    validate_against_swagger(image, "ImageInspect")
    assert image["Id"] == image_id
    assert image["RepoTags"] == [f"{repo}:v1"]
    assert image["Config"]["Cmd"] == ["sh"]
    assert image["Os"] == "linux"
    assert image["RootFS"]["Type"] == "layers" and len(image["RootFS"]["Layers"]) == 1

    result = cli("run", "--rm", f"{repo}:v1", "cat", "/etc/passwd")
    assert result.rc == 0, result
    assert result.out.startswith("root:x:0:0:")


def test_tag_then_rmi_untags_only(cli: Cli, names: Callable[[str], str]) -> None:
    base_id = inspect(cli, "busybox", kind="image")["Id"]
    repo = names("tagged")
    assert cli.ok("tag", "busybox", f"{repo}:t1") == ""

    rows = _image_rows(cli)
    assert f"{repo}:t1 {short_id(base_id)}" in rows
    assert f"busybox:latest {short_id(base_id)}" in rows
    assert sorted(inspect(cli, base_id, kind="image")["RepoTags"]) == sorted(["busybox:latest", f"{repo}:t1"])

    assert cli.ok("rmi", f"{repo}:t1") == f"Untagged: {repo}:t1\n"
    rows = _image_rows(cli)
    assert f"{repo}:t1 {short_id(base_id)}" not in rows
    assert f"busybox:latest {short_id(base_id)}" in rows


def test_rmi_of_last_tag_deletes_the_image(cli: Cli, busybox_tar: Path, names: Callable[[str], str]) -> None:
    repo = names("doomed")
    image_id = _import(cli, busybox_tar, f"{repo}:v1")

    out = cli.ok("rmi", f"{repo}:v1").splitlines()
    assert out[0] == f"Untagged: {repo}:v1"
    assert f"Deleted: {image_id}" in out
    result = cli("image", "inspect", image_id)
    assert result.rc == 1
    assert f"No such image: {image_id}" in result.err


def test_save_then_load_gives_the_same_id(
    cli: Cli, busybox_tar: Path, names: Callable[[str], str], tmp_path: Path
) -> None:
    repo = names("saved")
    image_id = _import(cli, busybox_tar, f"{repo}:v1")
    archive = tmp_path / "image.tar"
    assert cli.ok("save", "-o", str(archive), f"{repo}:v1") == ""
    assert archive.stat().st_size > 1024 * 1024  # the busybox layer is inside

    cli.ok("rmi", f"{repo}:v1")
    assert cli("image", "inspect", f"{repo}:v1").rc == 1

    # `docker save X | docker load`: the archive arrives on stdin.
    out = cli.ok("load", input=archive.read_bytes())
    assert f"Loaded image: {repo}:v1" in out.splitlines()
    assert inspect(cli, f"{repo}:v1", kind="image")["Id"] == image_id

    # Loading what is already there changes nothing and says so the same way.
    out = cli.ok("load", "-i", str(archive))
    assert f"Loaded image: {repo}:v1" in out.splitlines()
    assert inspect(cli, f"{repo}:v1", kind="image")["Id"] == image_id


def test_rmi_of_an_image_in_use_is_a_conflict(cli: Cli, busybox_tar: Path, names: Callable[[str], str]) -> None:
    repo = names("inuse")
    image_id = _import(cli, busybox_tar, f"{repo}:v1")
    cid = cli.ok("create", "--name", names("user"), f"{repo}:v1", "true").strip()

    result = cli("rmi", f"{repo}:v1")
    assert result.rc == 1, result
    assert result.err == (
        f'Error response from daemon: conflict: unable to remove repository reference "{repo}:v1" '
        f"(must force) - container {short_id(cid)} is using its referenced image {short_id(image_id)}\n"
    )
    assert inspect(cli, f"{repo}:v1", kind="image")["Id"] == image_id

    cli.ok("start", cid)
    cli.ok("wait", cid)
    result = cli("rmi", image_id)
    assert result.rc == 1, result
    assert result.err == (
        f"Error response from daemon: conflict: unable to delete {short_id(image_id)} (must be forced) "
        f"- image is being used by stopped container {short_id(cid)}\n"
    )


def test_rmi_of_an_image_used_by_a_running_container(
    cli: Cli, busybox_tar: Path, names: Callable[[str], str]
) -> None:
    repo = names("busy")
    image_id = _import(cli, busybox_tar, f"{repo}:v1")
    cid = cli.ok("run", "-d", f"{repo}:v1", "sh", "-c", "while :; do sleep 1; done").strip()

    result = cli("rmi", "-f", image_id)
    assert result.rc == 1, result
    assert result.err == (
        f"Error response from daemon: conflict: unable to delete {short_id(image_id)} (cannot be forced) "
        f"- image is being used by running container {short_id(cid)}\n"
    )


def test_unknown_image(cli: Cli, names: Callable[[str], str]) -> None:
    missing = names("nosuchimage")
    result = cli("rmi", missing)
    assert result.rc == 1
    assert result.err == f"Error response from daemon: No such image: {missing}:latest\n"

    result = cli("image", "inspect", missing)
    assert result.rc == 1
    assert f"No such image: {missing}" in result.err

    result = cli("tag", missing, names("other"))
    assert result.rc == 1
    assert f"No such image: {missing}" in result.err
