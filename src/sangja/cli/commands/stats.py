"""`sangja stats`: a live table of containers' resource usage (docker/cli container/stats.go).

One collector thread per container reads `GET /containers/{id}/stats` (a stream, or one
answer with `--no-stream`) and keeps the latest entry; the numbers are computed exactly as
docker's stats_helpers.go does (CPU % from the cpu/precpu deltas, memory without the
inactive page cache, block I/O from io_service_bytes_recursive, network summed over the
interfaces). Every 500 ms the table is drawn again: the cursor goes home, each line ends
with "erase to end of line" and the rest of the screen is erased, so it redraws in place.

Without container names, the running containers (all with `-a`) are shown, and container
events add (`start`, and `create` with `-a`) and drop (`die` without `-a`, `destroy`)
rows while streaming. An entry that has had no sample for 2 s shows "--".
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field, replace

from sangja.cli import dockerconfig, formatter
from sangja.cli.client import encode_filters
from sangja.cli.command import Cli, Spec, quote_path
from sangja.cli.commands.ps import FORMAT_HELP
from sangja.cli.errors import CLIError
from sangja.cli.flags import Bool, Options, Str
from sangja.cli.units import bytes_size, human_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SPEC = Spec(
    use="[OPTIONS] [CONTAINER...]",
    short="Display a live stream of container(s) resource usage statistics",
    flags=[
        Bool("all", "a", "Show all containers (default shows just running)"),
        Str("format", "", FORMAT_HELP),
        Bool("no-stream", "", "Disable streaming stats and only pull the first result"),
        Bool("no-trunc", "", "Do not truncate output"),
    ],
    aliases="docker container stats, docker stats",
)

DEFAULT_TABLE = ("table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}"
                 "\t{{.BlockIO}}\t{{.PIDs}}")
HEADERS = {
    "Container": "CONTAINER", "Name": "NAME", "ID": "CONTAINER ID", "CPUPerc": "CPU %",
    "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O",
    "PIDs": "PIDS",
}
NO_VALUE = "--"
TICK = 0.5  # seconds between redraws
STALE_AFTER = 2.0  # seconds without a sample before an entry shows "--"


# -- the numbers (stats_helpers.go) ------------------------------------------------------------


def cpu_percent(pre: dict[str, Any], cur: dict[str, Any]) -> float:
    """calculateCPUPercentUnix: the container's share of the host's CPU time, times online CPUs."""
    cpu_delta = float((cur.get("cpu_usage") or {}).get("total_usage") or 0) - \
        float((pre.get("cpu_usage") or {}).get("total_usage") or 0)
    system_delta = float(cur.get("system_cpu_usage") or 0) - float(pre.get("system_cpu_usage") or 0)
    online = float(cur.get("online_cpus") or 0)
    if online == 0.0:
        online = float(len((cur.get("cpu_usage") or {}).get("percpu_usage") or []))
    if system_delta > 0.0 and cpu_delta > 0.0:
        return cpu_delta / system_delta * online * 100.0
    return 0.0


def mem_usage_no_cache(mem: dict[str, Any]) -> float:
    """calculateMemUsageUnixNoCache: usage minus inactive file pages (v1 total_, then v2)."""
    usage = int(mem.get("usage") or 0)
    stats = mem.get("stats") or {}
    if "total_inactive_file" in stats and int(stats["total_inactive_file"]) < usage:
        return float(usage - int(stats["total_inactive_file"]))
    inactive = int(stats.get("inactive_file") or 0)
    if inactive < usage:
        return float(usage - inactive)
    return float(usage)


def mem_percent(limit: float, used: float) -> float:
    return used / limit * 100.0 if limit != 0 else 0.0


def block_io(blkio: dict[str, Any]) -> tuple[int, int]:
    read = write = 0
    for entry in blkio.get("io_service_bytes_recursive") or []:
        op = str(entry.get("op") or "")
        if op[:1] in ("r", "R"):
            read += int(entry.get("value") or 0)
        elif op[:1] in ("w", "W"):
            write += int(entry.get("value") or 0)
    return read, write


def network_io(networks: dict[str, Any] | None) -> tuple[float, float]:
    rx = tx = 0.0
    for n in (networks or {}).values():
        rx += float(n.get("rx_bytes") or 0)
        tx += float(n.get("tx_bytes") or 0)
    return rx, tx


@dataclass
class StatsEntry:
    container: str = ""
    name: str = ""
    id: str = ""
    cpu_percentage: float = 0.0
    memory: float = 0.0
    memory_limit: float = 0.0
    memory_percentage: float = 0.0
    network_rx: float = 0.0
    network_tx: float = 0.0
    block_read: float = 0.0
    block_write: float = 0.0
    pids_current: int = 0
    is_invalid: bool = False


def entry_from_sample(v: dict[str, Any]) -> StatsEntry:
    """One StatsResponse → the numbers a row shows (the Linux branch of collect())."""
    mem_stats = v.get("memory_stats") or {}
    mem = mem_usage_no_cache(mem_stats)
    limit = float(mem_stats.get("limit") or 0)
    rx, tx = network_io(v.get("networks"))
    read, write = block_io(v.get("blkio_stats") or {})
    return StatsEntry(
        name=str(v.get("name") or ""), id=str(v.get("id") or ""),
        cpu_percentage=cpu_percent(v.get("precpu_stats") or {}, v.get("cpu_stats") or {}),
        memory=mem, memory_limit=limit, memory_percentage=mem_percent(limit, mem),
        network_rx=rx, network_tx=tx, block_read=float(read), block_write=float(write),
        pids_current=int((v.get("pids_stats") or {}).get("current") or 0),
    )


# -- one container's entry, shared between its collector and the drawing loop ----------------


@dataclass
class Stats:
    container: str
    entry: StatsEntry = field(default_factory=StatsEntry)
    error: CLIError | None = None
    first: threading.Event = field(default_factory=threading.Event)
    last_update: float | None = None  # monotonic time of the answer's headers, then of each sample
    stopped: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.entry.container = self.container

    def set_statistics(self, entry: StatsEntry) -> None:
        with self.lock:
            self.entry = replace(entry, container=self.container)
            self.error = None
            self.last_update = time.monotonic()
        self.first.set()

    def set_error(self, error: CLIError) -> None:
        with self.lock:
            self.error = error
            self.entry.is_invalid = True

    def set_error_and_reset(self, error: CLIError) -> None:
        with self.lock:
            self.entry = StatsEntry(container=self.container, name=self.entry.name, id=self.entry.id,
                                    is_invalid=True)
            self.error = error

    def snapshot(self) -> StatsEntry:
        with self.lock:
            return replace(self.entry)

    def check_stale(self, now: float) -> None:
        """collect()'s 2 s timer: no sample for that long → zeroes shown as "--"."""
        with self.lock:
            stale = (not self.stopped and self.last_update is not None and now - self.last_update > STALE_AFTER
                     and not self.entry.is_invalid)
        if stale:
            self.set_error_and_reset(CLIError("timeout waiting for stats"))
            self.first.set()


