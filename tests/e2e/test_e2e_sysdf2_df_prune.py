"""`system df` and `system prune` end to end: the /system/df answer (swagger, real sizes, type=),
the docker CLI's and sangja's tables, docker-py's df(), and prune through both CLIs."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import pytest
import yaml

from tests.e2e.conftest import make_cli
from tests.support import unixhttp
from tests.support.commands import Cli
from tests.support.daemon import Daemon, SpawnedDaemon
from tests.support.swagger import SPEC_PATH, validate


def df_schema() -> dict[str, Any]:
    spec = yaml.safe_load(SPEC_PATH.read_text())
    schema: dict[str, Any] = spec["paths"]["/system/df"]["get"]["responses"][200]["schema"]
    return schema


def human(n: int) -> str:
    """go-units HumanSize (decimal, 4 significant digits)."""
    units = ["B", "kB", "MB", "GB", "TB", "PB"]
    size, i = float(n), 0
    while size >= 1000 and i < len(units) - 1:
        size, i = size / 1000, i + 1
    return f"{size:.4g}{units[i]}"


def expected_rows(du: dict[str, Any]) -> list[str]:
    """docker/cli's summary (formatter/disk_usage.go), as Type|Total|Active|Size|Reclaimable."""
    def recl(r: int, total: int) -> str:
        return f"{human(r)} ({r * 100 // total}%)" if total > 0 else human(r)

    images, layers = du["Images"], du["LayersSize"]
    used = sum(i["Size"] - i["SharedSize"] for i in images if i["Containers"])
    cont = du["Containers"]
    active = [c for c in cont if c["State"] in ("running", "paused", "restarting")]
    rw = sum(c.get("SizeRw", 0) for c in cont)
    idle = rw - sum(c.get("SizeRw", 0) for c in active)
    vols = du["Volumes"]
    vsize = sum(v["UsageData"]["Size"] for v in vols)
    vfree = sum(v["UsageData"]["Size"] for v in vols if v["UsageData"]["RefCount"] == 0)
    return [
        f"Images|{len(images)}|{sum(1 for i in images if i['Containers'] > 0)}|{human(layers)}|"
        f"{recl(layers - used, layers)}",
        f"Containers|{len(cont)}|{len(active)}|{human(rw)}|{recl(idle, rw)}",
        f"Local Volumes|{len(vols)}|{sum(1 for v in vols if v['UsageData']['RefCount'])}|{human(vsize)}|"
        f"{recl(vfree, vsize)}",
        "Build Cache|0|0|0B|0B",
    ]


ROW_FORMAT = "{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}|{{.Reclaimable}}"


