"""The numpy path and the micro-batcher answer exactly as MLflow's scoring code does."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import numpy as np
import pytest

from jupyter_mlops.models.refs import resolve
from jupyter_mlops.models.serving.app import _score
from jupyter_mlops.models.serving.batcher import Batcher
from jupyter_mlops.models.serving.fast_path import answer, fast_path_for
from jupyter_mlops.models.serving.loaded import load
from jupyter_mlops.tracking.api import tracker
from tests.serving import register_wine, split, wine

pytestmark = pytest.mark.integration


def test_numpy_path_answers_like_mlflow_and_leaves_the_rest_to_it(store: Any) -> None:
    register_wine()
    X, _ = wine()
    loaded = load(resolve(tracker().client, "wine@production"), monitor=False)
    path = fast_path_for(loaded)
    assert path is not None
    for rows in (X.iloc[:1], X.iloc[:100]):
        body = json.dumps(split(rows)).encode()
        array = path.parse(body)
        assert array is not None
        status, theirs, _, _ = _score(loaded, body, "application/json")
        assert status == 200 and json.loads(answer(path.predict(array))) == json.loads(theirs)
    other = [
        {"dataframe_records": X.iloc[:2].to_dict(orient="records")},
        split(X.iloc[:2][list(reversed(X.columns))]),
        {**split(X.iloc[:2]), "params": {"a": 1}},
        {"dataframe_split": {"columns": list(X.columns), "data": [["x"] * len(X.columns)]}},
        {"dataframe_split": {"columns": list(X.columns), "data": [[None] * len(X.columns)]}},
    ]
    for payload in other:
        assert path.parse(json.dumps(payload).encode()) is None
    assert path.parse(b"{not json") is None


def test_batcher_stacks_concurrent_requests_and_isolates_a_failing_one() -> None:
    calls: list[int] = []

    def predict(rows: np.ndarray) -> np.ndarray:
        calls.append(len(rows))
        if np.isnan(rows).any():
            raise ValueError("NaN")
        return rows.sum(axis=1)

    async def main() -> list[Any]:
        batcher = Batcher(predict)
        inputs = [np.full((n, 2), float(n)) for n in (1, 2, 3)] + [np.full((1, 2), np.nan)]
        return await asyncio.gather(*(batcher.score(a) for a in inputs), return_exceptions=True)

    results = asyncio.run(main())
    assert [r.tolist() for r in results[:3]] == [[2.0], [4.0, 4.0], [6.0, 6.0, 6.0]]
    assert isinstance(results[3], ValueError)
    assert max(calls) > 3  # some requests were scored in one stacked call
