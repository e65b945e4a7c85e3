"""Small steps the e2e tests share: inspect through a CLI, fetch over loopback, read logs."""

from __future__ import annotations

import datetime
import json
import os
import re
import urllib.error
import urllib.request
from typing import Any

from tests.support.commands import Cli
from tests.support.swagger import validate
from tests.support.waiting import wait_until

# Docker's two wordings for removing a running container: dockerd >= 25 (API 1.44+, what
# sangjad answers) and the older one Debian's dockerd 20.10 still uses.
RM_RUNNING_MODERN = (
    'cannot remove container "/{name}": container is running: stop the container before removing or force remove'
)
RM_RUNNING_LEGACY = (
    "You cannot remove a running container {id}. Stop the container before attempting removal or force remove"
)


def inspect(cli: Cli, ref: str, kind: str = "container") -> dict[str, Any]:
    """`<cli> container|image inspect ref` parsed; requires exactly one object."""
    out = cli.ok(kind, "inspect", ref)
    data = json.loads(out)
    assert isinstance(data, list) and len(data) == 1, f"expected one object, got {out}"
    obj = data[0]
    assert isinstance(obj, dict)
    return obj


def state(cli: Cli, ref: str) -> dict[str, Any]:
    s = inspect(cli, ref)["State"]
    assert isinstance(s, dict)
    return s


def http_get(port: int, path: str = "/", timeout: float = 5.0) -> tuple[int, bytes]:
    """GET http://127.0.0.1:port/path without any proxy; (status, body). Raises OSError if nothing listens."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://127.0.0.1:{port}{path}", timeout=timeout) as resp:
            return int(resp.status), bytes(resp.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), bytes(exc.read())


def wait_http(port: int, path: str = "/", timeout: float = 30.0) -> bytes:
    """Poll until the server on 127.0.0.1:port answers 200; returns the body."""

    def probe() -> bytes | None:
        try:
            status, body = http_get(port, path)
        except OSError:
            return None
        return body if status == 200 else None

    return wait_until(probe, timeout=timeout, what=f"HTTP 200 from 127.0.0.1:{port}{path}")


def logs(cli: Cli, ref: str) -> str:
    """stdout and stderr of `logs ref` together (the order between the two is not kept)."""
    result = cli("logs", ref)
    assert result.rc == 0, f"logs {ref} failed\n{result}"
    return result.out + result.err


def wait_log(cli: Cli, ref: str, text: str, count: int = 1, timeout: float = 30.0) -> str:
    """Poll `logs` until `text` occurs `count` times; returns the logs."""

    def probe() -> str | None:
        out = logs(cli, ref)
        return out if out.count(text) >= count else None

    return wait_until(probe, timeout=timeout, what=f"{count}x {text!r} in the logs of {ref}")


def pid_alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] != "Z"


def log_files(log_path: str) -> list[str]:
    """The live log file and its rotated siblings (`<name>.1`, `<name>.2`, ...)."""
    directory, base = os.path.split(log_path)
    pattern = re.compile(re.escape(base) + r"(\.\d+)?")
    return sorted(f for f in os.listdir(directory) if pattern.fullmatch(f))


def docker_time(stamp: str) -> datetime.datetime:
    """Parse Docker's RFC 3339 times ("2024-05-01T10:00:00.123456789Z"; Go trims trailing zeros,
    so they cannot be compared as strings). Nanoseconds are cut to microseconds."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", stamp)
    assert m, f"not an RFC 3339 time: {stamp!r}"
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    fraction = (m.group(2) or "0")[:6].ljust(6, "0")
    return datetime.datetime.fromisoformat(f"{m.group(1)}.{fraction}{zone}")


def short_id(full: str) -> str:
    """Docker's 12-hex short form of a container or image ID ("sha256:" dropped)."""
    return full.split(":", 1)[-1][:12]


def _drop_nulls(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _drop_nulls(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_drop_nulls(v) for v in node]
    return node


def validate_against_swagger(instance: Any, definition: str) -> None:
    """Validate against API 1.51's swagger definition, reading `null` members as absent.

    That is how Go's decoder (the docker CLI) reads them, and dockerd itself writes `null`
    for empty Go slices and maps where the schema has an array or object without
    x-nullable (Plugins.Authorization in /info; Config.Volumes in 20.10's image inspect).
    Every value that is present is held to the schema.
    """
    validate(_drop_nulls(instance), definition)
