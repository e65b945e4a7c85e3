"""`sangja network create`: create a bridge network."""

from __future__ import annotations

from sangja.cli.command import Cli, Spec, exact_args
from sangja.cli.errors import CLIError
from sangja.cli.flags import Bool, List, Options, Str

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SPEC = Spec(
    use="[OPTIONS] NETWORK",
    short="Create a network",
    flags=[
        Bool("attachable", "", "Enable manual container attachment"),
        Str("driver", "d", "Driver to manage the Network", default="bridge"),
        List("gateway", "", "IPv4 or IPv6 Gateway for the master subnet", type_name="strings"),
        Bool("internal", "", "Restrict external access to the network"),
        List("ip-range", "", "Allocate container ip from a sub-range", type_name="strings"),
        Str("ipam-driver", "", "IP Address Management Driver", default="default"),
        Bool("ipv6", "", "Enable or disable IPv6 networking"),
        List("label", "", "Set metadata on a network", type_name="list"),
        List("opt", "o", "Set driver specific options", type_name="map"),
        List("subnet", "", "Subnet in CIDR format that represents a network segment", type_name="strings"),
    ],
    args=exact_args(1),
)


def _pairs(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = value
    return out


def ipam_config(subnets: list[str], gateways: list[str], ranges: list[str]) -> list[dict[str, Any]]:
    """docker's consolidateIpam: one entry per subnet, each gateway/range matched to its subnet."""
    if len(gateways) > len(subnets) or len(ranges) > len(subnets):
        raise CLIError("every ip-range or gateway must have a corresponding subnet", 1)
    out: list[dict[str, Any]] = []
    for i, subnet in enumerate(subnets):
        entry: dict[str, Any] = {"Subnet": subnet}
        if i < len(gateways):
            entry["Gateway"] = gateways[i]
        if i < len(ranges):
            entry["IPRange"] = ranges[i]
        out.append(entry)
    return out


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    body: dict[str, Any] = {
        "Name": args[0],
        "Driver": opts.driver,
        "Internal": bool(opts.internal),
        "Attachable": bool(opts.attachable),
        "IPAM": {"Driver": opts.ipam_driver, "Config": ipam_config(opts.subnet, opts.gateway, opts.ip_range),
                 "Options": {}},
        "Options": _pairs(opts.opt),
        "Labels": _pairs(opts.label),
    }
    if opts.ipv6:
        body["EnableIPv6"] = True
    resp = cli.client.post("/networks/create", body=body) or {}
    if resp.get("Warning"):
        cli.err(str(resp["Warning"]))
    cli.out(str(resp.get("Id", "")))
    return 0
