"""``mlops.models.evaluate``: a model's metrics overall and per slice, and the widest gap.

Metrics are scikit-learn's (``sklearn.metrics``): accuracy, precision, recall and F1
(macro averaged) for classification; MAE, RMSE and R² for regression. Each slice is
the rows sharing one value of a ``slice_by`` column; the gap of a metric over a column
is its largest value minus its smallest across that column's slices.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["SLICES_ARTIFACT", "Evaluation", "evaluate"]

#: the run artifact holding the per-slice table (the model card reads it)
SLICES_ARTIFACT = "evaluation/slices.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9_\-. :/]")


@dataclass
class Evaluation:
    """What :func:`evaluate` measured.

    Attributes
    ----------
    task : str
        ``classification`` or ``regression``.
    metrics : dict
        Overall metrics.
    slices : list of dict
        ``{"column", "value", "rows", <metric>: value, ...}`` per slice.
    gaps : dict
        ``column -> {metric: largest minus smallest across its slices}``.
    """

    task: str
    metrics: dict[str, float]
    slices: list[dict[str, Any]] = field(default_factory=list)
    gaps: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (what ``evaluation/slices.json`` holds)."""
        return {
            "task": self.task,
            "metrics": self.metrics,
            "slices": self.slices,
            "gaps": self.gaps,
        }

    def table(self) -> pd.DataFrame:
        """The slices as a DataFrame, one row per slice."""
        import pandas as pd

        return pd.DataFrame(self.slices)

    def _repr_html_(self) -> str:
        return str(self.table().to_html(index=False))


def _sklearn_metrics() -> Any:
    try:
        from sklearn import metrics
    except ImportError:
        raise InvalidInput(
            "mlops.models.evaluate needs scikit-learn: pip install 'jupyter-mlops[evaluate]'"
        ) from None
    return metrics


def _task(y: Any) -> str:
    import pandas as pd

    series = pd.Series(y)
    if pd.api.types.is_float_dtype(series) and series.nunique() > 20:
        return "regression"
    return "classification"


def _scores(task: str, y_true: Any, y_pred: Any) -> dict[str, float]:
    m = _sklearn_metrics()
    if task == "regression":
        return {
            "mae": float(m.mean_absolute_error(y_true, y_pred)),
            "rmse": float(m.root_mean_squared_error(y_true, y_pred)),
            "r2": float(m.r2_score(y_true, y_pred)) if len(y_true) > 1 else float("nan"),
        }
    kw = {"average": "macro", "zero_division": 0}
    return {
        "accuracy": float(m.accuracy_score(y_true, y_pred)),
        "precision": float(m.precision_score(y_true, y_pred, **kw)),
        "recall": float(m.recall_score(y_true, y_pred, **kw)),
        "f1": float(m.f1_score(y_true, y_pred, **kw)),
    }


def _slice_columns(X: Any, slice_by: list[Any]) -> dict[str, Any]:
    import pandas as pd

    out = {}
    for item in slice_by:
        if isinstance(item, pd.Series):
            if len(item) != len(X):
                raise InvalidInput(f"slice {item.name!r} has {len(item)} rows, X has {len(X)}")
            out[str(item.name)] = item.to_numpy()
        elif hasattr(X, "columns") and item in X.columns:
            out[str(item)] = X[item].to_numpy()
        else:
            known = ", ".join(map(str, getattr(X, "columns", []))) or "(X has no columns)"
            raise InvalidInput(f"no column {item!r} to slice by; X has: {known}")
    return out


def _key(*parts: Any) -> str:
    return ".".join(_UNSAFE.sub("_", str(p)) for p in parts)


def evaluate(
    model: Any,
    X: Any,
    y: Any,
    *,
    slice_by: list[Any] | None = None,
    task: str | None = None,
    log: bool = True,
) -> Evaluation:
    """Score ``model`` on ``X``, ``y`` overall and per slice; log it to the active run.

    Parameters
    ----------
    model : object
        Anything with ``predict(X)``.
    X : DataFrame
        Rows to predict; ``slice_by`` names its columns (or gives named Series).
    y : array-like
        True values.
    slice_by : list, optional
        Columns of ``X`` (or pandas Series aligned with it) whose values define slices.
    task : str, optional
        ``classification`` or ``regression`` (default: regression for float targets
        with more than 20 distinct values).
    log : bool
        Log metrics ``eval.<metric>``, ``eval.<column>.<value>.<metric>`` and
        ``eval.<column>.gap.<metric>`` and the artifact ``evaluation/slices.json`` to
        the active run (one is started if needed).

    Examples
    --------
    >>> ev = mlops.models.evaluate(clf, X_test, y_test, slice_by=["region"])  # doctest: +SKIP
    >>> ev.gaps["region"]["accuracy"]                                   # doctest: +SKIP
    0.12
    """
    import numpy as np

    if task not in (None, "classification", "regression"):
        raise InvalidInput(f"task must be classification or regression, got {task!r}")
    if len(X) != len(y):
        raise InvalidInput(f"X has {len(X)} rows but y has {len(y)}")
    columns = _slice_columns(X, list(slice_by or []))
    y_true = np.asarray(y)
    y_pred = np.asarray(model.predict(X))
    kind = task or _task(y_true)
    result = Evaluation(kind, _scores(kind, y_true, y_pred))
    for column, values in columns.items():
        per: list[dict[str, Any]] = []
        for value in sorted(set(values.tolist()), key=str):
            mask = values == value
            row = {"column": column, "value": value, "rows": int(mask.sum())}
            row.update(_scores(kind, y_true[mask], y_pred[mask]))
            per.append(row)
        result.slices += per
        result.gaps[column] = {
            k: float(max(r[k] for r in per) - min(r[k] for r in per)) for k in result.metrics
        }
    if log:
        _log(result)
    return result


def _log(result: Evaluation) -> None:
    from ..tracking.api import tracker

    metrics = {_key("eval", k): v for k, v in result.metrics.items()}
    for row in result.slices:
        for k in result.metrics:
            metrics[_key("eval", row["column"], row["value"], k)] = row[k]
    for column, gaps in result.gaps.items():
        metrics.update({_key("eval", column, "gap", k): v for k, v in gaps.items()})
    t = tracker()
    t.ensure_run()
    t.log_metrics(metrics)
    t.log_text(json.dumps(result.to_dict(), default=str, indent=2), SLICES_ARTIFACT)