def test_df_reports_real_sizes_and_both_clis_print_them(
    cli: Cli, daemon: Daemon, names: Callable[[str], str]
) -> None:
    vol, busy, done = names("dfvol"), names("dfbusy"), names("dfdone")
    cli.ok("volume", "create", vol)
    try:
        cli.ok("run", "-d", "--name", busy, "-v", f"{vol}:/data", "busybox", "sh", "-c",
               "head -c 100000 /dev/zero > /data/f; head -c 200000 /dev/zero > /big; echo ok > /ready; sleep 300")
        cli.ok("run", "--name", done, "busybox", "sh", "-c", "head -c 300000 /dev/zero > /big")
        # the background container's writes are done once /ready exists (bounded)
        for _ in range(100):
            if cli("exec", busy, "test", "-f", "/ready").rc == 0:
                break
        du = daemon.get_json("/system/df")
        validate(du, df_schema())
        assert du["BuildCache"] == []
        by_name = {c["Names"][0]: c for c in du["Containers"]}
        b, d = by_name["/" + busy], by_name["/" + done]
        assert b["State"] == "running" and d["State"] == "exited"
        assert 200000 <= b["SizeRw"] < 220000 and 300000 <= d["SizeRw"] < 320000
        assert b["SizeRootFs"] > b["SizeRw"]
        bb = next(i for i in du["Images"] if "busybox:latest" in i["RepoTags"])
        assert bb["Containers"] >= 2 and bb["SharedSize"] >= 0 and du["LayersSize"] >= bb["Size"] > 0
        v = next(x for x in du["Volumes"] if x["Name"] == vol)
        assert v["UsageData"] == {"Size": 100000, "RefCount": 1}

        # The CLIs read the same answer: rows as docker/cli's formatter computes them.
        assert cli.ok("system", "df", "--format", ROW_FORMAT).splitlines() == expected_rows(du)
        table = cli.ok("system", "df").splitlines()
        assert re.split(r"\s{2,}", table[0].strip()) == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
        assert [re.split(r"\s{2,}", line.strip())[0] for line in table[1:]] == [
            "Images", "Containers", "Local Volumes", "Build Cache"]
        as_json = [json.loads(line) for line in cli.ok("system", "df", "--format", "json").splitlines()]
        assert [sorted(o) for o in as_json] == [["Active", "Reclaimable", "Size", "TotalCount", "Type"]] * 4

        verbose = cli.ok("system", "df", "-v")
        for title in ("Images space usage:", "Containers space usage:", "Local Volumes space usage:",
                      "Build cache usage: 0B"):
            assert title in verbose, verbose
        assert re.search(rf"^{re.escape(vol)}\s+1\s+100kB$", verbose, re.M), verbose
        assert re.search(rf"^{b['Id'][:12]}\s+busybox\s+.*\s+1\s+{human(b['SizeRw'])}\s+.*{busy}$",
                         verbose, re.M), verbose
        lines = verbose.splitlines()
        header = lines[lines.index("Build cache usage: 0B") + 2]
        assert re.split(r"\s{2,}", header.strip()) == [
            "CACHE ID", "CACHE TYPE", "SIZE", "CREATED", "LAST USED", "USAGE", "SHARED"]
        custom = cli.ok("system", "df", "-v", "--format", "{{range .Volumes}}{{.Name}}={{.Links}}\n{{end}}")
        assert f"{vol}=1" in custom.splitlines()
    finally:
        cli("rm", "-f", busy, done)
        cli("volume", "rm", "-f", vol)


def test_df_type_filter_and_old_api(daemon: Daemon) -> None:
    only = daemon.get_json("/v1.51/system/df?type=volume&type=build-cache")
    assert only["Images"] is None and only["Containers"] is None and only["LayersSize"] == 0
    assert isinstance(only["Volumes"], list) and only["BuildCache"] == []
    images = daemon.get_json("/v1.51/system/df?type=image")
    assert images["Volumes"] is None and images["BuildCache"] is None and images["Images"]
    assert "VirtualSize" not in images["Images"][0]
    # Before 1.42 the type filter is ignored; before 1.44 images carry VirtualSize.
    old = daemon.get_json("/v1.41/system/df?type=volume")
    assert old["Images"] and old["Images"][0]["VirtualSize"] == old["Images"][0]["Size"]
    with pytest.raises(unixhttp.ApiError) as bad:
        daemon.api("GET", "/v1.51/system/df?type=nope")
    assert bad.value.status == 400 and "unknown object type: nope" in str(bad.value)


def _cells(text: str) -> list[list[str]]:
    """Table lines as cells, with the relative times (which tick between two runs) blanked."""
    times = re.compile(r"(Less than a second|About a minute|About an hour|\d+ (seconds?|minutes?|hours?))")
    return [[times.sub("T", c) for c in re.split(r"\s{2,}", line.strip())] for line in text.splitlines()]


def test_sangja_prints_what_the_docker_cli_prints(
    docker_cli: Cli, daemon: Daemon, cli_home: Path, names: Callable[[str], str]
) -> None:
    sangja = make_cli("sangja", daemon, cli_home)
    name, vol = names("dfsame"), names("dfsamevol")
    docker_cli.ok("create", "--name", name, "-v", f"{vol}:/v", "busybox", "true")
    try:
        for args in (["system", "df"], ["system", "df", "-v"], ["system", "df", "--format", "json"],
                     ["system", "df", "--format", "{{.Type}}: {{.Reclaimable}}"],
                     ["system", "df", "-v", "--format", "{{range .Images}}{{.Repository}} {{.Containers}}\n{{end}}"]):
            assert _cells(sangja.ok(*args)) == _cells(docker_cli.ok(*args)), args
    finally:
        docker_cli("rm", "-f", name)
        docker_cli("volume", "rm", "-f", vol)


