"""The HTTP app: MLflow's scoring protocol, ``/metrics``, health and version.

``POST /invocations`` is parsed and answered by MLflow's own scoring code
(``mlflow.pyfunc.scoring_server.invocations``: ``dataframe_split``,
``dataframe_records``, ``instances``, ``inputs``, CSV, Parquet), so clients see
exactly MLflow's protocol and errors. The model is wrapped for that one call
so the parsed rows and predictions land in the monitoring window.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from .loaded import Loaded
from .metrics import CONTENT_TYPE, ServeMetrics
from .window import Window

__all__ = ["VERSION_HEADER", "ServeState", "build_app"]

#: response header naming the version that scored the request
VERSION_HEADER = "X-Mlops-Model-Version"


@dataclass
class ServeState:
    """What the app and the background thread share; ``current`` is swapped whole."""

    current: Loaded
    alias: str
    window: Window
    metrics: ServeMetrics = field(default_factory=ServeMetrics)


class _Capture:
    """The served model as MLflow's scoring code sees it, remembering rows and predictions."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self.metadata = model.metadata
        self.rows: Any = None
        self.predictions: Any = None

    def predict(self, data: Any, params: Any = None) -> Any:
        out = self._model.predict(data, params=params)
        self.rows, self.predictions = data, out
        return out


def _score(loaded: Loaded, body: bytes, content_type: str) -> tuple[int, str, str, _Capture]:
    from mlflow.exceptions import MlflowException
    from mlflow.pyfunc import scoring_server

    capture = _Capture(loaded.model)
    try:
        result = scoring_server.invocations(body, content_type, capture, loaded.input_schema)
    except MlflowException as exc:
        return exc.get_http_status_code(), exc.serialize_as_json(), "application/json", capture
    return result.status, result.response, result.mimetype, capture


def _rows(data: Any) -> int:
    import pandas as pd

    return len(data) if isinstance(data, pd.DataFrame) else 0


def build_app(state: ServeState) -> Any:
    """The Starlette app serving ``state``."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def invocations(request: Request) -> Response:
        body = await request.body()
        loaded = state.current  # one version for the whole request, even during a switch
        state.metrics.in_progress.inc()
        start = time.perf_counter()
        try:
            status, content, mime, capture = await asyncio.to_thread(
                _score, loaded, body, request.headers.get("content-type", "")
            )
        except Exception as exc:  # the model itself failed in an unexpected way
            status, content, mime, capture = 500, _error(exc), "application/json", None
        finally:
            state.metrics.in_progress.dec()
        rows = _rows(capture.rows) if capture is not None and status == 200 else 0
        state.metrics.observe_request(status, time.perf_counter() - start, rows)
        if rows and loaded is state.current:
            state.window.append(capture.rows, capture.predictions)  # type: ignore[union-attr]
        headers = {VERSION_HEADER: loaded.number}
        return Response(content, status_code=status, media_type=mime, headers=headers)

    async def ping(request: Request) -> Response:
        return Response("\n", status_code=200, media_type="application/json")

    async def version(request: Request) -> Response:
        from mlflow.version import VERSION

        return Response(VERSION, status_code=200, media_type="application/json")

    async def metrics(request: Request) -> Response:
        return Response(state.metrics.render(), status_code=200, media_type=CONTENT_TYPE)

    routes = [
        Route("/invocations", invocations, methods=["POST"]),
        Route("/ping", ping, methods=["GET"]),
        Route("/health", ping, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    return Starlette(routes=routes)


def _error(exc: Exception) -> str:
    import json

    return json.dumps({"error_code": "INTERNAL_ERROR", "message": f"{type(exc).__name__}: {exc}"})
