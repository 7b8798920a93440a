"""Jupyter server extension: the REST API under ``/mlops/api/v1/`` behind the sidebar.

Handlers are imported only when the server loads the extension, so importing
``jupyter_mlops`` stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["_load_jupyter_server_extension"]


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Register the handlers on ``server_app`` (called by jupyter_server)."""
    from .routes import register

    register(server_app)


# jupyter_server < 2 looked the loader up under this name.
load_jupyter_server_extension = _load_jupyter_server_extension
