"""The numpy path: ``dataframe_split`` bodies of numbers scored without MLflow's parsing.

It applies only when MLflow's path would do nothing else than build a frame of
floats: the version's input schema names its columns, every column is
``double`` or ``float``, no params schema, and the pyfunc wraps a model with
``predict`` (scikit-learn and the like). A body qualifies when it is a JSON
object with ``dataframe_split`` (plus ``ids``/``return_ids``), whose columns are
the schema's, in order, and whose cells are all numbers. Anything else goes
through MLflow's own scoring code, so its answers and errors are unchanged.
The answer is written by MLflow's ``predictions_to_json``.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["FastPath", "answer", "fast_path_for"]

_FLOATS = ("double", "float")
_KEYS = {"dataframe_split", "ids", "return_ids"}


@dataclass(frozen=True)
class FastPath:
    """How one loaded version scores a float matrix directly."""

    columns: list[str]
    raw: Any

    def parse(self, body: bytes) -> np.ndarray | None:
        """The body's rows as a float matrix, or None when MLflow's path must answer it."""
        try:
            parsed = json.loads(body)
        except ValueError:
            return None
        if not isinstance(parsed, dict) or not set(parsed) <= _KEYS:
            return None
        split = parsed.get("dataframe_split")
        if not isinstance(split, dict) or split.get("columns") != self.columns:
            return None
        if set(split) - {"columns", "data", "index"}:
            return None
        data = split.get("data")
        if not isinstance(data, list) or not data:
            return None
        try:
            array = np.array(data, dtype=np.float64)
        except (TypeError, ValueError):
            return None
        if array.ndim != 2 or array.shape[1] != len(self.columns):
            return None
        if any(isinstance(v, bool) or v is None for row in data for v in row):
            return None  # MLflow refuses or converts these: let it answer
        return array

    def frame(self, array: np.ndarray) -> Any:
        """The rows as the DataFrame the model was fitted on (no copy)."""
        import pandas as pd

        return pd.DataFrame(array, columns=self.columns, copy=False)

    def predict(self, array: np.ndarray) -> Any:
        """Predictions for the rows of ``array``."""
        return self.raw.predict(self.frame(array))


def answer(predictions: Any) -> str:
    """MLflow's JSON answer for ``predictions``."""
    from mlflow.pyfunc.scoring_server import predictions_to_json

    out = io.StringIO()
    predictions_to_json(predictions, out)
    return out.getvalue()


def fast_path_for(loaded: Any) -> FastPath | None:
    """The numpy path of a loaded version, or None when it does not qualify."""
    schema = loaded.input_schema
    try:
        if schema is None or not schema.has_input_names() or schema.is_tensor_spec():
            return None
        if any(getattr(c.type, "name", None) not in _FLOATS for c in schema.inputs):
            return None
        if any(not getattr(c, "required", True) for c in schema.inputs):
            return None
        if loaded.model.metadata.get_params_schema() is not None:
            return None
        raw = loaded.model.get_raw_model()
    except Exception:
        return None
    if not callable(getattr(raw, "predict", None)):
        return None
    return FastPath([str(n) for n in schema.input_names()], raw)
