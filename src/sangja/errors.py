"""The engine's error classes, classified by behaviour (like moby's errdefs).

Raised by daemon/, image/, runtime/ ... with a user-facing message; mapped to an
HTTP status in exactly one place (`sangja.api.errors.status_for`). The message is
what the user sees, so it follows Docker's wording where Docker has one.

    SangjaError                 500  something failed on our side
    ├── InvalidParameter        400  bad input: malformed reference, wrong type, bad flag value
    ├── Unauthorized            401
    ├── Forbidden               403
    ├── NotFound                404  no such container/image/exec
    ├── Conflict                409  name in use, container running, image in use
    ├── NotModified             304  container already started/stopped
    ├── NotImplementedYet       501  an API feature sangja does not have
    └── Unavailable             503
"""

from __future__ import annotations


class SangjaError(Exception):
    """Base class: a failure with a message meant for the user."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidParameter(SangjaError):
    status = 400


class Unauthorized(SangjaError):
    status = 401


class Forbidden(SangjaError):
    status = 403


class NotFound(SangjaError):
    status = 404


class Conflict(SangjaError):
    status = 409


class NotModified(SangjaError):
    status = 304


class NotImplementedYet(SangjaError):
    status = 501


class Unavailable(SangjaError):
    status = 503


class System(SangjaError):
    """An internal failure (I/O, runtime crashed); status 500."""

    status = 500