class StatsRow(formatter.Row):
    """statsContext: the columns of one entry as docker renders them."""

    GO_TYPE = "*container.statsContext"
    FIELDS = ("BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name", "NetIO", "PIDs")

    def __init__(self, s: StatsEntry, trunc: bool) -> None:
        self.s = s
        self.trunc = trunc

    def Container(self) -> str:
        return self.s.container

    def Name(self) -> str:
        return self.s.name[1:] if len(self.s.name) > 1 else NO_VALUE

    def ID(self) -> str:
        return formatter.truncate_id(self.s.id) if self.trunc else self.s.id

    def CPUPerc(self) -> str:
        return NO_VALUE if self.s.is_invalid else f"{self.s.cpu_percentage:.2f}%"

    def MemUsage(self) -> str:
        if self.s.is_invalid:
            return "-- / --"
        return f"{bytes_size(self.s.memory)} / {bytes_size(self.s.memory_limit)}"

    def MemPerc(self) -> str:
        return NO_VALUE if self.s.is_invalid else f"{self.s.memory_percentage:.2f}%"

    def NetIO(self) -> str:
        if self.s.is_invalid:
            return NO_VALUE
        return f"{human_size(self.s.network_rx, 3)} / {human_size(self.s.network_tx, 3)}"

    def BlockIO(self) -> str:
        if self.s.is_invalid:
            return NO_VALUE
        return f"{human_size(self.s.block_read, 3)} / {human_size(self.s.block_write, 3)}"

    def PIDs(self) -> str:
        return NO_VALUE if self.s.is_invalid else str(self.s.pids_current)


def render_table(fmt: str, entries: list[StatsEntry], trunc: bool) -> str:
    if fmt == formatter.TABLE:
        fmt = DEFAULT_TABLE
    return formatter.render(fmt, [StatsRow(e, trunc) for e in entries], HEADERS)


def frame(text: str) -> str:
    """One redraw: cursor home, every line followed by "erase to end of line", then erase the
    rest of the screen (fewer rows than last time leave nothing behind)."""
    return "\x1b[H" + "".join(line + "\x1b[K\n" for line in text.split("\n")) + "\x1b[J"


# -- collecting ---------------------------------------------------------------------------------


