"""The last N scored rows with their predictions, appended on the request path.

Rows (a DataFrame's values) and predictions are copied into preallocated numpy
rings: an append is one conversion and a slice copy under a lock held for
microseconds, and nothing a request parsed outlives it (a window of kept
DataFrames made Python's full garbage collections, which pause every request,
frequent and long). The background thread takes a copy with :meth:`Window.frame`.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

__all__ = ["Window"]


class _Ring:
    """The last ``size`` rows of a 2-D array whose columns are named by ``key``."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.key: Any = None
        self._array: np.ndarray | None = None
        self._end = 0  # where the next row goes
        self.count = 0

    def reset(self) -> None:
        """Forget every row."""
        self.key, self._array, self._end, self.count = None, None, 0, 0

    def put(self, key: Any, values: np.ndarray) -> None:
        """Append ``values`` (n × columns); another ``key`` object than before starts anew."""
        if self._array is None or self._array.shape[1] != values.shape[1] or key is not self.key:
            self.reset()
            self.key = key
            self._array = np.empty((self.size, values.shape[1]), dtype=values.dtype)
        elif self._array.dtype != values.dtype:  # ints, then floats: keep both exactly
            self._array = self._array.astype(np.result_type(self._array.dtype, values.dtype))
        n = min(len(values), self.size)
        values = values[len(values) - n :]
        first = min(n, self.size - self._end)
        self._array[self._end : self._end + first] = values[:first]
        self._array[: n - first] = values[first:]
        self._end = (self._end + n) % self.size
        self.count = min(self.size, self.count + n)

    def rows(self) -> np.ndarray | None:
        """A copy of the rows, oldest first (None when empty)."""
        if self._array is None or not self.count:
            return None
        if self.count < self.size:
            return self._array[: self.count].copy()
        return np.concatenate((self._array[self._end :], self._array[: self._end]))


class Window:
    """The last ``size`` scored rows (of DataFrame input) and predictions."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._rows = _Ring(size)
        self._predictions = _Ring(size)
        self.generation = 0  # bumped on every append: "anything new since?"

    def append(self, rows: Any, predictions: Any) -> None:
        """Add one request's parsed input and its predictions.

        Rows are kept when they are a DataFrame; rows with other columns than
        the previous ones start the row window anew.
        """
        import pandas as pd

        frame = rows if isinstance(rows, pd.DataFrame) and rows.size else None
        values = frame.to_numpy() if frame is not None else None
        predicted = _first_column(predictions)
        with self._lock:
            if frame is not None and values is not None:
                same = self._rows.key is not None and frame.columns.equals(self._rows.key)
                self._rows.put(self._rows.key if same else frame.columns, values)
            if predicted is not None:
                self._predictions.put(None, predicted)
            self.generation += 1

    def clear(self) -> None:
        """Forget every row (a new version is served)."""
        with self._lock:
            self._rows.reset()
            self._predictions.reset()
            self.generation += 1

    def frame(self) -> tuple[Any, Any]:
        """The last ``size`` rows as a DataFrame (or None) and their predictions."""
        import pandas as pd

        with self._lock:
            columns, values = self._rows.key, self._rows.rows()
            predicted = self._predictions.rows()
        rows = None
        if values is not None:
            rows = pd.DataFrame(values, columns=columns)
            if values.dtype == object:  # mixed kinds: each column its own dtype again
                rows = rows.infer_objects()
        return rows, predicted[:, 0] if predicted is not None else np.array([])


def _first_column(predictions: Any) -> np.ndarray | None:
    """The predictions as a column of one value per row (2-D output: its first column)."""
    try:
        if not len(predictions):
            return None
        return np.asarray(predictions).reshape(len(predictions), -1)[:, :1]
    except (TypeError, ValueError):
        return None
