"""The HTTP app: MLflow's scoring protocol, feedback, ``/metrics``, health and version.

``POST /invocations`` is parsed and answered by MLflow's own scoring code
(``mlflow.pyfunc.scoring_server.invocations``: ``dataframe_split``,
``dataframe_records``, ``instances``, ``inputs``, CSV, Parquet), so clients see
exactly MLflow's protocol and errors. The model is wrapped for that one call
so the parsed rows and predictions land in the monitoring window and the
prediction log, keyed by one request id per row (``X-Request-Id``).
``POST /feedback`` records labels for those ids. With a challenger, a canary
share of requests is answered by it, or in shadow mode it scores every
request's rows off the request path.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidInput
from ..prediction_log import CHALLENGER, CHAMPION, LogWriter, PredictionLog
from .batcher import Batcher
from .fast_path import FastPath, answer, fast_path_for
from .loaded import Loaded
from .metrics import CONTENT_TYPE, ServeMetrics
from .request_ids import ID_HEADER, answer_with_ids, read_request_ids
from .window import Window

__all__ = ["DEFAULT_MAX_BODY", "ROLE_HEADER", "VERSION_HEADER", "ServeState", "build_app"]

#: response header naming the version that scored the request
VERSION_HEADER = "X-Mlops-Model-Version"
#: response header naming its role (champion or challenger)
ROLE_HEADER = "X-Mlops-Role"
#: request bodies larger than this are refused with 413 unless configured otherwise
DEFAULT_MAX_BODY = 32 * 1024 * 1024


@dataclass
class ServeState:
    """What the app and the background threads share; ``current`` is swapped whole.

    ``challenger`` (with ``mode`` ``shadow`` or ``canary``) is the version on
    trial; ``challenger_on`` turns its traffic off after a rollback.
    """

    current: Loaded
    alias: str
    window: Window
    metrics: ServeMetrics = field(default_factory=ServeMetrics)
    log: PredictionLog | None = None
    writer: LogWriter | None = None
    token: str | None = None
    max_body: int = DEFAULT_MAX_BODY
    challenger: Loaded | None = None
    mode: str | None = None
    canary_share: float = 0.1
    challenger_on: bool = True
    shadow: Any = None  # a one-thread executor scoring the challenger off the request path
    #: version -> its numpy path and batcher (None: MLflow's path only)
    fast: dict[str, tuple[FastPath, Batcher] | None] = field(default_factory=dict)
    fast_path: bool = True

    def pick(self, first_id: str | None) -> tuple[Loaded, str]:
        """The version answering a request: the champion, or the canary for its share."""
        challenger = self.challenger
        if challenger is None or self.mode != "canary" or not self.challenger_on:
            return self.current, CHAMPION
        key = first_id if first_id is not None else str(time.perf_counter_ns())
        if zlib.crc32(key.encode()) / 2**32 < self.canary_share:
            return challenger, CHALLENGER
        return self.current, CHAMPION


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


async def _fast(state: ServeState, loaded: Loaded, body: bytes, content_type: str) -> Any:
    """Score through the numpy path and the batcher; None when MLflow's path must answer."""
    if not state.fast_path or not content_type.startswith("application/json"):
        return None
    if loaded.number not in state.fast:
        path = fast_path_for(loaded)
        state.fast[loaded.number] = (path, Batcher(path.predict)) if path is not None else None
    found = state.fast[loaded.number]
    if found is None:
        return None
    path, batcher = found
    array = path.parse(body)
    if array is None:
        return None
    try:
        predictions = await batcher.score(array)
    except Exception:
        return None  # MLflow's path answers with its own error
    return _Scored(path.frame(array), predictions)


@dataclass
class _Scored:
    """What the numpy path scored: the rows (as a DataFrame) and their predictions."""

    rows: Any
    predictions: Any


def _rows(data: Any) -> int:
    import pandas as pd

    return len(data) if isinstance(data, pd.DataFrame) else 0


def _message(status: int, text: str) -> Any:
    from starlette.responses import JSONResponse

    return JSONResponse({"message": text}, status_code=status)


