"""The CLI's failures and the one place that turns them into an exit code.

Every command raises one of these (or lets one escape from the API client);
`sangja.cli.main` prints `str(error)` to stderr, when it is not empty, and exits
with `error.exit_code`. This mirrors the docker CLI, whose `cli.StatusError`
carries a message and a status and whose other errors print as-is with status 1.

    CLIError                 exit 1 (or any status)   printed as-is
    ├── UsageError           exit 1 or 125            wrong arguments or flags, with a usage hint
    ├── DaemonError          exit 1                   "Error response from daemon: <message>"
    ├── DaemonUnreachable    exit 1                   the socket cannot be reached
    └── StreamError          exit 1                   an error line inside a JSON progress stream

`run` and `create` wrap daemon errors with `as_run_error` (exit 125/126/127 and
the "docker: ..." style prefix).
"""

from __future__ import annotations

# The name the CLI prints for itself in messages that docker prints as "docker".
PROG = "sangja"


class CLIError(Exception):
    """A failure whose message is meant for the user; exit_code is the process status."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class UsageError(CLIError):
    """Bad command-line usage. Argument-count errors exit 1, flag errors 125, like docker."""


class DaemonError(CLIError):
    """The daemon answered with an HTTP error status; `message` is its `{"message"}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Error response from daemon: {message}", 1)
        self.status = status
        self.daemon_message = message

    @property
    def not_found(self) -> bool:
        return self.status == 404


class DaemonUnreachable(CLIError):
    """The daemon's socket could not be connected to (not running, wrong path, no permission)."""


class StreamError(CLIError):
    """An `{"error": ...}` line in a JSON message stream (pull, load, import, build). `code` is
    its errorDetail.code (a failed RUN's exit status; `build` exits with it, like docker)."""

    def __init__(self, message: str, exit_code: int = 1, code: int = 0) -> None:
        super().__init__(message, exit_code)
        self.code = code


def as_run_error(error: CLIError, command: str = "run") -> CLIError:
    """Classify an error from creating/starting a container like docker's toStatusError.

    127 when the command was not found, 126 when it could not be executed, 125 for
    every other daemon-side failure; the message gets the "sangja: " prefix and a
    "--help" hint.
    """
    if isinstance(error, DaemonUnreachable):
        return error
    text = str(error)
    status = 125
    if any(s in text for s in ("executable file not found", "no such file or directory",
                                "system cannot find the file specified")):
        status = 127
    elif "permission denied" in text or "is a directory" in text:
        status = 126
    return CLIError(with_help(text, command), status)


def with_help(message: str, command: str) -> str:
    return f"{PROG}: {message}\n\nRun '{PROG} {command} --help' for more information"
