"""Update a container's resource limits and restart policy (`docker update`).

As in dockerd: the request is checked with the create rules (update mode), merged into
the HostConfig (container.UpdateContainer's conflicts), written to the running
container's cgroups with `runc update`, and only then persisted; a stopped container
just keeps the new HostConfig for its next start. An `update` event follows.
"""

from __future__ import annotations

from typing import Any

from sangja.daemon.daemon import Daemon
from sangja.daemon.resources import host_info, merge_update, update_resources_json, verify_resources
from sangja.errors import Conflict, InvalidParameter, SangjaError, System

# The UpdateConfig fields (Resources + RestartPolicy) sangja acts on; others are ignored like dockerd's
# zero values.
_FIELDS = ("BlkioWeight", "CpuShares", "NanoCpus", "CpuPeriod", "CpuQuota", "CpusetCpus", "CpusetMems",
           "Memory", "MemorySwap", "MemoryReservation", "CpuRealtimePeriod", "CpuRealtimeRuntime", "PidsLimit",
           "RestartPolicy")


def parse_update(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidParameter("invalid JSON: update config must be an object")
    return {k: body[k] for k in _FIELDS if body.get(k) is not None}


async def update_container(d: Daemon, ref: str, body: Any) -> list[str]:
    """Returns the warnings (UpdateResponse.Warnings)."""
    upd = parse_update(body)
    warnings = verify_resources(upd, host_info(), update=True)
    c = d.containers.get(ref)
    prefix = f"Cannot update container {c.id}: "
    async with d.lock(c.id):
        if c.state.status in ("removing", "dead"):
            raise Conflict(prefix + 'container is marked for removal and cannot be "update"')
        try:
            new = merge_update(c.host_config, upd)
        except Conflict as exc:
            raise Conflict(prefix + exc.message) from None
        if c.state.running and c.state.status != "restarting":
            resources = update_resources_json(upd)
            if resources:
                try:
                    await d.runtime.update(c.id, resources)
                except SangjaError as exc:
                    raise System(prefix + exc.message) from None
        c.host_config = new
        d.containers.save(c)
    d.emit(c, "update")
    return warnings
