"""Rename a container (Docker's name rules and conflict message)."""

from __future__ import annotations

from sangja.daemon import names
from sangja.daemon.daemon import Daemon
from sangja.errors import Conflict, InvalidParameter, SangjaError


async def rename_container(d: Daemon, ref: str, new_name: str) -> None:
    if not new_name:
        raise InvalidParameter("Neither old nor new names may be empty")
    c = d.containers.get(ref)
    full = names.validate(new_name)
    old = c.name
    if full == old:
        raise InvalidParameter("Renaming a container with the same name as its current name")
    try:
        d.containers.reserve_name(full, c.id)
    except Conflict as exc:
        raise Conflict(f"Error when allocating new name: {exc.message}") from None
    try:
        c.name = full
        d.containers.save(c)
    except SangjaError:
        c.name = old
        d.containers.release_name(full)
        raise
    d.containers.release_name(old)
    d.emit(c, "rename", {"oldName": old})
