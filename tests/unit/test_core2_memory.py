"""sangjad's idle memory: pyroute2 without its package __init__, and the heap trimmed when quiet."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from sangja.api import idle
from sangja.host import heap


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


async def test_trims_once_per_quiet_period() -> None:
    trims: list[int] = []
    t = idle.IdleTrimmer(delay=0.05, trim=lambda: trims.append(1))
    task = asyncio.get_running_loop().create_task(t.run())
    try:
        await asyncio.sleep(0.12)
        assert trims == []                      # nothing happened: nothing to give back
        for _ in range(5):                      # a burst: no trim while requests keep coming
            t.touch()
            await asyncio.sleep(0.01)
        assert trims == []
        for _ in range(100):                    # bounded wait for the quiet period to pass
            if trims:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.12)
        assert trims == [1]                     # once, not again while idle
        t.touch()
        for _ in range(100):
            if len(trims) == 2:
                break
            await asyncio.sleep(0.01)
        assert trims == [1, 1]
    finally:
        task.cancel()


async def test_a_failing_trim_does_not_stop_the_daemon() -> None:
    def boom() -> None:
        raise OSError("no")

    t = idle.IdleTrimmer(delay=0.01, trim=boom)
    task = asyncio.get_running_loop().create_task(t.run())
    try:
        t.touch()
        await asyncio.sleep(0.1)
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

