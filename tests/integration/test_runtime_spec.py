"""Specs from generate_spec run under the real runc and do what Docker's do (root)."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

from sangja.host.proc import nofile_hard_limit
from sangja.runtime import logs
from sangja.runtime.caps import available_capabilities, names_from_mask
from sangja.runtime.devices import host_devices
from sangja.runtime.types import MountSpec, ProcessSpec

from .test_runtime_support import Env, env, needs_root, wait_exit

pytestmark = [pytest.mark.root, needs_root]
__all__ = ["env"]


async def output_of(e: Env, args: tuple[str, ...], **kw: Any) -> tuple[int, str]:
    cid = await e.run(args, **kw)
    code = await wait_exit(e.runtime, cid)
    text = b"".join(x.data for x in logs.read_entries(e.log_path(cid))).decode()
    await e.runtime.delete(cid)
    return code, text


async def test_default_container_environment(env: Env) -> None:
    script = (
        "hostname; ulimit -n; cat /proc/self/status | grep CapEff; ls /sys/class/net; "
        "cat /proc/interrupts | wc -c; grep ' /dev/shm ' /proc/mounts; "
        "{ echo x > /proc/sys/kernel/hostname; } 2>/dev/null || echo ro-proc-sys; "
        "cat /proc/sys/net/ipv4/ip_unprivileged_port_start"
    )
    code, out = await output_of(env, ("sh", "-c", script))
    assert code == 0, out
    lines = out.splitlines()
    assert len(lines[0]) == 12                               # hostname = the short ID
    assert lines[1] == str(min(1048576, nofile_hard_limit()))
    assert lines[2].split()[1] == "00000000a80425fb"         # Docker's 14 default capabilities
    assert lines[3] == "lo"                                  # a private network namespace
    assert lines[4] == "0"                                   # /proc/interrupts is masked
    assert "size=65536k" in lines[5]
    assert "ro-proc-sys" in out
    assert lines[-1] == "0"


async def test_privileged_with_all_caps_and_host_devices(env: Env) -> None:
    code, out = await output_of(
        env, ("sh", "-c", "grep CapEff /proc/self/status; ls /dev/null /dev/zero /dev/kmsg 2>&1 | wc -l"),
        privileged=True, devices=tuple(d for d in host_devices() if d.path in ("/dev/kmsg", "/dev/null")),
    )
    assert code == 0, out
    assert names_from_mask(int(out.split()[1], 16)) == available_capabilities()
    assert out.split()[-1] == "3"


async def test_readonly_rootfs_mounts_user_and_limits(env: Env) -> None:
    data = env.base / "data"
    data.mkdir()
    data.chmod(0o777)
    (data / "in").write_text("from-host\n")
    script = (
        "touch /x 2>/dev/null || echo ro-root; cat /data/in; echo out > /data/out; "
        "echo t > /scratch/t && echo tmpfs-ok; id -u; id -G; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null"
    )
    code, out = await output_of(
        env, ("sh", "-c", script),
        readonly_rootfs=True,
        mounts=(MountSpec("/data", str(data), "bind", ("rbind", "rw", "rprivate")),
                MountSpec("/scratch", "tmpfs", "tmpfs", ("nosuid", "nodev", "size=1m"))),
        process=ProcessSpec(args=("sh", "-c", script), env=("PATH=/bin",), uid=65534, gid=65534,
                            additional_gids=(65534, 10)),
        pids_limit=50,
    )
    assert code == 0, out
    lines = out.splitlines()
    assert lines[:3] == ["ro-root", "from-host", "tmpfs-ok"]
    assert lines[3] == "65534" and lines[4].split() == ["65534", "10"]
    assert (data / "out").read_text() == "out\n"
    if os.path.exists("/sys/fs/cgroup/pids"):
        assert lines[5] == "50"


async def test_host_network_and_cap_drop_all(env: Env) -> None:
    code, out = await output_of(env, ("sh", "-c", "grep CapEff /proc/self/status; ls /sys/class/net | wc -l"),
                                network_mode="host", cap_drop=("ALL",))
    assert code == 0, out
    assert out.split()[1] == "0000000000000000"
    assert int(out.split()[-1]) >= 1


async def test_user_process_signal_and_env(env: Env) -> None:
    cid = await env.run(("sh", "-c", "echo $HOME $FOO; sleep 100"),
                        process=ProcessSpec(args=("sh", "-c", "echo $HOME $FOO; exec sleep 100"),
                                            env=("PATH=/bin", "FOO=bar"), cwd="/tmp"))
    await env.runtime.kill(cid, signal.SIGKILL)
    assert await wait_exit(env.runtime, cid) == 137
    assert [x.data for x in logs.read_entries(env.log_path(cid))] == [b"/root bar\n"]
