"""The monitoring window of ``jupyter mlops serve``: the last N rows and predictions, in order."""

from __future__ import annotations

import numpy as np
import pandas as pd

from jupyter_mlops.models.serving.window import Window


def _requests(sizes: list[int]) -> list[pd.DataFrame]:
    out, start = [], 0
    for n in sizes:
        out.append(pd.DataFrame({"x": np.arange(start, start + n) * 1.5, "k": np.arange(n)}))
        start += n
    return out


def test_keeps_the_last_rows_across_wrap_around_in_order() -> None:
    window = Window(10)
    assert window.frame()[0] is None and len(window.frame()[1]) == 0
    for frame in _requests([1, 4, 3, 6, 2, 25, 3]):  # 44 rows; one request larger than the window
        window.append(frame, frame["x"].to_numpy() * 2)
    rows, predictions = window.frame()
    expected = np.arange(34, 44) * 1.5
    assert rows["x"].tolist() == expected.tolist()
    assert predictions.tolist() == (expected * 2).tolist()
    assert list(rows.columns) == ["x", "k"]


def test_mixed_kinds_come_back_with_their_dtypes_and_2d_predictions_by_first_column() -> None:
    window = Window(5)
    when = pd.date_range("2024-01-01", periods=3, tz="UTC")
    frame = pd.DataFrame({"n": [1.0, 2.0, 3.0], "city": ["a", "b", "c"], "when": when})
    window.append(frame, np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]]))
    rows, predictions = window.frame()
    assert pd.api.types.is_float_dtype(rows["n"]) and rows["city"].tolist() == ["a", "b", "c"]
    assert rows["when"].tolist() == when.tolist()
    assert predictions.tolist() == [0.9, 0.2, 0.5]


def test_other_columns_start_anew_and_clear_forgets() -> None:
    window = Window(5)
    window.append(pd.DataFrame({"a": [1.0, 2.0]}), [0, 1])
    window.append(pd.DataFrame({"b": [3.0]}), [1])
    rows, predictions = window.frame()
    assert list(rows.columns) == ["b"] and rows["b"].tolist() == [3.0]
    assert predictions.tolist() == [0, 1, 1]
    generation = window.generation
    window.clear()
    assert window.frame()[0] is None and window.generation > generation
