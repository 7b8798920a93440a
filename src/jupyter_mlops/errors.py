"""Exceptions raised by jupyter-mlops services.

Every error a user can cause derives from :class:`MlopsError`. Interfaces map the
subclasses once: magics raise IPython ``UsageError`` for :class:`InvalidInput`,
:class:`NotFound` and :class:`Conflict`; the CLI exits 2 for those and 1 for the
rest; the REST layer maps each class to an HTTP status.
"""

from __future__ import annotations

__all__ = [
    "Conflict",
    "GateFailed",
    "InvalidInput",
    "MlopsError",
    "NotFound",
    "StoreError",
]


class MlopsError(Exception):
    """Root of every jupyter-mlops error; the message is one line meant for people."""

    #: HTTP status used by the REST layer.
    http_status = 500
    #: True when the error is the caller's mistake (exit code 2, IPython UsageError).
    is_usage = False


class InvalidInput(MlopsError):
    """An argument is malformed; the message names it and shows the right form."""

    http_status = 400
    is_usage = True


class NotFound(MlopsError):
    """A named experiment, run, snapshot or model does not exist."""

    http_status = 404
    is_usage = True


class Conflict(MlopsError):
    """The request contradicts recorded state (e.g. re-logging a param with a new value)."""

    http_status = 409
    is_usage = True


class GateFailed(MlopsError):
    """A promotion gate did not pass; the alias was left where it was."""

    http_status = 409


class StoreError(MlopsError):
    """The tracking or snapshot store could not be reached or written."""

    http_status = 503
