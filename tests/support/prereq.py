"""Prerequisites of root/e2e tests: skip when missing, or fail when SANGJA_TEST_STRICT=1.

scripts/test.sh (and so CI) sets SANGJA_TEST_STRICT=1: there a missing runc, docker CLI
or root is a broken machine, and a silently skipped e2e suite would look like a pass.
"""

from __future__ import annotations

import os
import shutil

import pytest

STRICT = os.environ.get("SANGJA_TEST_STRICT", "") not in ("", "0")


def require(condition: bool, reason: str) -> None:
    """Skip the test (fail it under SANGJA_TEST_STRICT) unless `condition` holds."""
    if condition:
        return
    if STRICT:
        pytest.fail(f"prerequisite missing (SANGJA_TEST_STRICT=1): {reason}", pytrace=False)
    pytest.skip(reason)


def require_root() -> None:
    require(os.geteuid() == 0, "needs root (real runc, conmon, overlayfs)")


def require_programs(*names: str) -> None:
    missing = [n for n in names if shutil.which(n, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None]
    require(not missing, f"not installed: {', '.join(missing)}")
