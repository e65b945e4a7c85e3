"""sangjad's idle memory: pyroute2 without its package __init__, one malloc arena, the heap trimmed when quiet."""

from __future__ import annotations

import asyncio
import gzip
import io
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from sangja.api import idle
from sangja.errors import InvalidParameter
from sangja.host import heap
from sangja.image.compression import InflatingReader


def _python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_iproute_without_the_whole_library() -> None:
    out = _python("""
        import sys
        from sangja.host import pyroute2_lazy
        from pyroute2 import IPRoute, NetlinkError       # the spelling the network code uses
        import pyroute2.iproute.linux, pyroute2.netlink.exceptions
        assert IPRoute is pyroute2.iproute.linux.IPRoute
        assert NetlinkError is pyroute2.netlink.exceptions.NetlinkError
        assert pyroute2_lazy.IPRoute is IPRoute
        import pyroute2
        assert not hasattr(pyroute2, "__all__")          # dunders never run the real __init__
        print(sorted(m for m in ("pyroute2.ndb", "pyroute2.ipdb", "pyroute2.conntrack") if m in sys.modules))
    """)
    assert out == "[]"


def test_the_rest_of_the_library_still_imports() -> None:
    out = _python("""
        import sys
        from sangja.host import pyroute2_lazy
        from pyroute2 import IPRoute
        from pyroute2 import NDB, IPSet                   # runs the package's real __init__ once
        import pyroute2
        assert pyroute2.IPRoute is IPRoute and pyroute2.NDB is NDB
        try:
            from pyroute2 import NoSuchThing
        except ImportError:
            print("ImportError", "pyroute2.ndb" in sys.modules)
    """)
    assert out == "ImportError True"


def test_install_keeps_an_already_imported_package() -> None:
    out = _python("""
        import pyroute2
        from sangja.host import pyroute2_lazy
        assert pyroute2_lazy.install() is pyroute2 and pyroute2.IPRoute is pyroute2_lazy.IPRoute
        print("ok")
    """)
    assert out == "ok"


def test_malloc_trim_is_there_on_glibc() -> None:
    assert heap.malloc_trim() is True


_THREAD_ALLOCATES = """
    import ctypes, sys, threading
    from sangja.host import heap
    if sys.argv[1] == "limit":
        assert heap.limit_malloc_arenas() is True
    def work():
        kept = [bytearray(4000) for _ in range(200)]   # above pymalloc's 512 B: malloc's
        del kept
    t = threading.Thread(target=work)
    t.start()
    t.join()
    sys.stderr.flush()
    ctypes.CDLL("libc.so.6").malloc_stats()            # one "Arena N:" section per arena
"""


def _arenas_after_a_thread(mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(_THREAD_ALLOCATES), mode], capture_output=True,
                         text=True, timeout=120, check=False, env=env)
    assert out.returncode == 0, out.stderr
    return sum(1 for line in out.stderr.splitlines() if line.startswith("Arena "))


def test_one_malloc_arena_for_every_thread() -> None:
    # sangjad limits arenas so that malloc_trim reaches the memory its worker threads freed.
    assert _arenas_after_a_thread("default") == 2     # glibc gives the thread an arena of its own
    assert _arenas_after_a_thread("limit") == 1


async def _until(check: Callable[[], bool], what: str) -> None:
    for _ in range(500):  # bounded: 5 s
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not within 5 s: {what}")


async def test_no_trim_while_requests_keep_coming() -> None:
    trims: list[int] = []
    t = idle.IdleTrimmer(delay=3600, trim=lambda: trims.append(1))  # the quiet period never ends here
    task = asyncio.get_running_loop().create_task(t.run())
    try:
        await asyncio.sleep(0.02)
        assert trims == []                      # nothing happened: nothing to give back
        for _ in range(5):                      # a burst of requests
            t.touch()
            await asyncio.sleep(0.01)
        assert trims == []
    finally:
        task.cancel()


async def test_trims_once_per_quiet_period() -> None:
    trims: list[int] = []
    t = idle.IdleTrimmer(delay=0.02, trim=lambda: trims.append(1))
    task = asyncio.get_running_loop().create_task(t.run())
    try:
        t.touch()
        await _until(lambda: len(trims) == 1, "a trim after the quiet period")
        await asyncio.sleep(0.1)
        assert trims == [1]                     # once, not again while idle
        t.touch()
        await _until(lambda: len(trims) == 2, "a trim after the next request")
    finally:
        task.cancel()


async def test_a_failing_trim_does_not_stop_the_daemon() -> None:
    calls: list[int] = []

    def boom() -> None:
        calls.append(1)
        raise OSError("no")

    t = idle.IdleTrimmer(delay=0.01, trim=boom)
    task = asyncio.get_running_loop().create_task(t.run())
    try:
        t.touch()
        await _until(lambda: bool(calls), "the trim to be tried")
        t.touch()
        await _until(lambda: len(calls) == 2, "the trimmer to go on after the failure")
        assert not task.done()
    finally:
        task.cancel()


async def test_requests_through_the_app_count_as_activity() -> None:
    trims: list[int] = []

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hi")

    app = web.Application()
    app.router.add_get("/", hello)
    trimmer = idle.IdleTrimmer(delay=0.02, trim=lambda: trims.append(1))
    trimmer.attach(app)
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/")
        assert await resp.text() == "hi"
        for _ in range(200):
            if trims:
                break
            await asyncio.sleep(0.01)
        assert trims == [1]
        assert trimmer.trims == 1



def test_compression_libraries_and_registry_verbs_load_on_first_use() -> None:
    out = _python("""
        import gzip, io, sys
        import sangja.api.routes.images, sangja.daemon.image_import, sangja.distribution.layerblobs
        heavy = ("isal", "zstandard", "sangja.daemon.image_pull", "sangja.daemon.image_push",
                 "sangja.daemon.image_load")
        print(sorted(m for m in heavy if m in sys.modules))
        from sangja.image.compression import InflatingReader
        plain = InflatingReader(io.BytesIO(b"a plain tar"))
        print(plain.read(100), "isal" in sys.modules)
        packed = InflatingReader(io.BytesIO(gzip.compress(b"layer")))
        print(packed.read(100), packed.kind, "isal" in sys.modules)
    """)
    assert out.splitlines() == ["[]", "b'a plain tar' False", "b'layer' gzip True"]


def test_corrupt_streams_still_raise_invalid_parameter() -> None:
    truncated = gzip.compress(b"x" * 10000)[:-12]
    with pytest.raises(InvalidParameter, match="invalid gzip layer data"):
        InflatingReader(io.BytesIO(truncated)).finish()
    with pytest.raises(InvalidParameter, match="invalid zstd layer data"):
        InflatingReader(io.BytesIO(b"\x28\xb5\x2f\xfd" + b"\xff" * 64)).finish()
