"""Pointing the services that use the process-wide tracker at the server's store."""

from __future__ import annotations

import json
import threading
from typing import Any

from ..config import Settings

__all__ = ["records", "use_server_store"]

_lock = threading.Lock()


def use_server_store(settings: Settings) -> None:
    """Make the process-wide tracker read ``settings`` (the store of the server's root).

    The models service resolves its client through the tracker; in a server
    process nothing else uses it, so it follows the server's root directory.
    """
    from ..tracking import api

    with _lock:
        if api.tracker().settings != settings:
            api.reset(settings)


def records(frame: Any) -> list[dict[str, Any]]:
    """A DataFrame as JSON-ready records (timestamps ISO 8601, NaN as null)."""
    rows: list[dict[str, Any]] = json.loads(frame.to_json(orient="records", date_format="iso"))
    return rows
