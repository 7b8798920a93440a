"""Live performance figures: predictions against the labels that came back.

Classifiers get accuracy, macro-averaged F1 and, when probabilities exist, log
loss; regressors get MAE, RMSE and R². Which applies is read from the model's
output signature (integers, text, booleans: classes; floats: values) or, without
one, from the values themselves. The formulas are the textbook ones (the unit
tests compare them with scikit-learn's).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "CLASSIFICATION",
    "CLASSIFIER_METRICS",
    "REGRESSION",
    "REGRESSOR_METRICS",
    "compute",
    "infer_task",
    "task_from_schema",
]

CLASSIFICATION, REGRESSION = "classification", "regression"
CLASSIFIER_METRICS = ("accuracy", "f1_macro", "log_loss")
REGRESSOR_METRICS = ("mae", "rmse", "r2")
#: fewest distinct integral values read as regression when nothing else tells
_MAX_CLASSES = 50
_EPS = 1e-15


def task_from_schema(schema: Any) -> str | None:
    """``classification``/``regression`` from an MLflow output ``Schema`` (None: cannot tell)."""
    try:
        types = schema.numpy_types() if schema is not None else None
    except Exception:
        return None
    if not types:
        return None
    kind = np.dtype(types[0]).kind
    if kind == "f":
        return REGRESSION
    if kind in "biuUSO":
        return CLASSIFICATION
    return None


def infer_task(predictions: Sequence[Any], labels: Sequence[Any]) -> str:
    """Classes when any value is text or every value is a whole number among few; else values."""
    values = [*predictions, *labels]
    if any(isinstance(v, str) for v in values):
        return CLASSIFICATION
    numbers = np.asarray(values, dtype=float)
    whole = bool(np.all(np.isfinite(numbers)) and np.all(numbers == np.round(numbers)))
    return CLASSIFICATION if whole and len(np.unique(numbers)) <= _MAX_CLASSES else REGRESSION


def compute(
    task: str,
    predictions: Sequence[Any],
    labels: Sequence[Any],
    probabilities: tuple[Sequence[Any], Any] | None = None,
) -> dict[str, float]:
    """The figures of ``task`` for ``predictions`` against ``labels``.

    Parameters
    ----------
    task : str
        ``classification`` or ``regression``.
    predictions, labels : sequence
        Row for row.
    probabilities : (classes, array), optional
        Class probabilities of the same rows (n × classes), for the log loss.

    Examples
    --------
    >>> compute("classification", [1, 0, 1], [1, 1, 1])["accuracy"]
    0.6666666666666666
    >>> round(compute("regression", [1.0, 2.0], [1.0, 3.0])["mae"], 2)
    0.5
    """
    if not len(labels):
        return {}
    if task == REGRESSION:
        return _regression(np.asarray(predictions, dtype=float), np.asarray(labels, dtype=float))
    out = _classification([_key(v) for v in predictions], [_key(v) for v in labels])
    if probabilities is not None:
        loss = _log_loss(probabilities, labels)
        if loss is not None:
            out["log_loss"] = loss
    return out


def _key(value: Any) -> Any:
    """Classes compare as numbers when they are numbers (``1`` and ``1.0`` are one class)."""
    if isinstance(value, str):
        return value
    number = float(value)
    return int(number) if number.is_integer() else number


def _classification(predicted: list[Any], truth: list[Any]) -> dict[str, float]:
    hits = [p == t for p, t in zip(predicted, truth, strict=True)]
    f1s = []
    for c in set(truth) | set(predicted):
        tp = sum(1 for p, t in zip(predicted, truth, strict=True) if p == c and t == c)
        fp = sum(1 for p, t in zip(predicted, truth, strict=True) if p == c and t != c)
        fn = sum(1 for p, t in zip(predicted, truth, strict=True) if p != c and t == c)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return {"accuracy": sum(hits) / len(hits), "f1_macro": float(np.mean(f1s))}


def _log_loss(probabilities: tuple[Sequence[Any], Any], labels: Sequence[Any]) -> float | None:
    classes, array = probabilities
    index = {_key(c): n for n, c in enumerate(classes)}
    proba = np.asarray(array, dtype=float)
    if proba.ndim != 2 or len(proba) != len(labels) or proba.shape[1] != len(index):
        return None
    columns = [index.get(_key(v)) for v in labels]
    if any(c is None for c in columns):
        return None  # a label the model never predicts: no probability to score
    proba = np.clip(proba / proba.sum(axis=1, keepdims=True), _EPS, 1 - _EPS)
    picked = proba[np.arange(len(labels)), np.asarray(columns, dtype=int)]
    return float(-np.mean(np.log(picked)))


def _regression(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    error = predicted - truth
    out = {"mae": float(np.mean(np.abs(error))), "rmse": float(np.sqrt(np.mean(error**2)))}
    spread = float(np.sum((truth - truth.mean()) ** 2))
    if spread > 0:
        out["r2"] = 1.0 - float(np.sum(error**2)) / spread
    return out
