"""Names, lookup, times, signals, ps parsing, events: the daemon's small pure parts."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from sangja.daemon import names
from sangja.daemon.container import Container, State, load, save
from sangja.daemon.events import EventLog
from sangja.daemon.kill import parse_signal
from sangja.daemon.store import ContainerStore
from sangja.daemon.timefmt import (
    human_duration,
    parse_duration_ns,
    parse_rfc3339_ns,
    parse_timestamp,
    rfc3339_ns,
)
from sangja.daemon.top import parse_ps
from sangja.errors import Conflict, InvalidParameter, NotFound


def make(cid: str, name: str) -> Container:
    return Container(id=cid, name=name, created="x", created_ns=1, image="busybox", image_id="sha256:1",
                     path="sh", args=[], config={}, host_config={}, state=State())


def test_name_rules() -> None:
    assert names.validate("web") == "/web"
    assert names.validate("/a.b-c_d") == "/a.b-c_d"
    for bad in ("a", "-x", "a b", "ü"):
        with pytest.raises(InvalidParameter, match="Invalid container name"):
            names.validate(bad)


def test_generated_names_avoid_taken() -> None:
    rng = random.Random(1)
    first = names.generate(set(), random.Random(1))
    assert names.generate({first}, rng) != first
    assert names.VALID_NAME.match(first)


def test_store_lookup_order_and_conflicts(tmp_path: Path) -> None:
    store = ContainerStore(tmp_path)
    a = make("abc123" + "0" * 58, "/web")
    b = make("abd456" + "0" * 58, "/abc123")
    store.add(a)
    store.add(b)
    assert store.get(a.id) is a
    assert store.get("web") is a and store.get("/web") is a
    assert store.get("abc123") is b  # a name wins over an ID prefix, as in Docker
    assert store.get("abd") is b
    with pytest.raises(InvalidParameter, match="Multiple IDs"):
        store.get("ab")
    with pytest.raises(NotFound, match="No such container: nope"):
        store.get("nope")
    with pytest.raises(Conflict, match='The container name "/web" is already in use by container'):
        store.reserve_name("/web", "other")


def test_store_persists_and_reloads(tmp_path: Path) -> None:
    store = ContainerStore(tmp_path)
    c = make("f" * 64, "/db")
    c.state.status = "exited"
    c.state.exit_code = 3
    store.add(c)
    (tmp_path / ("e" * 64)).mkdir()  # a create that never wrote its record
    fresh = ContainerStore(tmp_path)
    orphans = fresh.load_all()
    assert orphans == ["e" * 64]
    again = fresh.get("db")
    assert again.state.exit_code == 3 and again.state.status == "exited"


def test_record_write_is_atomic_replace(tmp_path: Path) -> None:
    c = make("a" * 64, "/x")
    save(c, tmp_path)
    c.name = "/y"
    save(c, tmp_path)
    assert not list(tmp_path.glob("*.tmp"))
    loaded = load(tmp_path)
    assert loaded is not None and loaded.name == "/y"


def test_times() -> None:
    ns = 1_764_368_428_708_109_518
    text = rfc3339_ns(ns)
    assert text.endswith(".708109518Z")
    assert parse_rfc3339_ns(text) == ns
    assert parse_rfc3339_ns("2026-11-28T22:30:28.5+09:00") == parse_rfc3339_ns("2026-11-28T13:30:28.5Z")
    assert rfc3339_ns(1_000_000_000) == "1970-01-01T00:00:01Z"
    assert parse_timestamp("10.5") == 10_500_000_000
    assert parse_timestamp("10m", now_ns=700 * 10**9) == 100 * 10**9
    assert parse_duration_ns("1h2m") == 3720 * 10**9
    assert parse_duration_ns("abc") is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.2, "Less than a second"), (1, "1 second"), (3, "3 seconds"), (61, "About a minute"),
     (150, "2 minutes"), (3600, "About an hour"), (7200, "2 hours"), (3 * 86400, "3 days")],
)
def test_human_duration_matches_go_units(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_parse_signal() -> None:
    assert parse_signal("SIGTERM") == 15
    assert parse_signal("kill") == 9
    assert parse_signal("2") == 2
    for bad in ("SIGNOPE", "0", "99"):
        with pytest.raises(InvalidParameter, match="Invalid signal"):
            parse_signal(bad)


def test_parse_ps_keeps_only_container_pids() -> None:
    out = "UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 10:00 ? 00:00:00 /sbin/init\n" \
          "root 42 1 0 10:00 ? 00:00:00 sleep 100 now\n"
    top = parse_ps(out, {42})
    assert top["Titles"][1] == "PID"
    assert top["Processes"] == [["root", "42", "1", "0", "10:00", "?", "00:00:00", "sleep 100 now"]]


async def test_event_log_history_and_live() -> None:
    log = EventLog()
    first = log.publish("container", "create", "id1", {"name": "web", "image": "busybox"})
    assert first["status"] == "create" and first["from"] == "busybox"
    live = log.subscribe()
    nxt = asyncio.ensure_future(live.get())
    await asyncio.sleep(0)
    log.publish("container", "start", "id1")
    got = await asyncio.wait_for(nxt, 1)
    assert got["Action"] == "start"
    assert [e["Action"] for e in log.history(since_ns=first["timeNano"])] == ["create", "start"]
    live.close()
