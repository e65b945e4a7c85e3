"""A BridgeController on a bridge of its own for integration tests (root), torn down and checked
for leaks afterwards."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

from sangja.network.controller import BridgeController, NetworkOptions
from tests.support import netleaks
from tests.support.prereq import require_programs


@contextlib.contextmanager
def bridge_controller(tmp_path: Path, prefix: str, pool: str) -> Iterator[BridgeController]:
    """A controller on a new bridge `<prefix><random>` with /24 subnets from `pool`, its data
    and run directories under tmp_path ("data", "run"); every sandbox left is disconnected,
    and the suite fails if anything of the bridge remains."""
    require_programs("nft", "ip", "nsenter", "sleep")
    bridge = prefix + uuid.uuid4().hex[:8]
    ctl = BridgeController(NetworkOptions(bridge=bridge, pools=((pool, 24),)), tmp_path / "data", tmp_path / "run")
    ctl.init()
    try:
        yield ctl
    finally:
        for cid in list(ctl._live):
            ctl.disconnect(cid)
        ctl.shutdown()
        leaked = netleaks.clean(bridge)
        assert not leaked, leaked
