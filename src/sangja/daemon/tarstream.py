"""Stream what a blocking tar writer produces to an async consumer, without holding it in memory.

    async for chunk in tar_chunks(lambda out: write_tree_tar(root, "", out)): ...

The writer runs in a worker thread and writes into a pipe; chunks are read from the other
end. When the consumer stops early (a client that went away), the read end is closed, the
writer gets EPIPE and the thread ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from typing import IO

CHUNK = 256 * 1024


async def tar_chunks(write: Callable[[IO[bytes]], None]) -> AsyncIterator[bytes]:
    r, w = os.pipe()
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            with os.fdopen(w, "wb") as out:
                write(out)
        except BrokenPipeError:
            pass
        except BaseException as exc:  # reported to the consumer below
            failure.append(exc)

    task = asyncio.get_running_loop().run_in_executor(None, produce)
    try:
        while True:
            chunk = await asyncio.to_thread(os.read, r, CHUNK)
            if not chunk:
                break
            yield chunk
    finally:
        os.close(r)
        with contextlib.suppress(Exception):
            await task
    if failure:
        raise failure[0]
