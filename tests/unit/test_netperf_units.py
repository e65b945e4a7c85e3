"""The fast path of a container's network, without root: the batched rtnetlink messages, the
background veth reaper, and that a container without published ports changes no nft rule."""

from __future__ import annotations

import errno
import socket
import threading
from pathlib import Path
from typing import Any

import pytest
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

from sangja.network import nft, rtnl, sandbox, teardown
from sangja.network.controller import BridgeController, NetworkOptions
from sangja.network.portmap import Binding
from sangja.network.store import BridgeState
from tests.support.ports import free_local_port


def _decoded(cls: Any, msg: Any) -> Any:
    msg.encode()
    out = cls(msg.data)
    out.decode()
    return out


def test_new_veth_makes_the_peer_in_the_sandbox_under_its_final_name_and_mac() -> None:
    msg = _decoded(ifinfmsg, rtnl.new_veth("sjvabc", 7, "eth0", "02:42:ac:11:00:02", 42))
    assert msg.get_attr("IFLA_IFNAME") == "sjvabc"
    assert msg.get_attr("IFLA_MASTER") == 7
    assert msg["flags"] & rtnl.IFF_UP and msg["change"] & rtnl.IFF_UP
    info = msg.get_attr("IFLA_LINKINFO")
    assert info.get_attr("IFLA_INFO_KIND") == "veth"
    peer = info.get_attr("IFLA_INFO_DATA").get_attr("VETH_INFO_PEER")
    assert peer.get_attr("IFLA_IFNAME") == "eth0"
    assert peer.get_attr("IFLA_ADDRESS") == "02:42:ac:11:00:02"
    assert peer.get_attr("IFLA_NET_NS_FD") == 42


def test_address_has_dockers_broadcast_and_the_route_is_a_plain_default() -> None:
    addr = _decoded(ifaddrmsg, rtnl.new_address(3, "172.17.0.2", 16))
    assert (addr["index"], addr["prefixlen"], addr["family"]) == (3, 16, socket.AF_INET)
    assert addr.get_attr("IFA_LOCAL") == addr.get_attr("IFA_ADDRESS") == "172.17.0.2"
    assert addr.get_attr("IFA_BROADCAST") == "172.17.255.255"
    assert _decoded(ifaddrmsg, rtnl.new_address(3, "10.0.0.2", 31)).get_attr("IFA_BROADCAST") is None
    route = _decoded(rtmsg, rtnl.default_route("172.17.0.1", 3))
    assert (route["dst_len"], route["table"], route["proto"]) == (0, rtnl.RT_TABLE_MAIN, rtnl.RTPROT_BOOT)
    assert route.get_attr("RTA_GATEWAY") == "172.17.0.1" and route.get_attr("RTA_OIF") == 3


def test_a_batch_reads_every_answer_and_raises_the_refusal() -> None:
    # Reading links needs no privilege: the loopback device and a name that does not exist.
    with rtnl.Rtnl() as nl:
        assert nl.link_index("lo") == [1]
        assert nl.link_index("lo", "lo") == [1, 1]
        with pytest.raises(NetlinkError) as err:
            nl.link_index("lo", "sjvnosuchlink0")
        assert err.value.code == errno.ENODEV
        assert nl.link_index("lo") == [1]  # the socket is still in step after an error


class _Deletions:
    def __init__(self, fail: str = "") -> None:
        self.names: list[str] = []
        self.threads: set[str] = set()
        self.fail = fail

    def __call__(self, _ipr: Any, name: str) -> None:
        self.threads.add(threading.current_thread().name)
        self.names.append(name)
        if name == self.fail:
            raise NetlinkError(errno.EBUSY, "busy")


def test_reaper_deletes_each_name_once_in_its_own_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    done = _Deletions(fail="sjvbad")
    monkeypatch.setattr(teardown, "delete_if_present", done)
    reaper = teardown.LinkReaper()
    reaper.delete(["sjva", "sjvbad", "sjva"])
    reaper.delete(["sjvb"])
    assert reaper.flush(timeout=10)
    assert reaper.pending() == set()
    assert sorted(done.names) == ["sjva", "sjvb", "sjvbad"]
    assert done.threads == {"sangja-link-reaper"}  # never the caller's thread
    reaper.delete(["sjvc"])  # a failure did not end the worker
    reaper.stop(timeout=10)
    assert done.names[-1] == "sjvc"
    reaper.delete(["sjvd"])  # and a stopped reaper starts again when needed
    assert reaper.flush(timeout=10)
    reaper.stop(timeout=10)
    assert done.names[-1] == "sjvd"


class _FakeKernel:
    """What BridgeController asks of sandbox.py and nft.py, recorded instead of done."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.applied = 0
        self.released: list[tuple[str, list[str]]] = []
        self.deleted: list[str] = []
        monkeypatch.setattr(sandbox, "add_endpoint", self.add_endpoint)
        monkeypatch.setattr(sandbox, "release_sandbox", self.release)
        monkeypatch.setattr(sandbox, "delete_sandbox", self.delete)
        monkeypatch.setattr(nft, "apply", self.apply)

    def add_endpoint(self, path: Path, spec: sandbox.EndpointSpec, new: bool = False) -> sandbox.Endpoint:
        return sandbox.Endpoint(spec.host_ifname, spec.address, spec.prefixlen, spec.gateway,
                                sandbox.mac_for(spec.address))

    def release(self, path: Path, cid: str, names: list[str], reaper: teardown.LinkReaper) -> None:
        self.released.append((cid, names))

    def delete(self, path: Path, cid: str, names: list[str] | None = None) -> None:
        self.deleted.append(cid)

    def apply(self, script: str) -> None:
        self.applied += 1


def _controller(tmp_path: Path) -> BridgeController:
    ctl = BridgeController(NetworkOptions(bridge="sjtest0"), tmp_path / "data", tmp_path / "run")
    ctl.state = BridgeState(id="n" * 64, subnet="10.219.0.0/24", gateway="10.219.0.1", created="", device="sjtest0")
    ctl.networks = {ctl.state.id: ctl.state}
    return ctl


def test_no_nft_transaction_for_a_container_without_published_ports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kernel = _FakeKernel(monkeypatch)
    ctl = _controller(tmp_path)
    rec = ctl.connect("a" * 64, "a", [])
    assert rec["IPAddress"] == "10.219.0.2"
    ctl.disconnect("a" * 64)
    assert kernel.applied == 0
    assert kernel.released == [("a" * 64, ["sjv" + "a" * 11])]  # handed to the reaper, not waited for

    port = free_local_port()
    ctl.connect("b" * 64, "b", [Binding("tcp", 80, "127.0.0.1", port, port)])
    assert kernel.applied == 1  # the DNAT rule
    ctl.disconnect("b" * 64)
    assert kernel.applied == 2  # and its removal


def test_a_failed_connect_removes_its_endpoint_before_it_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kernel = _FakeKernel(monkeypatch)
    ctl = _controller(tmp_path)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        port = int(holder.getsockname()[1])
        with pytest.raises(Exception, match="port is already allocated"):
            ctl.connect("c" * 64, "c", [Binding("tcp", 80, "127.0.0.1", port, port)])
    assert kernel.deleted == ["c" * 64] and kernel.released == []  # synchronously, not by the reaper
    assert kernel.applied == 0
