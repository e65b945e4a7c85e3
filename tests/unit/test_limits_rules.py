"""Resource limits without root: Docker's create/update rules on hand-made v1 and v2 hosts, the
host probe on fake cgroup trees, the spec a HostConfig becomes, and the update verb over fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sangja.daemon import resources
from sangja.daemon.create import create_container
from sangja.daemon.daemon import Daemon
from sangja.daemon.resources import (
    check_create,
    merge_update,
    parse_uint_list,
    spec_fields,
    update_resources_json,
)
from sangja.daemon.start import start_container
from sangja.daemon.update import update_container
from sangja.errors import Conflict, InvalidParameter
from sangja.host.cgroups import CgroupLayout
from sangja.host.sysinfo import UNLIMITED, SysInfo, probe
from sangja.runtime.spec import generate_spec
from sangja.runtime.types import ProcessSpec, SpecInput

from .fakes_daemon import make_daemon

MiB = 1024 * 1024
V1 = SysInfo(cgroup_version=1, ncpu=4, cpus="0-3", mems="0", rlimit_hard={"nofile": 20000, "nproc": UNLIMITED})
V1_NO_SWAP = SysInfo(cgroup_version=1, ncpu=4, cpus="0-3", mems="0", swap_limit=False)
V2 = SysInfo(cgroup_version=2, ncpu=2, cpus="0-1", mems="0", memory_swappiness=False, oom_kill_disable=False)


def created(hc: dict[str, Any], info: SysInfo = V1) -> tuple[dict[str, Any], list[str]]:
    hc = dict(hc)
    warnings = check_create(hc, info)
    return hc, warnings


def test_memory_swap_defaults_to_twice_memory_when_swap_is_accounted() -> None:
    hc, warnings = created({"Memory": 64 * MiB})
    assert (hc["Memory"], hc["MemorySwap"], warnings) == (64 * MiB, 128 * MiB, [])
    hc, warnings = created({"Memory": 64 * MiB}, V1_NO_SWAP)
    assert hc["MemorySwap"] == -1
    assert warnings == ["Your kernel does not support swap limit capabilities or the cgroup is not mounted. "
                        "Memory limited without swap."]
    hc, _ = created({"Memory": 64 * MiB, "MemorySwap": -1})
    assert hc["MemorySwap"] == -1
    assert created({})[0]["OomKillDisable"] is False


@pytest.mark.parametrize(
    ("hc", "message"),
    [
        ({"Memory": 1024}, "Minimum memory limit allowed is 6MB"),
        ({"Memory": 64 * MiB, "MemorySwap": 32 * MiB},
         "Minimum memoryswap limit should be larger than memory limit, see usage"),
        ({"MemorySwap": 64 * MiB}, "You should always set the Memory limit when using Memoryswap limit, see usage"),
        ({"MemoryReservation": 1024}, "Minimum memory reservation allowed is 6MB"),
        ({"Memory": 16 * MiB, "MemoryReservation": 32 * MiB},
         "Minimum memory limit can not be less than memory reservation limit, see usage"),
        ({"MemorySwappiness": 101}, "Invalid value: 101, valid memory swappiness range is 0-100"),
        ({"NanoCpus": 500_000_000, "CpuPeriod": 50000},
         "Conflicting options: Nano CPUs and CPU Period cannot both be set"),
        ({"NanoCpus": 500_000_000, "CpuQuota": 50000},
         "Conflicting options: Nano CPUs and CPU Quota cannot both be set"),
        ({"NanoCpus": 5_000_000_000}, "range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs available"),
        ({"NanoCpus": -1}, "range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs available"),
        ({"CpuPeriod": 999}, "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"),
        ({"CpuQuota": 999}, "CPU cfs quota can not be less than 1ms (i.e. 1000)"),
        ({"CpusetCpus": "0-x"}, "Invalid value 0-x for cpuset cpus: invalid format: 0-x"),
        ({"CpusetCpus": "3-1"}, "Invalid value 3-1 for cpuset cpus: invalid format: 3-1"),
        ({"CpusetCpus": "0,9000"}, "Invalid value 0,9000 for cpuset cpus: value of out range, maximum is 8192"),
        ({"CpusetCpus": "2-5"}, "Requested CPUs are not available - requested 2-5, available: 0-3"),
        ({"CpusetMems": "1"}, "Requested memory nodes are not available - requested 1, available: 0"),
        ({"BlkioWeight": 5}, "Range of blkio weight is from 10 to 1000"),
        ({"Memory": "64m"}, "invalid JSON: HostConfig.Memory must be of type int"),
        ({"Ulimits": [{"Name": "nofiles", "Soft": 1, "Hard": 1}]}, "invalid ulimit type: nofiles"),
        ({"Ulimits": [{"Name": "nofile", "Soft": 10, "Hard": 5}]},
         "ulimit soft limit must be less than or equal to hard limit: 10 > 5"),
        ({"Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 30000}]},
         "invalid ulimit nofile=1024:30000: the hard limit is above the host's hard limit for nofile (20000)"),
        ({"Devices": [{"PathOnHost": "/dev/null", "CgroupPermissions": "rwx"}]}, "invalid device mode: rwx"),
    ],
)
def test_bad_resources_are_refused_with_dockers_message(hc: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidParameter) as exc:
        created(hc)
    assert exc.value.message == message


def test_what_the_host_cannot_enforce_is_discarded_with_a_warning() -> None:
    hc, warnings = created({"MemorySwappiness": 10, "OomKillDisable": True, "Memory": 64 * MiB}, V2)
    assert hc["MemorySwappiness"] is None and hc["OomKillDisable"] is False
    assert warnings == [
        "Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. "
        "Memory swappiness discarded.",
        "Your kernel does not support OomKillDisable. OomKillDisable discarded.",
    ]
    _, warnings = created({"OomKillDisable": True})
    assert warnings == ["OOM killer is disabled for the container, but no memory limit is set, this can result "
                        "in the system running out of resources."]
    hc, _ = created({"PidsLimit": -1, "Ulimits": [{"Name": "nproc", "Soft": 10**9, "Hard": 10**9}]})
    assert hc["PidsLimit"] is None and hc["Ulimits"] == [{"Name": "nproc", "Hard": 10**9, "Soft": 10**9}]


def test_parse_uint_list() -> None:
    assert parse_uint_list("0-2,4,3-3") == {0, 1, 2, 3, 4}
    assert parse_uint_list("") == set()
    with pytest.raises(InvalidParameter, match="invalid format: 1,,2"):
        parse_uint_list("1,,2")


def test_update_merge_follows_dockers_conflicts() -> None:
    hc = {"Memory": 64 * MiB, "MemorySwap": 128 * MiB, "NanoCpus": 0, "CpuQuota": 20000, "AutoRemove": True}
    with pytest.raises(Conflict, match="Nano CPUs cannot be updated as CPU Quota has already been set"):
        merge_update(hc, {"NanoCpus": 500_000_000})
    with pytest.raises(Conflict, match="Memory limit should be smaller than already set memoryswap limit"):
        merge_update(hc, {"Memory": 200 * MiB})
    with pytest.raises(Conflict, match="Restart policy cannot be updated because AutoRemove is enabled"):
        merge_update(hc, {"RestartPolicy": {"Name": "always"}})
    new = merge_update(hc, {"Memory": 100 * MiB, "PidsLimit": -1, "CpuShares": 512})
    assert (new["Memory"], new["MemorySwap"], new["PidsLimit"], new["CpuShares"]) == (100 * MiB, 128 * MiB, 0, 512)
    assert hc["Memory"] == 64 * MiB  # the original is untouched until the update succeeded
    with pytest.raises(Conflict, match="CPU Period cannot be updated as NanoCPUs has already been set"):
        merge_update({"NanoCpus": 10**9}, {"CpuPeriod": 50000})


def test_update_resources_for_runc() -> None:
    assert update_resources_json({"Memory": 100 * MiB, "MemorySwap": 300 * MiB, "NanoCpus": 1_500_000_000,
                                  "PidsLimit": 0, "CpusetCpus": "1"}) == {
        "cpu": {"cpus": "1", "period": 100000, "quota": 150000},
        "memory": {"limit": 100 * MiB, "swap": 300 * MiB},
        "pids": {"limit": -1},
    }
    assert update_resources_json({"CpuQuota": 20000, "BlkioWeight": 300}) == {
        "cpu": {"quota": 20000}, "blockIO": {"weight": 300}}
    # An update body never sends -1 swap to runc (dockerd passes only positive values).
    assert update_resources_json({"MemorySwap": -1}) == {}


def test_host_config_becomes_the_spec_resources() -> None:
    hc, _ = created({"Memory": 64 * MiB, "MemoryReservation": 32 * MiB, "NanoCpus": 500_000_000,
                     "CpusetCpus": "0", "PidsLimit": 20, "OomKillDisable": True, "ShmSize": 16 * MiB,
                     "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}], "MemorySwappiness": 0})
    inp = SpecInput(id="c" * 64, rootfs="/r", process=ProcessSpec(args=("sh",), env=()), hostname="h",
                    cgroups_path="/sangja/x", host_nofile_hard=20000, available_caps=None,
                    **spec_fields(hc, []))
    spec = generate_spec(inp)
    res = spec["linux"]["resources"]
    assert res["memory"] == {"limit": 64 * MiB, "reservation": 32 * MiB, "swap": 128 * MiB, "swappiness": 0,
                             "disableOOMKiller": True}
    assert res["cpu"] == {"period": 100000, "quota": 50000, "cpus": "0"}
    assert res["pids"] == {"limit": 20}
    assert {"type": "RLIMIT_NOFILE", "hard": 2048, "soft": 1024} in spec["process"]["rlimits"]
    shm = next(m for m in spec["mounts"] if m["destination"] == "/dev/shm")
    assert f"size={16 * MiB}" in shm["options"]


def _fake_v1_tree(root: Path, memsw: bool) -> CgroupLayout:
    for ctl, files in {
        "memory": ["memory.limit_in_bytes", "memory.soft_limit_in_bytes", "memory.swappiness", "memory.oom_control"]
        + (["memory.memsw.limit_in_bytes"] if memsw else []),
        "cpu,cpuacct": ["cpu.shares", "cpu.cfs_quota_us"],
        "cpuset": ["cpuset.cpus", "cpuset.mems"],
        "pids": ["pids.max"],
        "blkio": [],
    }.items():
        (root / ctl).mkdir(parents=True)
        for f in files:
            (root / ctl / f).write_text("0-5\n" if f == "cpuset.cpus" else "0\n")
    return CgroupLayout(version=1, controllers={
        "memory": str(root / "memory"), "cpu": str(root / "cpu,cpuacct"), "cpuacct": str(root / "cpu,cpuacct"),
        "cpuset": str(root / "cpuset"), "pids": str(root / "pids"), "blkio": str(root / "blkio")})


def test_probe_reads_a_v1_host(tmp_path: Path) -> None:
    info = probe(_fake_v1_tree(tmp_path, memsw=False))
    assert info.cgroup_version == 1 and info.cpus == "0-5" and info.mems == "0"
    assert info.memory_limit and not info.swap_limit and info.cpu_cfs and info.pids_limit
    assert not info.blkio_weight
    assert probe(_fake_v1_tree(tmp_path / "b", memsw=True)).swap_limit


def test_probe_reads_a_v2_host(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (tmp_path / "cpuset.cpus.effective").write_text("0-7\n")
    (tmp_path / "cpuset.mems.effective").write_text("0-1\n")
    info = probe(CgroupLayout(version=2, unified=str(tmp_path)))
    assert info.cgroup_version == 2 and info.cpus == "0-7" and info.mems == "0-1"
    assert info.memory_limit and info.swap_limit and info.pids_limit and info.cpu_cfs and info.blkio_weight
    assert not info.memory_swappiness and not info.oom_kill_disable
    (tmp_path / "cgroup.controllers").write_text("cpu pids\n")
    bare = probe(CgroupLayout(version=2, unified=str(tmp_path)))
    assert not bare.memory_limit and not bare.cpuset and bare.pids_limit


@pytest.fixture
async def d(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Daemon]:
    monkeypatch.setattr(resources, "_HOST_INFO", V1)
    daemon = make_daemon(tmp_path)
    yield daemon
    for task in list(daemon.background):
        task.cancel()


async def test_create_applies_the_rules_and_nothing_is_left_on_error(d: Daemon) -> None:
    with pytest.raises(InvalidParameter, match="Minimum memory limit allowed is 6MB"):
        await create_container(d, {"Image": "busybox", "HostConfig": {"Memory": 1000}}, "small")
    assert d.containers.find("small") is None
    c, warnings = await create_container(
        d, {"Image": "busybox", "HostConfig": {"Memory": 64 * MiB, "OomKillDisable": True}}, "big")
    assert warnings == [] and c.host_config["MemorySwap"] == 128 * MiB


async def test_update_writes_a_running_container_then_persists(d: Daemon) -> None:
    c, _ = await create_container(d, {"Image": "busybox", "HostConfig": {"Memory": 64 * MiB}}, "web")
    # Stopped: only the record changes.
    assert await update_container(d, "web", {"PidsLimit": 10}) == []
    assert d.runtime.updates == []  # type: ignore[attr-defined]
    await start_container(d, "web")
    assert d.runtime.specs[c.id]["linux"]["resources"]["pids"] == {"limit": 10}  # type: ignore[attr-defined]
    await update_container(d, "web", {"Memory": 100 * MiB, "MemorySwap": 200 * MiB})
    assert d.runtime.updates == [(c.id, {"memory": {"limit": 100 * MiB, "swap": 200 * MiB}})]  # type: ignore[attr-defined]
    assert d.containers.get("web").host_config["Memory"] == 100 * MiB
    assert [e["Action"] for e in d.events.history()][-1] == "update"
    with pytest.raises(Conflict, match=f"^Cannot update container {c.id}: Memory limit should be smaller"):
        await update_container(d, "web", {"Memory": 300 * MiB})
    with pytest.raises(InvalidParameter, match="Minimum memory limit allowed is 6MB"):
        await update_container(d, "web", {"Memory": 10})
    assert d.containers.get("web").host_config["Memory"] == 100 * MiB
