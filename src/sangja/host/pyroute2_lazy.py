"""pyroute2's IPRoute and NetlinkError without running the package's `__init__`.

`pyroute2/__init__.py` imports every part of the library (NDB, IPDB, conntrack, wireless,
ipvs, plan9, ...): ~10 MB of the daemon's resident memory, of which sangja uses only the
rtnetlink client. Importing `pyroute2.iproute.linux` normally runs that `__init__` first, so
the package object is put in `sys.modules` without it: submodules import as usual, and the
first access to a top-level name that is not a submodule (`from pyroute2 import NDB`, by any
code) runs the real `__init__` then, so everything keeps working, only with the memory spent.
The daemon installs this before anything imports pyroute2; `from pyroute2 import IPRoute`
(and the other LIGHT_NAMES) is then served from the submodule that defines it.

    from sangja.host.pyroute2_lazy import IPRoute, NetlinkError
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType
from typing import Any

# `from pyroute2 import IPRoute` (the common spelling, also in sangja's network code) stays light.
LIGHT_NAMES = {
    "IPRoute": "pyroute2.iproute.linux",
    "NetNS": "pyroute2.iproute.linux",
    "AsyncIPRoute": "pyroute2.iproute.linux",
    "NetlinkError": "pyroute2.netlink.exceptions",
}


def install(name: str = "pyroute2") -> ModuleType | None:
    """Put the package object of `name` in sys.modules without executing it (if it is not
    imported yet). Returns the module, or None when the package cannot be found."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return None
    pkg = importlib.util.module_from_spec(spec)  # __path__, __spec__, __file__; no code run
    loader = spec.loader
    completed = False

    def __getattr__(attr: str) -> Any:
        nonlocal completed
        if attr.startswith("__") or completed:
            raise AttributeError(f"module {name!r} has no attribute {attr!r}")
        # `from pyroute2 import config` inside the library asks for a submodule this way.
        if importlib.util.find_spec(f"{name}.{attr}") is not None:
            return importlib.import_module(f"{name}.{attr}")
        if name == "pyroute2" and attr in LIGHT_NAMES:
            # The objects the real __init__ re-exports (on Linux), from where they are defined.
            return getattr(importlib.import_module(LIGHT_NAMES[attr]), attr)
        completed = True
        del pkg.__dict__["__getattr__"]
        loader.exec_module(pkg)  # the package's real __init__, once
        try:
            return pkg.__dict__[attr]
        except KeyError:
            raise AttributeError(f"module {name!r} has no attribute {attr!r}") from None

    pkg.__dict__["__getattr__"] = __getattr__
    sys.modules[name] = pkg
    return pkg


install()

from pyroute2.iproute.linux import IPRoute  # noqa: E402
from pyroute2.netlink.exceptions import NetlinkError  # noqa: E402

__all__ = ["IPRoute", "NetlinkError", "install"]
