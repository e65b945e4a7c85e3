"""Shared test harness: markers, the busybox rootfs, and daemons to test against.

Markers:
    root   needs root and the real runc/conmon/overlayfs (tests/integration, tests/e2e)
    e2e    drives a real daemon through the docker CLI, docker-py and sangja (tests/e2e)
Tests under tests/e2e are marked `e2e` and `root` automatically. Root tests are skipped
when not running as root, and fail instead when SANGJA_TEST_STRICT=1 (CI).

Daemon fixtures (see tests/support/daemon.py):
    daemon          the session's shared daemon, busybox imported; per test it records what
                    existed, then removes the containers, images and tags the test added and
                    checks that those containers left no mounts, processes or cgroups
    fresh_daemon    a daemon of the test's own on new roots (for kill -9 / restart tests);
                    stopped and checked for leaks at teardown
    busybox_tar     session-scoped rootfs tar from scripts/make-busybox-rootfs.sh

Environment:
    SANGJA_E2E_TARGET=sangjad|dockerd   which daemon to spawn (default sangjad); dockerd is
                                        Debian's docker.io, to prove the tests encode Docker
    SANGJA_E2E_SOCKET=/path.sock        use that already running daemon as the shared one
    SANGJA_E2E_RUNTIME=crun             pass --runtime to sangjad
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import leaks
from tests.support.daemon import Daemon, DaemonError, ExternalDaemon, SpawnedDaemon, spawn, target_kind
from tests.support.prereq import require, require_programs, require_root

REPO = Path(__file__).resolve().parents[1]
E2E_DIR = REPO / "tests" / "e2e"
BUSYBOX_CHANGES = ('CMD ["sh"]',)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: drives a real daemon through the docker CLI, docker-py and sangja")
    config.addinivalue_line("markers", "root: needs root, real runc/conmon/overlayfs")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.root)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("root") is not None:
        require_root()


def _require_daemon_programs(kind: str) -> None:
    require_root()
    if kind == "dockerd":
        require_programs("dockerd")
    else:
        require_programs("runc", "conmon")


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The busybox rootfs tar, built once per session from busybox-static."""
    require(os.path.exists("/bin/busybox"), "busybox-static is not installed")
    out = tmp_path_factory.mktemp("busybox") / "busybox-rootfs.tar"
    subprocess.run(["sh", str(REPO / "scripts" / "make-busybox-rootfs.sh"), str(out)], check=True, timeout=120)
    return out


def _ensure_busybox(d: Daemon, tar: Path) -> None:
    tags = {t for image in d.get_json("/images/json") for t in (image.get("RepoTags") or [])}
    if "busybox:latest" not in tags:
        d.import_image(tar, "busybox", "latest", BUSYBOX_CHANGES)


@pytest.fixture(scope="session")
def _shared_daemon(busybox_tar: Path) -> Iterator[Daemon]:
    kind = target_kind()
    external = os.environ.get("SANGJA_E2E_SOCKET")
    if external:
        d: Daemon = ExternalDaemon(external, kind)
        require(d.alive(), f"no daemon answers on SANGJA_E2E_SOCKET={external}")
        _ensure_busybox(d, busybox_tar)
        yield d
        return
    _require_daemon_programs(kind)
    spawned = spawn(kind)
    try:
        spawned.start()
        _ensure_busybox(spawned, busybox_tar)
    except BaseException:
        spawned.close()
        raise
    yield spawned
    leaked = spawned.close()
    assert not leaked, f"{kind} left these behind after it stopped:\n{leaked.describe()}"


def _tags(d: Daemon) -> set[str]:
    return {t for image in d.get_json("/images/json?all=1") for t in (image.get("RepoTags") or [])}


@pytest.fixture
def daemon(_shared_daemon: Daemon, busybox_tar: Path) -> Iterator[Daemon]:
    """The shared daemon, with the busybox image; whatever the test adds is removed after it."""
    d = _shared_daemon
    if isinstance(d, SpawnedDaemon) and not d.alive():
        # An earlier test killed it (and failed for it); give this test a working daemon.
        if d.proc is not None and d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
        d.start()
    _ensure_busybox(d, busybox_tar)
    containers_before = set(d.container_ids())
    events_before = d.event_container_ids()
    images_before = set(d.image_ids())
    tags_before = _tags(d)
    baseline = leaks.snapshot(d.data_root, d.exec_root) if d.data_root else None

    yield d

    if not d.alive():
        pytest.fail(f"the daemon died during the test\n{d.log_tail()}", pytrace=False)
    test_containers = (set(d.container_ids()) | d.event_container_ids()) - containers_before - events_before
    d.remove_containers(sorted(set(d.container_ids()) - containers_before))
    for tag in sorted(_tags(d) - tags_before):
        if tag != "busybox:latest":
            d.remove_images([tag])
    d.remove_images(sorted(set(d.image_ids()) - images_before))
    if baseline is not None:
        found = leaks.find(d.data_root, d.exec_root, test_containers, baseline=baseline, tolerate=d.tolerated)
        if found:
            leaks.clean(found)
            pytest.fail(f"the test's containers left these behind after removal:\n{found.describe()}", pytrace=False)


@pytest.fixture
def fresh_daemon(busybox_tar: Path) -> Iterator[SpawnedDaemon]:
    """A daemon of this test's own on new roots, with busybox; the test may kill9() and start() it."""
    kind = target_kind()
    _require_daemon_programs(kind)
    d = spawn(kind)
    try:
        d.start()
        _ensure_busybox(d, busybox_tar)
        yield d
    finally:
        try:
            if d.proc is not None and d.proc.poll() is not None and d.restartable:
                d.start()  # the test left it crashed: restart so its containers can be removed via the API
        except DaemonError:
            pass
        leaked = d.close()
    assert not leaked, f"{kind} left these behind after it stopped:\n{leaked.describe()}"
