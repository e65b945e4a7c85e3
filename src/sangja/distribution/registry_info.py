"""`RegistryConfig` of GET /info, built like dockerd's (moby registry/config.go newServiceConfig).

    registry_config(insecure=("10.0.0.0/8", "myreg:5000"), mirrors=("https://m.example/",))

- every --insecure-registry that parses as a CIDR goes to InsecureRegistryCIDRs, followed by
  127.0.0.0/8 (loopback is always insecure); any other entry is a host, with an IndexConfigs
  entry {Name, Mirrors: [], Secure: false, Official: false};
- "docker.io" always has its entry last written, secure and official, with the mirrors
  (validated with one trailing "/", as --registry-mirror values are), so an insecure
  "docker.io" does not make Docker Hub insecure, as in dockerd;
- Mirrors repeats the mirror list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sangja.distribution.endpoint import DEFAULT_DOMAIN, insecure_cidr

LOOPBACK_CIDR = "127.0.0.0/8"


def registry_config(insecure: Sequence[str], mirrors: Sequence[str]) -> dict[str, Any]:
    cidrs: list[str] = []
    index: dict[str, dict[str, Any]] = {}
    for entry in insecure:
        cidr = insecure_cidr(entry)
        if cidr is not None:
            if cidr not in cidrs:
                cidrs.append(cidr)
        else:
            index[entry] = {"Name": entry, "Mirrors": [], "Secure": False, "Official": False}
    if LOOPBACK_CIDR not in cidrs:
        cidrs.append(LOOPBACK_CIDR)
    index[DEFAULT_DOMAIN] = {"Name": DEFAULT_DOMAIN, "Mirrors": list(mirrors), "Secure": True, "Official": True}
    return {"InsecureRegistryCIDRs": cidrs, "IndexConfigs": index, "Mirrors": list(mirrors)}