def test_docker_py_df_and_build_prune(client: docker.DockerClient) -> None:
    du = client.df()
    assert set(du) >= {"LayersSize", "Images", "Containers", "Volumes", "BuildCache"}
    assert any("busybox:latest" in (i.get("RepoTags") or []) for i in du["Images"])
    assert client.api.prune_builds() == {"CachesDeleted": [], "SpaceReclaimed": 0}


PROMPT = """WARNING! This will remove:
  - all stopped containers
  - all networks not used by at least one container
  - all anonymous volumes not used by at least one container
  - all dangling images
  - unused build cache

  Items to be pruned will be filtered with:
  - label!=keep
  - label=a=1

Are you sure you want to continue? [y/N] """


def test_system_prune_through_both_clis(
    fresh_cli: Cli, fresh_daemon: SpawnedDaemon, names: Callable[[str], str], busybox_tar: Path
) -> None:
    cli = fresh_cli
    r = cli("system", "prune", "--volumes", "--filter", "label=a=1", "--filter", "label!=keep", input=b"n\n")
    assert r.rc == 0 and r.out == PROMPT, r
    r = cli("system", "prune", "--volumes", "--filter", "until=1h")
    assert r.rc == 1 and 'ERROR: The "until" filter is not supported with "--volumes"' in r.err, r

    gone = names("exited")
    cli.ok("run", "--name", gone, "busybox", "true")
    exited = cli.ok("inspect", "-f", "{{.Id}}", gone).strip()
    running = names("running")
    cli.ok("run", "-d", "--name", running, "busybox", "sleep", "300")
    net = names("net")
    cli.ok("network", "create", net)
    anon = cli.ok("volume", "create").strip()
    named = names("named")
    cli.ok("volume", "create", named)
    # Importing twice under one tag leaves the first image dangling.
    dangling = fresh_daemon.import_image(busybox_tar, "spare", "1", ("LABEL n=1",))
    fresh_daemon.import_image(busybox_tar, "spare", "1", ("LABEL n=2",))
    try:
        out = cli.ok("system", "prune", "-f", "--volumes")
        assert f"Deleted Networks:\n{net}\n\n" in out, out
        assert f"Deleted Volumes:\n{anon}\n\n" in out, out
        assert f"Deleted Containers:\n{exited}\n\n" in out, out
        assert f"Deleted Images:\ndeleted: {dangling}\n" in out, out
        assert out.splitlines()[-1].startswith("Total reclaimed space: "), out
        assert out.index("Deleted Containers:") < out.index("Deleted Networks:") < out.index(
            "Deleted Volumes:") < out.index("Deleted Images:")
        left = [c["Names"][0] for c in fresh_daemon.get_json("/containers/json?all=1")]
        assert left == ["/" + running], left
        assert named in cli.ok("volume", "ls", "-q").split() and anon not in cli.ok("volume", "ls", "-q").split()
        assert "spare:1" in cli.ok("images", "--format", "{{.Repository}}:{{.Tag}}").split()

        # -a: every image no container uses goes; busybox stays for the running container.
        out = cli.ok("system", "prune", "-af")
        assert "Deleted Images:\nuntagged: spare:1\ndeleted: sha256:" in out, out
        assert "Deleted Containers:" not in out and out.splitlines()[-1].startswith("Total reclaimed space: ")
        assert cli.ok("images", "--format", "{{.Repository}}:{{.Tag}}").split() == ["busybox:latest"]
    finally:
        cli("rm", "-f", running)
        cli("volume", "rm", "-f", named, anon)
        cli("network", "rm", net)