class Collection:
    """The ordered set of entries (docker's `stats` struct) and their collector threads."""

    def __init__(self, cli: Cli, stream: bool) -> None:
        self.cli = cli
        self.stream = stream
        self.items: list[Stats] = []
        self.lock = threading.Lock()

    def add(self, container: str) -> Stats | None:
        with self.lock:
            if any(s.container == container for s in self.items):
                return None
            s = Stats(container)
            self.items.append(s)
        threading.Thread(target=self._collect, args=(s,), daemon=True, name=f"stats-{container}").start()
        return s

    def remove(self, container: str) -> None:
        with self.lock:
            self.items = [s for s in self.items if s.container != container]

    def snapshot(self) -> list[Stats]:
        with self.lock:
            return list(self.items)

    def wait_first(self, deadline_after_headers: float = STALE_AFTER) -> None:
        """waitFirst.Wait(): every entry has a sample, an error, or timed out after its headers."""
        while True:
            pending = [s for s in self.snapshot() if not s.first.is_set()]
            if not pending:
                return
            now = time.monotonic()
            for s in pending:
                s.check_stale(now)
            pending[0].first.wait(0.1)

    def _collect(self, s: Stats) -> None:
        client = self.cli.client
        try:
            resp = client.stream("GET", f"/containers/{quote_path(s.container)}/stats",
                                 {"stream": self.stream})
        except CLIError as exc:
            s.set_error(exc)
            s.stopped = True
            s.first.set()
            return
        with s.lock:
            s.last_update = time.monotonic()
        try:
            if not self.stream:
                body = resp.read()
                s.set_statistics(entry_from_sample(json.loads(body)))
                client.finish(resp)
                return
            for line in resp.lines():
                if line.strip():
                    s.set_statistics(entry_from_sample(json.loads(line)))
            s.set_error(CLIError("EOF"))
        except (OSError, ValueError) as exc:
            s.set_error(CLIError(str(exc) or type(exc).__name__))
        finally:
            s.stopped = True
            s.first.set()


def _watch_events(cli: Cli, coll: Collection, show_all: bool, closed: list[CLIError | None],
                  started: threading.Event) -> None:
    """The event handler: start (and create with -a) add a row; die (without -a) and destroy drop it."""
    try:
        resp = cli.client.stream("GET", "/events", {"filters": encode_filters({"type": ["container"]})})
    except CLIError as exc:
        closed.append(exc)
        started.set()
        return
    started.set()
    try:
        for line in resp.lines():
            if not line.strip():
                continue
            e = json.loads(line)
            action = str(e.get("Action") or e.get("status") or "")
            ident = str((e.get("Actor") or {}).get("ID") or e.get("id") or "")[:12]
            if not ident:
                continue
            if action == "start" or (action == "create" and show_all):
                coll.add(ident)
            elif action == "destroy" or (action == "die" and not show_all):
                coll.remove(ident)
    except (OSError, ValueError):
        pass
    closed.append(None)  # the daemon went away: stop quietly, like docker on an unexpected EOF


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    fmt: str = opts.format or str(dockerconfig.load().get("statsFormat") or "") or formatter.TABLE
    if fmt != formatter.TABLE:
        formatter.parse(fmt)  # a bad template fails before any request
    stream = not opts.no_stream
    trunc = not opts.no_trunc
    _ = cli.client.version  # negotiate once before the collector threads start
    coll = Collection(cli, stream)
    show_all = not args
    closed: list[CLIError | None] = []
    if show_all:
        if stream:
            started = threading.Event()
            threading.Thread(target=_watch_events, args=(cli, coll, bool(opts.all), closed, started),
                             daemon=True, name="stats-events").start()
            started.wait()
        for c in cli.client.get("/containers/json", {"all": True if opts.all else None}) or []:
            coll.add(str(c.get("Id") or "")[:12])
        coll.wait_first()
    else:
        for name in args:
            coll.add(name)
        coll.wait_first()
        errors = [s.error for s in coll.snapshot() if s.error is not None]
        if errors:
            raise CLIError("\n".join(e.message for e in errors), 1)

    if not stream:
        cli.out(render_table(fmt, [s.snapshot() for s in coll.snapshot()], trunc), end="")
        return 0
    while True:
        items = coll.snapshot()
        now = time.monotonic()
        for s in items:
            s.check_stale(now)
        if not items and not show_all:
            cli.out("\x1b[H\x1b[J", end="")
            cli.flush()
            return 0
        cli.out(frame(render_table(fmt, [s.snapshot() for s in items], trunc)), end="")
        cli.flush()
        if closed:
            if closed[0] is not None:
                raise closed[0]
            return 0
        time.sleep(TICK)
