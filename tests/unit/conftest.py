"""The unit tests' shared fixture: a daemon with fakes behind its seams (fakes_daemon.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sangja.daemon.daemon import Daemon

from .fakes_daemon import make_daemon


@pytest.fixture
async def d(tmp_path: Path) -> AsyncIterator[Daemon]:
    daemon = make_daemon(tmp_path)
    yield daemon
    for task in list(daemon.background):
        task.cancel()
