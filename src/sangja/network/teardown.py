"""Deleting host-side veths off the critical path of a container's exit.

Deleting a veth costs ~30-40 ms here, almost all of it the kernel waiting for RCU grace
periods (unregister_netdevice), not CPU. A `run --rm` must not wait for that: its exit
and removal are reported as soon as the sandbox's netns file is unpinned. Unpinning
already dooms the pair — once no process is left in the namespace the kernel destroys it
and, with it, both ends of the veth — but a namespace can outlive its file (a process that
joined it), so the host ends are also handed to this reaper, which deletes whichever still
exist from one worker thread of its own (one netlink socket, in the host namespace).

Nothing is lost if sangjad dies with names still queued: at start, `BridgeController.restore`
deletes every `sjv…` port of its bridges that no running container owns.
"""

from __future__ import annotations

import errno
import logging
import queue
import threading

from sangja.host.pyroute2_lazy import IPRoute, NetlinkError  # not pyroute2's __init__: ~5 MB

log = logging.getLogger(__name__)


class LinkReaper:
    """A queue of interface names to delete in the background; `flush` waits until done."""

    def __init__(self) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._pending: set[str] = set()
        self._deleting = ""  # the name the worker is deleting right now
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def delete(self, names: list[str]) -> None:
        """Queue `names` for deletion (each at most once while queued)."""
        with self._cond:
            fresh = [n for n in dict.fromkeys(names) if n not in self._pending]
            self._pending.update(fresh)
            if fresh and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._run, name="sangja-link-reaper", daemon=True)
                self._thread.start()
        for name in fresh:
            self._queue.put(name)

    def cancel(self, names: list[str]) -> None:
        """Keep `names` from being deleted: the same names are about to be made again (a container
        restarted, or connected anew). Waits for a deletion of one of them already under way."""
        with self._cond:
            self._pending.difference_update(names)
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._deleting not in names, timeout=10.0)

    def pending(self) -> set[str]:
        with self._cond:
            return set(self._pending)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait (at most `timeout` s) until every queued name has been handled; True if so."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending, timeout=timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the queue, then end the worker (daemon shutdown)."""
        self.flush(timeout)
        with self._cond:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _run(self) -> None:
        with IPRoute() as ipr:  # created in this thread, which never leaves the host namespace
            while True:
                name = self._queue.get()
                if name is None:
                    return
                with self._cond:
                    if name not in self._pending:
                        continue  # cancelled
                    self._deleting = name
                try:
                    delete_if_present(ipr, name)
                except Exception:  # a name that cannot go now is retried by restore() at next start
                    log.exception("deleting interface %s failed", name)
                finally:
                    with self._cond:
                        self._deleting = ""
                        self._pending.discard(name)
                        self._cond.notify_all()


def delete_if_present(ipr: IPRoute, name: str) -> None:
    """Delete the interface called `name`; one that is gone already (or going) is fine."""
    try:
        ipr.link("del", ifname=name)
    except NetlinkError as exc:
        if exc.code not in (errno.ENODEV, errno.ENOENT, errno.EINVAL):
            raise
