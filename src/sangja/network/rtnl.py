"""Batched rtnetlink requests for a sandbox's setup: pyroute2's messages over a plain socket.

pyroute2's synchronous API runs an asyncio loop per call and makes an event loop per socket:
~0.5 ms of Python per request and ~0.7 ms per socket here, about half of what setting up
a sandbox cost. Its message classes (ifinfmsg, ifaddrmsg, rtmsg) are kept for the encoding;
the requests go out in one `send` each batch on a plain AF_NETLINK socket, and the kernel
answers each with an ACK or an error (processed in order, so an address is there before the
route that needs it). The socket belongs to the network namespace of the thread that
opened it, which is how a sandbox's thread talks to its namespace and to the host's.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import struct
from typing import Any

from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, nlmsg
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl import RTM_DELLINK, RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

NETLINK_ROUTE = 0
NLMSG_ERROR = 2
IFF_UP = 0x1
RT_TABLE_MAIN = 254
RTPROT_BOOT = 3  # what `ip route add` uses: `ip route` shows Docker's plain "default via … dev eth0"
RTN_UNICAST = 1
_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port
TIMEOUT = 10.0


class Rtnl:
    """One NETLINK_ROUTE socket in the calling thread's network namespace."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        self._sock.settimeout(TIMEOUT)
        self._sock.bind((0, 0))
        self._seq = 0

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, *msgs: nlmsg) -> list[bytes]:
        """Send `msgs` in one batch; return each one's answer (b"" for a plain ACK).
        The first refusal is raised as NetlinkError after every answer has been read."""
        seqs = []
        data = bytearray()
        for msg in msgs:
            self._seq += 1
            msg["header"]["sequence_number"] = self._seq
            msg["header"]["flags"] |= NLM_F_REQUEST | NLM_F_ACK
            msg.encode()
            data += msg.data
            seqs.append(self._seq)
        self._sock.send(bytes(data))
        replies: dict[int, bytes] = {}
        done: dict[int, int] = {}
        while len(done) < len(seqs):
            buf = self._sock.recv(65536)
            off = 0
            while off + _HEADER.size <= len(buf):
                length, kind, _flags, seq, _port = _HEADER.unpack_from(buf, off)
                if length < _HEADER.size:
                    break
                if kind == NLMSG_ERROR:
                    done[seq] = -struct.unpack_from("=i", buf, off + _HEADER.size)[0]
                else:
                    replies[seq] = bytes(buf[off:off + length])
                off += (length + 3) & ~3
        for seq in seqs:
            if done.get(seq):
                raise NetlinkError(done[seq], errno.errorcode.get(done[seq], str(done[seq])))
        return [replies.get(seq, b"") for seq in seqs]

    def link_index(self, *names: str) -> list[int]:
        """The interface indexes of `names` (one batch); NetlinkError ENODEV if one is missing."""
        return [struct.unpack_from("=i", r, _HEADER.size + 4)[0] for r in self.run(*(get_link(n) for n in names))]


def get_link(name: str) -> ifinfmsg:
    msg = ifinfmsg()
    msg["header"]["type"] = RTM_GETLINK
    msg["header"]["flags"] = 0
    msg["attrs"] = [("IFLA_IFNAME", name)]
    return msg


def del_link(name: str) -> ifinfmsg:
    msg = ifinfmsg()
    msg["header"]["type"] = RTM_DELLINK
    msg["header"]["flags"] = 0
    msg["attrs"] = [("IFLA_IFNAME", name)]
    return msg


def link_up(index: int) -> ifinfmsg:
    msg = ifinfmsg()
    msg["header"]["type"] = RTM_NEWLINK
    msg["header"]["flags"] = 0
    msg["index"] = index
    msg["flags"] = IFF_UP
    msg["change"] = IFF_UP
    return msg


def new_veth(name: str, master: int, peer_name: str, peer_mac: str, peer_netns_fd: int) -> ifinfmsg:
    """A veth `name`, enslaved to `master` and up, whose peer is made directly in another
    namespace (IFLA_NET_NS_FD) under its final name and MAC: nothing is moved or renamed."""
    peer: dict[str, Any] = {"attrs": [
        ("IFLA_IFNAME", peer_name), ("IFLA_ADDRESS", peer_mac), ("IFLA_NET_NS_FD", peer_netns_fd),
    ]}
    msg = ifinfmsg()
    msg["header"]["type"] = RTM_NEWLINK
    msg["header"]["flags"] = NLM_F_CREATE | NLM_F_EXCL
    msg["flags"] = IFF_UP
    msg["change"] = IFF_UP
    msg["attrs"] = [
        ("IFLA_IFNAME", name),
        ("IFLA_MASTER", master),
        ("IFLA_LINKINFO", {"attrs": [
            ("IFLA_INFO_KIND", "veth"),
            ("IFLA_INFO_DATA", {"attrs": [("VETH_INFO_PEER", peer)]}),
        ]}),
    ]
    return msg


def new_address(index: int, address: str, prefixlen: int) -> ifaddrmsg:
    """An IPv4 address with its broadcast, as Docker (and `ip addr add … brd +`) sets it."""
    net = ipaddress.IPv4Network(f"{address}/{prefixlen}", strict=False)
    msg = ifaddrmsg()
    msg["header"]["type"] = RTM_NEWADDR
    msg["header"]["flags"] = NLM_F_CREATE | NLM_F_EXCL
    msg["family"] = socket.AF_INET
    msg["prefixlen"] = prefixlen
    msg["index"] = index
    msg["attrs"] = [("IFA_LOCAL", address), ("IFA_ADDRESS", address)]
    if prefixlen < 31:
        msg["attrs"].append(("IFA_BROADCAST", str(net.broadcast_address)))
    return msg


def default_route(gateway: str, oif: int) -> rtmsg:
    msg = rtmsg()
    msg["header"]["type"] = RTM_NEWROUTE
    msg["header"]["flags"] = NLM_F_CREATE | NLM_F_EXCL
    msg["family"] = socket.AF_INET
    msg["table"] = RT_TABLE_MAIN
    msg["proto"] = RTPROT_BOOT
    msg["type"] = RTN_UNICAST
    msg["attrs"] = [("RTA_GATEWAY", gateway), ("RTA_OIF", oif)]
    return msg
