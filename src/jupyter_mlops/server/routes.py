"""Assembling the routes of every feature and registering them on a server."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any

from jupyter_server.utils import url_path_join

from . import handlers_diff, handlers_runs, handlers_status, handlers_table
from .state import ServerState

__all__ = ["API_PREFIX", "all_routes", "register"]

#: URL prefix of every route, below the server's ``base_url``
API_PREFIX = "mlops/api/v1"


def all_routes() -> list[tuple[str, Any]]:
    """Return every ``(pattern, handler)`` of the API, relative to :data:`API_PREFIX`.

    Feature modules whose service is not installed contribute nothing.
    """
    table = [
        *handlers_status.routes(),
        *handlers_runs.routes(),
        *handlers_diff.routes(),
        *handlers_table.routes(),
    ]
    for feature, present in handlers_status.features().items():
        if present:
            table += import_module(f"{__package__}.handlers_{feature}").routes()
    return table


def register(server_app: Any) -> None:
    """Add the API's handlers and shared state to ``server_app``'s web application."""
    web_app = server_app.web_app
    state = ServerState(Path(server_app.root_dir).resolve())
    web_app.settings["jupyter_mlops"] = state
    base = web_app.settings["base_url"]
    handlers = [
        (url_path_join(base, API_PREFIX, pattern) + "/?", handler)
        for pattern, handler in all_routes()
    ]
    web_app.add_handlers(".*$", handlers)
    server_app.log.info("jupyter_mlops: REST API at %s", url_path_join(base, API_PREFIX))
    state.warm_up()
    from .scheduler_app import start_scheduler

    web_app.settings["jupyter_mlops_scheduler"] = start_scheduler(server_app, state.settings)
