"""A build context that is not a readable tar: a clear error, and nothing tagged."""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Callable

import pytest

from tests.support import unixhttp
from tests.support.daemon import Daemon


def _context_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"FROM busybox\nRUN true\n"
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize("body", [
    b"this is not a tar archive at all" * 40,
    gzip.compress(_context_tar())[:60],  # a gzip stream cut short
], ids=["garbage", "truncated-gzip"])
def test_a_malformed_context_fails_cleanly(daemon: Daemon, names: Callable[[str], str], body: bytes) -> None:
    repo = names("badctx")
    status, answer = unixhttp.request(daemon.socket_path, "POST", f"/build?t={repo}", body=body,
                                      headers={"Content-Type": "application/x-tar"})
    text = answer.decode(errors="replace")
    assert status == 400 and "failed to read the build context" in text, (status, text)
    status, _ = unixhttp.request(daemon.socket_path, "GET", f"/images/{repo}/json")
    assert status == 404
