"""runtime.spec.generate_spec: the OCI config.json Docker would write for the same input."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from sangja.errors import InvalidParameter
from sangja.runtime.caps import ALL_CAPABILITIES, DEFAULT_CAPABILITIES, names_from_mask
from sangja.runtime.spec import DEFAULT_MASKED_PATHS, generate_spec, parse_device_cgroup_rule
from sangja.runtime.types import DeviceSpec, MountSpec, ProcessSpec, SpecInput, Ulimit

CID = "c" * 64


def base(**kw: Any) -> SpecInput:
    inp = SpecInput(
        id=CID,
        rootfs="/var/lib/sangja/c/merged",
        process=ProcessSpec(args=("sh", "-c", "echo hi"), env=("PATH=/bin", "HOSTNAME=h"), uid=0, gid=0,
                            additional_gids=(0, 10)),
        hostname="h",
        cgroups_path=f"/sangja/{CID}",
        host_nofile_hard=1 << 30,           # explicit: the defaults are read from the host
        available_caps=ALL_CAPABILITIES,
    )
    return replace(inp, **kw)


def caps_of(spec: dict[str, Any]) -> list[str]:
    c = spec["process"]["capabilities"]
    assert c["bounding"] == c["effective"] == c["permitted"]
    assert "inheritable" not in c and "ambient" not in c
    return list(c["bounding"])


def mount(spec: dict[str, Any], dest: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [m for m in spec["mounts"] if m["destination"] == dest]
    assert len(found) == 1, f"{dest}: {found}"
    return found[0]


def ns_types(spec: dict[str, Any]) -> list[str]:
    return [n["type"] for n in spec["linux"]["namespaces"]]


def test_default_spec_matches_docker() -> None:
    spec = generate_spec(base())
    json.dumps(spec)  # serializable as is
    assert spec["ociVersion"].startswith("1.0")
    assert spec["root"] == {"path": "/var/lib/sangja/c/merged", "readonly": False}
    assert spec["hostname"] == "h"
    p = spec["process"]
    assert p["args"] == ["sh", "-c", "echo hi"]
    assert p["env"] == ["PATH=/bin", "HOSTNAME=h"]
    assert p["cwd"] == "/"
    assert p["user"] == {"uid": 0, "gid": 0, "additionalGids": [0, 10]}
    assert p["terminal"] is False
    assert p["noNewPrivileges"] is False
    assert p["oomScoreAdj"] == 0
    assert caps_of(spec) == list(DEFAULT_CAPABILITIES)
    assert len(DEFAULT_CAPABILITIES) == 14

    assert [m["destination"] for m in spec["mounts"]] == [
        "/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"]
    assert mount(spec, "/dev")["type"] == "tmpfs"
    assert "ro" in mount(spec, "/sys")["options"]
    assert "ro" in mount(spec, "/sys/fs/cgroup")["options"]
    assert mount(spec, "/dev/shm")["options"] == ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]
    assert mount(spec, "/dev/pts")["type"] == "devpts"
    assert mount(spec, "/dev/mqueue")["type"] == "mqueue"

    linux = spec["linux"]
    assert ns_types(spec) == ["mount", "network", "uts", "pid", "ipc"]
    assert linux["cgroupsPath"] == f"/sangja/{CID}"
    assert linux["maskedPaths"] == list(DEFAULT_MASKED_PATHS)
    assert "/proc/kcore" in linux["maskedPaths"] and "/sys/firmware" in linux["maskedPaths"]
    assert linux["readonlyPaths"] == ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
    assert linux["sysctl"] == {"net.ipv4.ip_unprivileged_port_start": "0",
                               "net.ipv4.ping_group_range": "0 2147483647"}
    rules = linux["resources"]["devices"]
    assert rules[0] == {"allow": False, "access": "rwm"}
    allowed = {(r["type"], r["major"], r["minor"]) for r in rules if r["allow"]}
    assert allowed == {("c", 1, 5), ("c", 1, 3), ("c", 1, 9), ("c", 1, 8), ("c", 5, 0), ("c", 5, 1)}
    assert {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"} in rules
    assert "seccomp" not in linux


def test_cap_add_and_drop() -> None:
    spec = generate_spec(base(cap_add=("net_admin", "CAP_SYS_PTRACE"), cap_drop=("chown", "CAP_KILL")))
    caps = caps_of(spec)
    assert "CAP_NET_ADMIN" in caps and "CAP_SYS_PTRACE" in caps
    assert "CAP_CHOWN" not in caps and "CAP_KILL" not in caps
    assert len(caps) == 14


def test_cap_add_all_minus_drops() -> None:
    caps = caps_of(generate_spec(base(cap_add=("ALL",), cap_drop=("MKNOD",))))
    assert caps == [c for c in ALL_CAPABILITIES if c != "CAP_MKNOD"]


def test_cap_drop_all_keeps_only_adds() -> None:
    assert caps_of(generate_spec(base(cap_drop=("all",), cap_add=("chown",)))) == ["CAP_CHOWN"]
    assert caps_of(generate_spec(base(cap_drop=("ALL",)))) == []


def test_cap_add_of_a_default_is_not_duplicated() -> None:
    caps = caps_of(generate_spec(base(cap_add=("CHOWN",))))
    assert caps.count("CAP_CHOWN") == 1


def test_unknown_capability_is_rejected_with_dockers_message() -> None:
    with pytest.raises(InvalidParameter, match=r'^unknown capability: "CAP_NOSUCH"$'):
        generate_spec(base(cap_add=("nosuch",)))
    # CAP_PERFMON (38) doesn't exist on a kernel whose last cap is 37
    with pytest.raises(InvalidParameter, match="not supported by your kernel"):
        generate_spec(base(cap_add=("PERFMON",), cap_last_cap=37, available_caps=None))


def test_only_available_capabilities_can_be_granted() -> None:
    available = tuple(c for c in ALL_CAPABILITIES if c != "CAP_SYS_RESOURCE")
    with pytest.raises(InvalidParameter) as e:
        generate_spec(base(cap_add=("SYS_RESOURCE",), available_caps=available))
    assert str(e.value) == ('capability not supported by your kernel or not available in the current environment: '
                            '"CAP_SYS_RESOURCE"')
    assert caps_of(generate_spec(base(privileged=True, available_caps=available))) == list(available)
    assert "CAP_SYS_RESOURCE" not in caps_of(generate_spec(base(cap_add=("ALL",), available_caps=available)))
    # dropping what isn't there is fine only if it is available to name; defaults are unaffected
    assert caps_of(generate_spec(base(available_caps=available))) == list(DEFAULT_CAPABILITIES)


def test_names_from_mask() -> None:
    assert names_from_mask(0x1 | 1 << 21) == ("CAP_CHOWN", "CAP_SYS_ADMIN")
    assert names_from_mask(0x000001FFFEFFFFFF) == tuple(c for c in ALL_CAPABILITIES if c != "CAP_SYS_RESOURCE")


def test_privileged() -> None:
    spec = generate_spec(base(privileged=True, cap_last_cap=40,
                              devices=(DeviceSpec("/dev/sda", "b", 8, 0, 0o660, 0, 6),)))
    assert caps_of(spec) == list(ALL_CAPABILITIES)
    assert len(caps_of(generate_spec(base(privileged=True, cap_last_cap=37, available_caps=None)))) == 38
    linux = spec["linux"]
    assert "maskedPaths" not in linux and "readonlyPaths" not in linux
    assert linux["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    assert linux["devices"] == [{"path": "/dev/sda", "type": "b", "major": 8, "minor": 0, "fileMode": 0o660,
                                 "uid": 0, "gid": 6}]
    assert "ro" not in mount(spec, "/sys")["options"]
    assert "ro" not in mount(spec, "/sys/fs/cgroup")["options"]


def test_host_network_has_no_net_namespace_and_no_net_sysctls() -> None:
    spec = generate_spec(base(network_mode="host"))
    assert ns_types(spec) == ["mount", "uts", "pid", "ipc"]
    assert spec["linux"]["sysctl"] == {}


def test_join_network_namespace_by_path() -> None:
    spec = generate_spec(base(network_mode="netns:/run/sangja/netns/x"))
    assert {"type": "network", "path": "/run/sangja/netns/x"} in spec["linux"]["namespaces"]


def test_other_namespace_modes() -> None:
    spec = generate_spec(base(pid_mode="host", ipc_mode="ns:/proc/7/ns/ipc", uts_mode="host",
                              cgroupns_private=True))
    assert ns_types(spec) == ["mount", "network", "ipc", "cgroup"]
    assert {"type": "ipc", "path": "/proc/7/ns/ipc"} in spec["linux"]["namespaces"]
    with pytest.raises(InvalidParameter):
        generate_spec(base(network_mode="container:abc"))


def test_user_sysctls_override_defaults() -> None:
    spec = generate_spec(base(sysctls=(("net.ipv4.ip_unprivileged_port_start", "1024"),
                                       ("kernel.msgmax", "65536"))))
    assert spec["linux"]["sysctl"]["net.ipv4.ip_unprivileged_port_start"] == "1024"
    assert spec["linux"]["sysctl"]["kernel.msgmax"] == "65536"


def test_readonly_rootfs_and_shm_size() -> None:
    spec = generate_spec(base(readonly_rootfs=True, shm_size=1 << 20))
    assert spec["root"]["readonly"] is True
    assert "size=1048576" in mount(spec, "/dev/shm")["options"]


def test_user_mounts_replace_defaults_and_are_sorted_by_depth() -> None:
    mounts = (
        MountSpec("/data/sub", "/h/sub"),
        MountSpec("/dev/shm", "/h/shm", "bind", ("rbind", "rprivate")),
        MountSpec("/data", "/h/data", "bind", ("rbind", "ro", "rprivate")),
        MountSpec("/tmp", "tmpfs", "tmpfs", ("nosuid", "size=1m")),
    )
    spec = generate_spec(base(mounts=mounts))
    dests = [m["destination"] for m in spec["mounts"]]
    assert dests.count("/dev/shm") == 1
    assert mount(spec, "/dev/shm")["source"] == "/h/shm"
    assert dests.index("/data") < dests.index("/data/sub")
    assert mount(spec, "/data") == {"destination": "/data", "type": "bind", "source": "/h/data",
                                    "options": ["rbind", "ro", "rprivate"]}
    assert mount(spec, "/tmp")["type"] == "tmpfs"


def test_user_mount_on_dev_replaces_everything_under_dev() -> None:
    spec = generate_spec(base(mounts=(MountSpec("/dev", "/h/dev"),)))
    dests = [m["destination"] for m in spec["mounts"]]
    assert not [d for d in dests if d.startswith("/dev/")]
    assert mount(spec, "/dev")["source"] == "/h/dev"


def test_resources() -> None:
    spec = generate_spec(base(memory=64 << 20, memory_swap=128 << 20, memory_reservation=32 << 20,
                              cpu_shares=512, cpu_quota=50000, cpu_period=100000, cpuset_cpus="0",
                              cpuset_mems="0", pids_limit=100, blkio_weight=300, oom_kill_disable=True))
    r = spec["linux"]["resources"]
    assert r["memory"] == {"limit": 64 << 20, "swap": 128 << 20, "reservation": 32 << 20,
                           "disableOOMKiller": True}
    assert r["cpu"] == {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"}
    assert r["pids"] == {"limit": 100}
    assert r["blockIO"] == {"weight": 300}


def test_unlimited_resources_are_left_out() -> None:
    r = generate_spec(base(pids_limit=-1))["linux"]["resources"]
    assert r["memory"] == {"disableOOMKiller": False}
    assert "cpu" not in r and "pids" not in r and "blockIO" not in r


def test_nano_cpus_become_quota_over_100ms() -> None:
    r = generate_spec(base(nano_cpus=1_500_000_000))["linux"]["resources"]
    assert r["cpu"] == {"period": 100000, "quota": 150000}


def test_nofile_is_clamped_to_the_hosts_hard_limit() -> None:
    def nofile(spec: dict[str, Any]) -> dict[str, Any]:
        (entry,) = [r for r in spec["process"]["rlimits"] if r["type"] == "RLIMIT_NOFILE"]
        return dict(entry)

    assert nofile(generate_spec(base(host_nofile_hard=20000))) == {"type": "RLIMIT_NOFILE", "hard": 20000,
                                                                    "soft": 20000}
    assert nofile(generate_spec(base(host_nofile_hard=1 << 30)))["hard"] == 1048576
    ulimited = generate_spec(base(host_nofile_hard=20000, ulimits=(Ulimit("nofile", 100, 200),
                                                                   Ulimit("nproc", 50, 60))))
    assert nofile(ulimited) == {"type": "RLIMIT_NOFILE", "hard": 200, "soft": 100}
    assert {"type": "RLIMIT_NPROC", "hard": 60, "soft": 50} in ulimited["process"]["rlimits"]


def test_devices_and_cgroup_rules() -> None:
    spec = generate_spec(base(devices=(DeviceSpec("/dev/xfuse", "c", 10, 229, permissions="rw"),),
                              device_cgroup_rules=("c 42:* rmw", "b *:* m")))
    rules = spec["linux"]["resources"]["devices"]
    assert rules[-3] == {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"}
    assert rules[-2] == {"allow": True, "type": "c", "major": 42, "access": "rmw"}
    assert rules[-1] == {"allow": True, "type": "b", "access": "m"}
    assert spec["linux"]["devices"][0]["path"] == "/dev/xfuse"


def test_bad_device_cgroup_rule() -> None:
    with pytest.raises(InvalidParameter, match=r"^invalid device cgroup rule format: 'c 1:3 x'$"):
        parse_device_cgroup_rule("c 1:3 x")


def test_process_details() -> None:
    spec = generate_spec(base(
        process=ProcessSpec(args=("top",), env=(), cwd="/work", uid=1000, gid=1000, additional_gids=(1000,),
                            terminal=True),
        oom_score_adj=500, no_new_privileges=True, domainname="example.org",
        annotations=(("org.opencontainers.x", "1"),), extra_masked_paths=("/sys/devices/system/cpu/cpu0/x",),
    ))
    p = spec["process"]
    assert p["terminal"] is True and p["cwd"] == "/work" and p["oomScoreAdj"] == 500
    assert p["noNewPrivileges"] is True
    assert p["user"] == {"uid": 1000, "gid": 1000, "additionalGids": [1000]}
    assert spec["domainname"] == "example.org"
    assert spec["annotations"] == {"org.opencontainers.x": "1"}
    assert spec["linux"]["maskedPaths"][-1] == "/sys/devices/system/cpu/cpu0/x"
