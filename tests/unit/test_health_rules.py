"""daemon/health.py's rules without a runtime: merge with the image, probe argv, streaks and
status changes (handleProbeResult), the start period, views and the ps filter."""

from __future__ import annotations

from typing import Any

import pytest

from sangja.daemon import health
from sangja.daemon.container import Container
from sangja.errors import InvalidParameter

S = health.SECOND


class _Store:
    def __init__(self, c: Container) -> None:
        self.c = c
        self.saved = 0

    def find(self, cid: str) -> Container | None:
        return self.c if cid == self.c.id else None

    def save(self, c: Container) -> None:
        self.saved += 1


class _Daemon:
    def __init__(self, c: Container) -> None:
        self.containers = _Store(c)
        self.events: list[str] = []

    def emit(self, c: Container, action: str, extra: dict[str, str] | None = None) -> None:
        self.events.append(action)


def _container(healthcheck: dict[str, Any] | None, **config: Any) -> Container:
    c = Container(id="c" * 64, name="/h", created="", created_ns=0, image="busybox", image_id="sha256:x",
                  path="sleep", args=["9"], config={"Healthcheck": healthcheck, **config}, host_config={})
    c.state.status = "running"
    c.state.started_ns = 1_000 * S
    return c


def _result(code: int) -> dict[str, Any]:
    return {"Start": "s", "End": "e", "ExitCode": code, "Output": ""}


def test_merge_with_the_image_fills_unset_fields() -> None:
    image = {"Test": ["CMD", "true"], "Interval": 5 * S, "Retries": 4}
    assert health.merge_healthcheck(None, image) == image
    assert health.merge_healthcheck({"Interval": S}, image) == {"Test": ["CMD", "true"], "Interval": S, "Retries": 4}
    assert health.merge_healthcheck({"Test": ["NONE"]}, image)["Test"] == ["NONE"]  # type: ignore[index]
    assert health.merge_healthcheck({"Test": ["CMD", "x"]}, None) == {"Test": ["CMD", "x"]}
    assert health.merge_healthcheck(None, None) is None


def test_probe_command() -> None:
    assert health.probe_command(_container({"Test": ["CMD", "a", "b"]})) == ["a", "b"]
    assert health.probe_command(_container({"Test": ["CMD-SHELL", "a b"]})) == ["/bin/sh", "-c", "a b"]
    assert health.probe_command(_container({"Test": ["CMD-SHELL", "a"]}, Shell=["/bin/ash", "-ec"])) == \
        ["/bin/ash", "-ec", "a"]
    for test in (["NONE"], [], ["BOGUS", "x"]):
        assert health.probe_command(_container({"Test": test})) is None
    assert health.probe_command(_container(None)) is None


def test_retries_failures_make_it_unhealthy_and_one_success_healthy() -> None:
    c = _container({"Test": ["CMD", "x"], "Retries": 2})
    c.state.health = {"Status": "starting", "FailingStreak": 0, "Log": []}
    d: Any = _Daemon(c)
    health.record_result(d, c, _result(1), c.state.started_ns + S)
    assert c.state.health["Status"] == "starting" and c.state.health["FailingStreak"] == 1
    health.record_result(d, c, _result(-1), c.state.started_ns + 2 * S)
    assert c.state.health["Status"] == "unhealthy" and d.events == ["health_status: unhealthy"]
    health.record_result(d, c, _result(0), c.state.started_ns + 3 * S)
    assert c.state.health["FailingStreak"] == 0 and d.events[-1] == "health_status: healthy"
    for i in range(6):
        health.record_result(d, c, {**_result(0), "Output": str(i)}, c.state.started_ns + (4 + i) * S)
    assert [e["Output"] for e in c.state.health["Log"]] == ["1", "2", "3", "4", "5"]
    assert d.events == ["health_status: unhealthy", "health_status: healthy"]  # no event without a change
    health.record_result(d, c, _result(1), c.state.started_ns + 20 * S)
    assert c.state.health["Status"] == "healthy" and c.state.health["FailingStreak"] == 1  # default retries 2 here


def test_failures_inside_the_start_period_do_not_count_while_starting() -> None:
    c = _container({"Test": ["CMD", "x"], "StartPeriod": 10 * S, "Retries": 1})
    c.state.health = {"Status": "starting", "FailingStreak": 0, "Log": []}
    d: Any = _Daemon(c)
    health.record_result(d, c, _result(1), c.state.started_ns + 5 * S)
    assert c.state.health["Status"] == "starting" and c.state.health["FailingStreak"] == 0
    health.record_result(d, c, _result(1), c.state.started_ns + 11 * S)
    assert c.state.health["Status"] == "unhealthy" and c.state.health["FailingStreak"] == 1


def test_views_and_filter() -> None:
    c = _container({"Test": ["CMD", "x"]})
    assert health.status_of(c) == "none" and health.status_suffix(c) == "" and health.inspect_fields(c) == {}
    c.state.health = {"Status": "starting", "FailingStreak": 0, "Log": []}
    assert health.status_suffix(c) == " (health: starting)"
    c.state.health["Status"] = "healthy"
    assert health.status_suffix(c) == " (healthy)"
    assert health.inspect_fields(c) == {"Health": {"Status": "healthy", "FailingStreak": 0, "Log": []}}
    assert health.matches_filter(c, ["healthy", "none"]) and not health.matches_filter(c, ["unhealthy"])
    assert health.matches_filter(c, [])
    health.check_filter(["none", "starting", "healthy", "unhealthy"])
    with pytest.raises(InvalidParameter, match=r"invalid filter 'health=ok': invalid value for health \(ok\): "
                                               r"must be one of none, starting, healthy, unhealthy"):
        health.check_filter(["ok"])


def test_timeout_text_and_output_limit() -> None:
    assert [health._go_duration(s) for s in (0.3, 1.0, 1.5, 30.0, 90.0)] == ["300ms", "1s", "1.5s", "30s", "1m30s"]
    buf = health._LimitedBuffer()
    buf.write(b"a" * 4000)
    buf.write(b"b" * 200)
    assert buf.text() == "a" * 4000 + "b" * 96 + "..."
