"""The one base handler: authentication, JSON rendering, errors mapped to statuses."""

from __future__ import annotations

import asyncio
import functools
import json
import math
from collections.abc import Callable
from typing import Any, TypeVar

from jupyter_server.base.handlers import APIHandler

from ..errors import InvalidInput, MlopsError
from .state import ServerState

__all__ = ["MlopsHandler"]

T = TypeVar("T")


class MlopsHandler(APIHandler):
    """Base of every ``/mlops/api/v1/`` handler.

    Subclasses parse the request, call a service through :meth:`call` (off the
    event loop: MLflow and file I/O block) and :meth:`reply` with the result.
    An :class:`~jupyter_mlops.errors.MlopsError` raised anywhere becomes its
    ``http_status`` with a JSON body ``{"message": ...}``.
    """

    @property
    def state(self) -> ServerState:
        """State shared by all handlers of this server."""
        state: ServerState = self.settings["jupyter_mlops"]
        return state

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run the blocking service call ``fn(*args, **kwargs)`` in a worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(fn, *args, **kwargs))

    def reply(self, body: Any, status: int = 200) -> None:
        """Finish with ``body`` as JSON."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        # JSON has no NaN/Infinity (browsers refuse ``Infinity``): such numbers become null,
        # and anything that still is not strict JSON fails here rather than in the client.
        self.finish(json.dumps(_finite(body), default=str, allow_nan=False))

    # -- request parsing ---------------------------------------------------------------
    def int_arg(self, name: str, default: int, low: int, high: int) -> int:
        """Return query argument ``name`` as an int within ``[low, high]``."""
        raw = self.get_query_argument(name, None)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise InvalidInput(
                f"{name} must be an integer from {low} to {high}, e.g. ?{name}={default}"
            )
        return value

    def json_body(self) -> dict[str, Any]:
        """Return the request body parsed as a JSON object."""
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            raise InvalidInput('request body must be JSON, e.g. {"key": "value"}') from None
        if not isinstance(body, dict):
            raise InvalidInput('request body must be a JSON object, e.g. {"key": "value"}')
        return body

    # -- errors ------------------------------------------------------------------------
    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Render our errors as ``{"message": ...}`` with their own status."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, MlopsError):
            self.clear()
            self.reply({"message": str(exc)}, status=exc.http_status)
            return
        super().write_error(status_code, **kwargs)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Log our errors as one line (no traceback); anything else as usual."""
        if isinstance(value, MlopsError):
            self.log.warning("%s %s: %s", self.request.method, self.request.path, value)
            return
        super().log_exception(typ, value, tb)


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float (at any depth) replaced by ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
