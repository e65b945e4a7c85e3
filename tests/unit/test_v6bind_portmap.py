"""Published ports on an IPv6 host address (`-p [fd00::2]:8080:80`, `-p [::]:8080:80`): parsing,
validation, reservation and which nft table forwards them (no root: nft.apply is captured)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from sangja.errors import InvalidParameter, SangjaError
from sangja.network import nft
from sangja.network.controller import BridgeController, NetworkOptions, _Live
from sangja.network.portmap import Binding, Mapping, PortReservations, bindings_from, require_ipv6
from sangja.network.store import BridgeState
from tests.support.prereq import require


def _hc(host_ip: str, host_port: str = "8080") -> dict[str, Any]:
    return {"PortBindings": {"80/tcp": [{"HostIp": host_ip, "HostPort": host_port}]}}


@pytest.mark.parametrize(("given", "kept"), [
    ("::", "::"),
    ("fd00::2", "fd00::2"),
    ("FD00:0:0::0002", "fd00::2"),  # canonical form, as docker prints it
    ("0.0.0.0", ""),
    ("127.0.0.1", "127.0.0.1"),
])
def test_host_ips_accepted(given: str, kept: str) -> None:
    assert bindings_from(_hc(given), None) == [Binding("tcp", 80, kept, 8080, 8080)]


@pytest.mark.parametrize(("given", "message"), [
    ("fd00::g", "invalid IP address: fd00::g"),
    ("1.2.3", "invalid IP address: 1.2.3"),
    ("[::]", "invalid IP address: [::]"),
    ("::1", "cannot publish port 80/tcp on [::1]"),
    ("0:0::1", "cannot publish port 80/tcp on [::1]"),
    ("::ffff:127.0.0.1", "use the IPv4 address instead"),
])
def test_host_ips_refused(given: str, message: str) -> None:
    with pytest.raises(InvalidParameter, match=message.replace("[", r"\[").replace("]", r"\]")):
        bindings_from(_hc(given), None)


def test_require_ipv6_names_the_binding_and_the_network() -> None:
    v6 = [Binding("tcp", 80, "", 8080, 8080), Binding("udp", 53, "fd00::2", 5353, 5353)]
    require_ipv6(v6, "fd00::5", "net6")  # the container has an IPv6 address: fine
    require_ipv6(v6[:1], "", "plain")  # no IPv6 binding: fine
    with pytest.raises(InvalidParameter) as exc:
        require_ipv6(v6, "", "plain")
    text = str(exc.value)
    assert "[fd00::2]:5353:53/udp" in text and "network plain" in text and "--ipv6" in text


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


def test_reserve_on_ipv6_any_is_v6only_and_conflicts_like_docker() -> None:
    require(_has_ipv6_loopback(), "this host has no IPv6: the reservation cannot be tested")
    ports = PortReservations()
    try:
        [m] = ports.reserve("a", [Binding("tcp", 80, "::", 0, 0)], "web (ep)")
        assert m.host_ip == "::" and m.host_port > 0
        # V6ONLY: the IPv4 side of the same port stays free for a binding of its own
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as v4:
            v4.bind(("0.0.0.0", m.host_port))
        with pytest.raises(SangjaError) as exc:
            ports.reserve("b", [Binding("tcp", 80, "::", m.host_port, m.host_port)], "other (ep2)")
        assert str(exc.value) == (
            "driver failed programming external connectivity on endpoint other (ep2): "
            f"Bind for :::{m.host_port} failed: port is already allocated"
        )
        ports.release("a")  # released on stop: the port can be taken again
        [again] = ports.reserve("b", [Binding("tcp", 80, "::", m.host_port, m.host_port)], "other (ep2)")
        assert again.host_port == m.host_port
    finally:
        ports.release_all()


def test_no_host_ip_on_an_ipv6_container_holds_both_sides() -> None:
    require(_has_ipv6_loopback(), "this host has no IPv6: the reservation cannot be tested")
    ports = PortReservations()
    try:
        [m] = ports.reserve("a", [Binding("tcp", 80, "", 0, 0)], "web (ep)", v6=True)
        assert m.host_ip == ""  # one mapping; the [::] side is held with it
        with pytest.raises(SangjaError, match=f"Bind for :::{m.host_port} failed: port is already allocated"):
            ports.reserve("b", [Binding("tcp", 80, "::", m.host_port, m.host_port)], "other (ep2)")
        with pytest.raises(SangjaError, match=f"Bind for 0.0.0.0:{m.host_port} failed"):
            ports.reserve("b", [Binding("tcp", 80, "", m.host_port, m.host_port)], "other (ep2)")
        ports.release("a")
        ports.retake("a", [m], v6=True)  # after a daemon restart: both sides again
        with pytest.raises(SangjaError, match=f"Bind for :::{m.host_port} failed"):
            ports.reserve("b", [Binding("tcp", 80, "::", m.host_port, m.host_port)], "other (ep2)")
        ports.release("a")
        [n] = ports.reserve("b", [Binding("tcp", 80, "", m.host_port, m.host_port)], "other (ep2)")  # IPv4 only
        [o] = ports.reserve("c", [Binding("tcp", 80, "::", m.host_port, m.host_port)], "third (ep3)")
        assert n.host_port == o.host_port == m.host_port
    finally:
        ports.release_all()


def test_reserve_on_an_ipv6_address_not_of_this_host() -> None:
    ports = PortReservations()
    with pytest.raises(SangjaError, match=r"listen tcp6 \[fd00:dead:beef::77\]:8080: bind: cannot assign"):
        ports.reserve("a", [Binding("tcp", 80, "fd00:dead:beef::77", 8080, 8080)], "web (ep)")


def _controller(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[BridgeController, list[str]]:
    scripts: list[str] = []
    monkeypatch.setattr(nft, "apply", scripts.append)
    ctl = BridgeController(NetworkOptions(), tmp_path / "data", tmp_path / "exec")
    net = BridgeState("n1", "172.30.0.0/16", "172.30.0.1", "now", device="sangja0",
                      subnet6="fd12:3456:789a::/64", gateway6="fd12:3456:789a::1")
    ctl.state = net
    ctl.networks = {net.id: net}
    return ctl, scripts


def test_nft_ipv6_bindings_only_in_the_ip6_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ctl, scripts = _controller(tmp_path, monkeypatch)
    ctl._live["c1"] = _Live("172.30.0.2", address6="fd12:3456:789a::2", mappings=[
        Mapping("tcp", 80, "", 8080),
        Mapping("tcp", 81, "fd12:3456:789a::1", 8081),
        Mapping("udp", 53, "::", 5353),
        Mapping("tcp", 82, "127.0.0.1", 8082),
    ])
    ctl._apply()
    [script] = scripts
    v4, _, v6 = script.partition("table ip6 ")
    assert "dport 8080 dnat to 172.30.0.2:80" in v4
    assert "ip daddr 127.0.0.1 tcp dport 8082 dnat to 172.30.0.2:82" in v4
    assert "8081" not in v4 and "5353" not in v4 and "fd12" not in v4
    assert "tcp dport 8080 dnat to [fd12:3456:789a::2]:80" in v6
    assert "ip6 daddr fd12:3456:789a::1 tcp dport 8081 dnat to [fd12:3456:789a::2]:81" in v6
    assert "    udp dport 5353 dnat to [fd12:3456:789a::2]:53" in v6  # "::": every IPv6 address
    assert "8082" not in v6


def test_nft_container_without_ipv6_gets_no_ip6_forward(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ctl, scripts = _controller(tmp_path, monkeypatch)
    ctl._live["c1"] = _Live("172.30.0.2", mappings=[Mapping("tcp", 80, "", 8080)])
    ctl._apply()
    assert "dnat to [" not in scripts[0]
