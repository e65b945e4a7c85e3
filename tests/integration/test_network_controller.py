"""BridgeController against the real kernel (root): sandboxes, ports, rules, restore, cleanup."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sangja.errors import SangjaError
from sangja.network.controller import BridgeController
from sangja.network.portmap import Binding
from tests.support import netleaks
from tests.support.bridges import bridge_controller
from tests.support.ports import free_local_port

pytestmark = pytest.mark.root


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[BridgeController]:
    with bridge_controller(tmp_path, "sjc", "10.213.0.0/16") as ctl:
        yield ctl


def _in_ns(path: str, *argv: str) -> str:
    return subprocess.run(["nsenter", f"--net={path}", *argv], capture_output=True, text=True, timeout=30,
                          check=True).stdout


def test_connect_gives_an_address_route_and_rules_and_disconnect_takes_them(controller: BridgeController) -> None:
    port = free_local_port()
    a = controller.connect("a" * 64, "a", [Binding("tcp", 80, "127.0.0.1", port, port)])
    b = controller.connect("b" * 64, "b", [])
    assert (a["IPAddress"], b["IPAddress"]) == ("10.213.0.2", "10.213.0.3")
    assert "inet 10.213.0.2/24" in _in_ns(a["SandboxKey"], "ip", "addr", "show", "eth0")
    assert "default via 10.213.0.1 dev eth0" in _in_ns(a["SandboxKey"], "ip", "route")
    rules = subprocess.run(["nft", "list", "table", "ip", controller.opts.table], capture_output=True, text=True,
                           timeout=30).stdout
    assert f"dport {port} dnat to 10.213.0.2:80" in rules
    assert len(netleaks.veths_of(controller.opts.bridge)) == 2

    controller.disconnect("a" * 64)
    controller.disconnect("a" * 64)  # idempotent
    assert not Path(a["SandboxKey"]).exists()
    assert controller.reaper.flush(), "the veth was not deleted in the background"
    assert len(netleaks.veths_of(controller.opts.bridge)) == 1
    rules = subprocess.run(["nft", "list", "table", "ip", controller.opts.table], capture_output=True, text=True,
                           timeout=30).stdout
    assert f"dport {port} " not in rules


def test_a_port_conflict_leaves_no_endpoint(controller: BridgeController) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        port = int(holder.getsockname()[1])
        with pytest.raises(SangjaError, match=f"Bind for 127.0.0.1:{port} failed: port is already allocated"):
            controller.connect("c" * 64, "c", [Binding("tcp", 80, "127.0.0.1", port, port)])
    assert netleaks.veths_of(controller.opts.bridge) == set()
    assert not (controller.netns_dir / ("c" * 64)).exists()
    # the address was not consumed
    assert controller.connect("d" * 64, "d", [])["IPAddress"] == "10.213.0.2"


def test_restore_keeps_the_running_and_removes_the_rest(tmp_path: Path, controller: BridgeController) -> None:
    keep = controller.connect("e" * 64, "e", [])
    controller.connect("f" * 64, "f", [])
    # a new daemon process: nothing in memory, the records say only "e" still runs
    fresh = BridgeController(controller.opts, tmp_path / "data", tmp_path / "run")
    fresh.init()
    fresh.restore({"e" * 64: keep})
    assert netleaks.veths_of(controller.opts.bridge) == {"sjv" + "e" * 11}
    assert sorted(p.name for p in controller.netns_dir.iterdir()) == ["e" * 64]
    assert fresh.connect("g" * 64, "g", [])["IPAddress"] == "10.213.0.3"  # .2 is still e's
    fresh.disconnect("g" * 64)
    assert fresh.reaper.flush()
    controller._live.pop("f" * 64)  # removed by restore already