async def _read_body(request: Any, limit: int) -> bytes | None:
    """The body, or None when it is larger than ``limit`` bytes (read no further then)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _authorized(state: ServeState, request: Any) -> bool:
    if state.token is None:
        return True
    given = request.headers.get("authorization", "")
    scheme, _, token = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip(), state.token)


def build_app(state: ServeState) -> Any:
    """The Starlette app serving ``state``."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    too_large = f"the body is larger than {state.max_body:,} bytes; send fewer rows per request"

    async def invocations(request: Request) -> Response:
        body = await _read_body(request, state.max_body)
        if body is None:
            return _message(413, too_large)
        content_type = request.headers.get("content-type", "")
        try:
            asked = read_request_ids(body, content_type, request.query_params, request.headers)
        except InvalidInput as exc:
            return _message(400, str(exc))
        loaded, role = state.pick(asked.first())  # one version for the whole request
        state.metrics.in_progress.inc()
        start = time.perf_counter()
        try:
            capture = await _fast(state, loaded, body, content_type)
            if capture is not None:
                status, content, mime = 200, answer(capture.predictions), "application/json"
            else:
                status, content, mime, capture = await asyncio.to_thread(
                    _score, loaded, body, content_type
                )
        except Exception as exc:  # the model itself failed in an unexpected way
            status, content, mime, capture = 500, _error(exc), "application/json", None
        finally:
            state.metrics.in_progress.dec()
        rows = _rows(capture.rows) if capture is not None and status == 200 else 0
        headers = {VERSION_HEADER: loaded.number, ROLE_HEADER: role}
        ids: list[str] = []
        if status == 200 and capture is not None:
            try:
                ids = asked.for_rows(len(capture.predictions))
            except InvalidInput as exc:
                status, content, mime = 400, json.dumps({"message": str(exc)}), "application/json"
        state.metrics.observe_request(
            status, time.perf_counter() - start, rows, loaded.number, role
        )
        if status == 200 and capture is not None:
            _record(state, loaded, role, ids, capture)
            headers[ID_HEADER] = ",".join(ids)
            if asked.in_body and mime == "application/json":
                content = answer_with_ids(content, ids)
        return Response(content, status_code=status, media_type=mime, headers=headers)

    async def feedback(request: Request) -> Response:
        if not _authorized(state, request):
            return _message(401, "feedback needs 'Authorization: Bearer <token>' (see --token)")
        if state.log is None:
            return _message(409, "this server keeps no prediction log (started with --no-log)")
        body = await _read_body(request, state.max_body)
        if body is None:
            return _message(413, too_large)
        try:
            decoded = json.loads(body)
        except ValueError:
            return _message(400, "the body is not JSON; " + _FEEDBACK_FORM)
        try:
            result = await asyncio.to_thread(_add_labels, state, decoded)
        except InvalidInput as exc:
            return _message(400, str(exc))
        from starlette.responses import JSONResponse

        return JSONResponse(result)

    async def ping(request: Request) -> Response:
        return Response("\n", status_code=200, media_type="application/json")

    async def version(request: Request) -> Response:
        from mlflow.version import VERSION

        return Response(VERSION, status_code=200, media_type="application/json")

    async def metrics(request: Request) -> Response:
        return Response(state.metrics.render(), status_code=200, media_type=CONTENT_TYPE)

    routes = [
        Route("/invocations", invocations, methods=["POST"]),
        Route("/feedback", feedback, methods=["POST"]),
        Route("/ping", ping, methods=["GET"]),
        Route("/health", ping, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    return Starlette(routes=routes)


_FEEDBACK_FORM = (
    'send {"request_id": "...", "label": ...} or {"labels": [{"request_id": ..., "label": ...}]}'
)


def _add_labels(state: ServeState, decoded: Any) -> dict[str, int]:
    from ..feedback import labels_from_json

    ids, labels = labels_from_json(decoded)
    if state.log is None:
        raise InvalidInput("this server keeps no prediction log")
    if state.writer is not None:
        state.writer.flush()  # this process's own answers are in the log before they are joined
    return state.log.add_labels(ids, labels).to_dict()


def _record(state: ServeState, loaded: Loaded, role: str, ids: list[str], capture: Any) -> None:
    """Log the answer, feed the drift window, and hand the rows to a shadow challenger."""
    if state.writer is not None:
        state.writer.append(loaded.number, role, ids, capture.rows, capture.predictions)
    if role == CHAMPION and loaded is state.current and _rows(capture.rows):
        state.window.append(capture.rows, capture.predictions)
    if state.mode == "shadow" and state.shadow is not None and state.challenger_on:
        state.shadow.submit(capture.rows, ids)


def _error(exc: Exception) -> str:
    return json.dumps({"error_code": "INTERNAL_ERROR", "message": f"{type(exc).__name__}: {exc}"})
