"""The handshake: server extension version, store location and which features exist."""

from __future__ import annotations

from importlib.util import find_spec
from typing import Any

import tornado.web

from .._version import __version__
from .base import MlopsHandler

__all__ = ["features", "routes"]

#: optional services -> module whose presence enables their routes
SERVICES = {
    "models": "jupyter_mlops.models.api",
    "data": "jupyter_mlops.data.api",
    "headless": "jupyter_mlops.headless.api",
    "schedules": "jupyter_mlops.schedules.api",
}


def features() -> dict[str, bool]:
    """Return which optional features are served: their service and handlers both exist."""
    found = {}
    for name, module in SERVICES.items():
        try:
            found[name] = all(
                find_spec(m) is not None for m in (module, f"{__package__}.handlers_{name}")
            )
        except ModuleNotFoundError:
            found[name] = False
    return found


class StatusHandler(MlopsHandler):
    """``GET status``: what the frontend checks before showing anything."""

    @tornado.web.authenticated
    def get(self) -> None:
        settings = self.state.settings
        self.reply(
            {
                "version": __version__,
                "api": 1,
                "root": str(settings.root),
                "server_root": str(self.state.root_dir),
                "tracking_uri": _redact(settings.tracking_uri),
                "features": features(),
            }
        )


def _redact(uri: str) -> str:
    # A team server URI may carry credentials: never send them to the browser.
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if parts.password or parts.username:
        host = parts.hostname or ""
        netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return uri.split("?")[0]


def routes() -> list[tuple[str, Any]]:
    """Return ``(pattern, handler)`` pairs relative to the API prefix."""
    return [("status", StatusHandler)]
