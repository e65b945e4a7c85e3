"""resolv.conf rebuilt in place after connect/disconnect, unless the user modified it."""

from __future__ import annotations

import os
from pathlib import Path

from sangja.daemon.container import Container, State
from sangja.daemon.network_resolv import resolv_conf_content, rewrite_if_unmodified

HOST = "search example.test\nnameserver 10.0.0.53\nnameserver 127.0.0.53\noptions edns0\n"


def _container(hc: dict[str, object]) -> Container:
    return Container(id="a" * 64, name="/c", created="x", created_ns=1, image="busybox", image_id="sha256:1",
                     path="sh", args=[], config={}, host_config={"NetworkMode": "bridge", **hc}, state=State())


def test_content_for_embedded_and_host_resolvers() -> None:
    c = _container({})
    assert resolv_conf_content(c, HOST, "") == "search example.test\nnameserver 10.0.0.53\noptions edns0\n"
    embedded = resolv_conf_content(c, HOST, "172.20.0.1")
    assert embedded.splitlines()[-2:] == ["nameserver 172.20.0.1", "options ndots:0"]
    assert "10.0.0.53" not in embedded and "search example.test" in embedded
    # --dns servers are the embedded server's upstreams, not in the file
    with_dns = resolv_conf_content(_container({"Dns": ["9.9.9.9"], "DnsOptions": ["ndots:2"]}), HOST, "172.20.0.1")
    assert "9.9.9.9" not in with_dns and "options ndots:2" in with_dns and "ndots:0" not in with_dns


def test_rewrite_keeps_the_inode_and_respects_user_changes(tmp_path: Path) -> None:
    f = tmp_path / "resolv.conf"
    f.write_text("old-long-content\n")
    inode = os.stat(f).st_ino
    assert rewrite_if_unmodified(f, "old-long-content\n", "new\n")
    assert f.read_text() == "new\n" and os.stat(f).st_ino == inode  # the bind mount sees it
    assert not rewrite_if_unmodified(f, "something else\n", "newer\n")
    assert f.read_text() == "new\n"
    assert not rewrite_if_unmodified(tmp_path / "gone", "", "x")
