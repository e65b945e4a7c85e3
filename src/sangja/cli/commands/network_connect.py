"""`sangja network connect`: connect a container to a network."""

from __future__ import annotations

from sangja.cli.command import Cli, Spec, exact_args, quote_path
from sangja.cli.flags import List, Options, Str

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SPEC = Spec(
    use="[OPTIONS] NETWORK CONTAINER",
    short="Connect a container to a network",
    flags=[
        List("alias", "", "Add network-scoped alias for the container", type_name="strings"),
        List("driver-opt", "", "driver options for the network", type_name="strings"),
        Str("ip", "", "IPv4 address (e.g., \"172.30.100.104\")"),
        Str("ip6", "", "IPv6 address (e.g., \"2001:db8::33\")"),
        List("link", "", "Add link to another container", type_name="list"),
        List("link-local-ip", "", "Add a link-local address for the container", type_name="strings"),
    ],
    args=exact_args(2),
)


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    endpoint: dict[str, Any] = {"Aliases": list(opts.alias)}
    if opts.ip or opts.ip6:
        endpoint["IPAMConfig"] = {"IPv4Address": opts.ip, "IPv6Address": opts.ip6}
    cli.client.post(f"/networks/{quote_path(args[0])}/connect",
                    body={"Container": args[1], "EndpointConfig": endpoint})
    return 0
