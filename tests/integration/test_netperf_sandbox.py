"""The fast sandbox path against the real kernel (root): the peer is made in place, teardown is
off the caller's path yet complete, a reused veth name works, and restore() finishes the job."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sangja.host import netns
from sangja.network import sandbox
from sangja.network.controller import BridgeController
from tests.support import netleaks
from tests.support.bridges import bridge_controller
from tests.support.waiting import wait_until

pytestmark = pytest.mark.root


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[BridgeController]:
    with bridge_controller(tmp_path, "sjn", "10.217.0.0/16") as ctl:
        yield ctl


def _ip_json(*argv: str, netns_path: str = "") -> list[dict[str, Any]]:
    prefix = ["nsenter", f"--net={netns_path}"] if netns_path else []
    out = subprocess.run([*prefix, "ip", "-j", *argv], capture_output=True, text=True, timeout=30, check=True).stdout
    data: list[dict[str, Any]] = json.loads(out or "[]")
    return data


def _entered(pid: int) -> bool:
    """Whether process `pid` (nsenter, then sleep) is in another network namespace than ours."""
    try:
        return os.readlink(f"/proc/{pid}/ns/net") != os.readlink("/proc/self/ns/net")
    except OSError:
        return False


def _host_links() -> set[str]:
    return {str(link["ifname"]) for link in _ip_json("link", "show")}


def test_the_endpoint_is_made_in_place_as_docker_configures_it(controller: BridgeController) -> None:
    rec = controller.connect("a" * 64, "a", [])
    key = rec["SandboxKey"]
    links = _host_links()
    assert "sjv" + "a" * 11 in links and "sjp" + "a" * 11 not in links  # no temporary peer in the host's
    (eth0,) = _ip_json("addr", "show", "eth0", netns_path=key)
    assert eth0["address"] == rec["MacAddress"] == sandbox.mac_for(rec["IPAddress"])
    assert "UP" in eth0["flags"]
    inet = [a for a in eth0["addr_info"] if a["family"] == "inet"]
    assert inet == [{**inet[0], "local": "10.217.0.2", "prefixlen": 24, "broadcast": "10.217.0.255"}]
    (lo,) = _ip_json("link", "show", "lo", netns_path=key)
    assert "UP" in lo["flags"]
    routes = _ip_json("route", netns_path=key)
    assert {"dst": "default", "gateway": "10.217.0.1", "dev": "eth0", "flags": []} in routes
    (host_end,) = _ip_json("link", "show", "sjv" + "a" * 11)
    assert host_end["master"] == controller.opts.bridge and "UP" in host_end["flags"]


def test_teardown_returns_at_once_and_the_reaper_deletes_a_veth_the_kernel_keeps(
    controller: BridgeController,
) -> None:
    rec = controller.connect("b" * 64, "b", [])
    veth = "sjv" + "b" * 11
    # A process still in the namespace keeps it (and the veth) alive after its file is gone.
    holder = subprocess.Popen(["nsenter", f"--net={rec['SandboxKey']}", "sleep", "60"])
    try:
        wait_until(lambda: _entered(holder.pid), timeout=10, interval=0.02, what="the holder in the sandbox")
        controller.disconnect("b" * 64)
        assert not Path(rec["SandboxKey"]).exists()
        assert controller.reaper.flush(timeout=10)
        assert veth not in _host_links()
        assert holder.poll() is None  # the namespace itself was not the reaper's to end
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_a_restarted_container_gets_its_veth_name_again_at_once(controller: BridgeController) -> None:
    cid = "c" * 64
    for _ in range(3):  # connect right after disconnect: the old veth may still be going
        rec = controller.connect(cid, "c", [])
        controller.disconnect(cid)
    rec = controller.connect(cid, "c", [])
    assert netleaks.veths_of(controller.opts.bridge) >= {"sjv" + "c" * 11}
    assert any(r.get("gateway") == "10.217.0.1" for r in _ip_json("route", netns_path=rec["SandboxKey"]))


def test_restore_deletes_veths_a_killed_daemon_left_queued(tmp_path: Path, controller: BridgeController) -> None:
    rec = controller.connect("d" * 64, "d", [])
    holder = subprocess.Popen(["nsenter", f"--net={rec['SandboxKey']}", "sleep", "60"])
    try:
        wait_until(lambda: _entered(holder.pid), timeout=10, interval=0.02, what="the holder in the sandbox")
        netns.remove(Path(rec["SandboxKey"]))  # what disconnect did before the daemon died, the reaper never ran
        controller._live.clear()
        assert "sjv" + "d" * 11 in netleaks.veths_of(controller.opts.bridge)
        fresh = BridgeController(controller.opts, tmp_path / "data", tmp_path / "run")
        fresh.init()
        fresh.restore({})
        assert netleaks.veths_of(controller.opts.bridge) == set()
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_a_cancelled_name_is_not_deleted_by_the_reaper() -> None:
    # A restarted container makes its veth again under the same name while the old one may still
    # be queued: the reaper must leave the new link alone.
    from sangja.network.teardown import LinkReaper

    name = f"sjtc{os.getpid() % 100000}"
    subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", name + "p"], check=True)
    reaper = LinkReaper()
    try:
        with reaper._cond:  # the worker can't pick the name up until cancel() is done
            reaper.delete([name])
            reaper.cancel([name])
        assert reaper.flush()
        assert _ip_json("link", "show", name), "the reaper deleted a cancelled name"
        reaper.delete([name])
        assert reaper.flush()
        assert subprocess.run(["ip", "link", "show", name], capture_output=True).returncode != 0
    finally:
        reaper.stop()
        subprocess.run(["ip", "link", "del", name], capture_output=True)
