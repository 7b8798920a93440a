"""Labels for logged predictions: from a DataFrame, a CSV/Parquet file or a JSON body.

Every way in ends in :meth:`PredictionLog.add_labels`, which checks the whole
batch before writing any of it: a bad batch changes nothing, and ids the log
does not hold are counted, never a reason to drop the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from .prediction_log import DEFAULT_WINDOW, FeedbackResult, VersionPerformance, open_log

__all__ = [
    "labels_from_frame",
    "labels_from_json",
    "live_performance",
    "read_labels_file",
    "record_feedback",
]

_JSON_FORM = (
    'send {"request_id": "...", "label": ...} or '
    '{"labels": [{"request_id": "...", "label": ...}, ...]}'
)


def labels_from_json(body: Any) -> tuple[list[Any], list[Any]]:
    """The ids and labels of a ``POST /feedback`` body (already decoded from JSON)."""
    if isinstance(body, Mapping) and "labels" in body:
        items = body["labels"]
        if not isinstance(items, list) or not items:
            raise InvalidInput(f"'labels' must be a non-empty list; {_JSON_FORM}")
    elif isinstance(body, Mapping):
        items = [body]
    else:
        raise InvalidInput(f"the body is not a JSON object; {_JSON_FORM}")
    ids, labels = [], []
    for n, item in enumerate(items):
        if not isinstance(item, Mapping) or "request_id" not in item or "label" not in item:
            raise InvalidInput(f"label {n + 1} lacks 'request_id' or 'label'; {_JSON_FORM}")
        ids.append(item["request_id"])
        labels.append(item["label"])
    return ids, labels


def labels_from_frame(
    frame: Any, id_column: str = "request_id", label_column: str = "label"
) -> tuple[list[Any], list[Any]]:
    """The ids and labels of a DataFrame's two columns."""
    missing = [c for c in (id_column, label_column) if c not in frame.columns]
    if missing:
        have = ", ".join(map(str, frame.columns)) or "none"
        raise InvalidInput(
            f"the labels lack column(s) {', '.join(missing)} (columns: {have}); "
            "name the columns that hold them (--id-column, --label-column)"
        )
    return frame[id_column].tolist(), frame[label_column].tolist()


def read_labels_file(path: str | Path) -> Any:
    """A CSV or Parquet file of labels as a DataFrame."""
    import pandas as pd

    file = Path(path)
    if not file.is_file():
        raise InvalidInput(f"no labels file {str(file)!r}; pass a .csv or .parquet file")
    suffix = file.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(file, dtype_backend="numpy_nullable").astype(object)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(file)
    except Exception as exc:
        raise InvalidInput(f"cannot read labels from {str(file)!r}: {exc}") from None
    raise InvalidInput(f"labels must be a .csv or .parquet file, got {str(file)!r}")


def record_feedback(
    name: str,
    frame: Any,
    *,
    id_column: str = "request_id",
    label_column: str = "label",
    limit: int | None = None,
) -> FeedbackResult:
    """Record the labels of ``frame`` for model ``name`` straight into the prediction log.

    Raises
    ------
    NotFound
        No registered model is named ``name``.
    InvalidInput
        Columns missing, an id or label missing, a label of the wrong kind.
    """
    _check_model(name)
    ids, labels = labels_from_frame(frame, id_column, label_column)
    log = open_log(name, limit=limit)
    try:
        return log.add_labels(ids, labels)
    finally:
        log.close()


def live_performance(name: str, window: int = DEFAULT_WINDOW) -> list[VersionPerformance]:
    """Performance of each version and role of ``name`` over its last ``window`` labelled rows."""
    log = open_log(name)
    try:
        return log.performance(window)
    finally:
        log.close()


def _check_model(name: str) -> None:
    from ..tracking.api import tracker
    from ..tracking.mlflow_bridge.store import mlflow_errors
    from .refs import registered

    with mlflow_errors(f"find model {name!r}"):
        registered(tracker().client, name)
