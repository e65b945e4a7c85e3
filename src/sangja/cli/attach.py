"""Running attached to a container: the request sequence `run` and `start -a` share.

    session = AttachedSession(cli, container_id, tty=..., ...)
    session.attach()            # POST /containers/{id}/attach (the 101 hijack)
    session.request_wait(cond)  # POST /containers/{id}/wait: headers now, body at exit
    ... POST /containers/{id}/start ...
    status = session.finish()   # pump the streams (raw mode, resize), then the exit code

This is docker's order (WIRE-NOTES §3): the wait is posted before start so that a quick
exit is not missed, and output is read until the daemon closes the hijacked socket.
"""

from __future__ import annotations

import time

from sangja.cli import jsoncodec
from sangja.cli.command import Cli, quote_path
from sangja.cli.errors import CLIError
from sangja.cli.hijack import HijackedIO
from sangja.cli.terminal import DEFAULT_DETACH_KEYS, RawMode, get_size, parse_detach_keys
from sangja.cli.transport import Response

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal as _signal  # typeshed has no _signal: the same functions and constants, typed
    from collections.abc import Callable
    from types import FrameType
    from typing import Any
else:
    # signal.py only wraps _signal's functions and constants in enums (SIG_DFL, Signals), and
    # importing enum is ~2 ms of every `run`; names are kept here (PROXIED_SIGNALS) instead.
    import _signal

# Signals an attached client forwards to the container (docker forwards all but a few).
PROXIED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")


class _Terminated(Exception):  # control flow: a terminating signal during a raw-mode session
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise _Terminated(signum)


class SignalProxy:
    """docker's sig-proxy: signals to this process become `POST /containers/{id}/kill?signal=…`."""

    def __init__(self, cli: Cli, container_id: str) -> None:
        self.cli = cli
        self.container_id = container_id
        self._saved: dict[int, Any] = {}
        self._names = {getattr(_signal, name): name.removeprefix("SIG") for name in PROXIED_SIGNALS}

    def install(self) -> None:
        for signum in self._names:
            self._saved[signum] = _signal.signal(signum, self._forward)

    def _forward(self, signum: int, frame: FrameType | None) -> None:
        name = self._names[signum]
        try:
            self.cli.client.post(f"/containers/{quote_path(self.container_id)}/kill", {"signal": name})
        except CLIError:
            pass  # docker only logs this at debug level

    def restore(self) -> None:
        for signum, handler in self._saved.items():
            _signal.signal(signum, handler)
        self._saved.clear()


class AttachedSession:
    def __init__(self, cli: Cli, container_id: str, *, tty: bool, stdin: bool, stdout: bool = True,
                 stderr: bool = True, detach_keys: str = "") -> None:
        self.cli = cli
        self.container_id = container_id
        self.tty = tty
        self.attach_stdin = stdin
        self.attach_stdout = stdout
        self.attach_stderr = stderr
        self.detach_keys = detach_keys
        self.io: HijackedIO | None = None
        self.wait_response: Response | None = None
        self._path = f"/containers/{quote_path(container_id)}"

    def attach(self) -> None:
        keys = DEFAULT_DETACH_KEYS
        if self.detach_keys:
            try:
                keys = parse_detach_keys(self.detach_keys)
            except ValueError:
                keys = DEFAULT_DETACH_KEYS
        query = {"stream": True, "stdin": self.attach_stdin or None, "stdout": self.attach_stdout or None,
                 "stderr": self.attach_stderr or None, "detachKeys": self.detach_keys or None}
        sock, leftover, _ = self.cli.client.hijack(f"{self._path}/attach", query)
        streams = self.cli.streams
        self.cli.flush()
        self.io = HijackedIO(
            sock, leftover, self.tty,
            streams.stdout if self.attach_stdout else None,
            (streams.stdout if self.tty else streams.stderr) if self.attach_stderr else None,
            streams.stdin if self.attach_stdin else None,
            keys,
        )

    def request_wait(self, condition: str) -> None:
        self.wait_response = self.cli.client.request("POST", f"{self._path}/wait", {"condition": condition})

    def close(self) -> None:
        if self.io is not None:
            try:
                self.io.sock.close()
            except OSError:
                pass
        if self.wait_response is not None:
            self.wait_response.conn.close()

    def await_removal(self, timeout: float = 10.0) -> None:
        """After a failed start with --rm: let the daemon finish removing (docker waits too),
        but never longer than timeout."""
        if self.wait_response is None:
            return
        self.wait_response.conn.sock.settimeout(timeout)
        try:
            self.wait_response.read()
        except OSError:
            pass

    def wait_status(self) -> int:
        """The exit code from the wait response (125 when the wait itself failed)."""
        resp = self.wait_response
        if resp is None:
            return 0
        try:
            body = resp.read()
            result = jsoncodec.loads(body) if body.strip() else {}
        except (OSError, ValueError) as exc:
            self.cli.err(f"error waiting for container: {exc}")
            return 125
        finally:
            resp.conn.close()
        error = result.get("Error")
        if error and error.get("Message"):
            self.cli.err(f"Error waiting for container: {error['Message']}")
            return 125
        return int(result.get("StatusCode", 0))

    def finish(self) -> int:
        """Pump the streams until the container's output ends; return its exit code (0 when detached)."""
        assert self.io is not None
        stdin = self.cli.streams.stdin
        raw: RawMode | None = None
        saved_winch: Any = None
        saved_term: dict[int, Any] = {}
        try:
            if self.tty and self.attach_stdin and self.cli.in_is_terminal:
                raw = RawMode(stdin.fileno()).__enter__()
                # A terminating signal must not leave the terminal raw: turn it into an exception
                # (unless a signal proxy already handles it) so that `finally` restores the mode.
                for signum in (_signal.SIGTERM, _signal.SIGHUP):
                    if _signal.getsignal(signum) == _signal.SIG_DFL:
                        saved_term[signum] = _signal.signal(signum, _terminate)
            if self.tty and self.cli.out_is_terminal:
                resize: Callable[[], None] = self._resize_callback()
                self._initial_resize(resize)
                on_winch = resize
                saved_winch = _signal.signal(_signal.SIGWINCH, lambda s, f: on_winch())
            self.io.stream()
        except _Terminated as exc:
            raise CLIError("", 128 + exc.signum) from None
        finally:
            for term_signal, handler in saved_term.items():
                _signal.signal(term_signal, handler)
            if saved_winch is not None:
                _signal.signal(_signal.SIGWINCH, saved_winch)
            if raw is not None:
                raw.restore()
        if self.io.detached:
            if self.wait_response is not None:
                self.wait_response.conn.close()
            return 0
        return self.wait_status()

    def _resize_callback(self) -> Callable[[], None]:
        fd = self.cli.streams.stdout.fileno()

        def resize() -> None:
            size = get_size(fd)
            if size is None:
                return
            try:
                self.cli.client.post(f"{self._path}/resize", {"h": size[0], "w": size[1]})
            except CLIError:
                pass

        return resize

    def _initial_resize(self, resize: Callable[[], None]) -> None:
        fd = self.cli.streams.stdout.fileno()
        size = get_size(fd)
        if size is None:
            return
        for attempt in range(5):
            try:
                self.cli.client.post(f"{self._path}/resize", {"h": size[0], "w": size[1]})
                return
            except CLIError:
                time.sleep(0.01 * (attempt + 1))
