"""Batch scoring's model side: classes read off the probabilities equal ``predict``'s, always.

Real scikit-learn estimators; each is scored batch by batch through
:class:`~jupyter_mlops.models.batch_model.Scorer` and compared with its own
``predict`` and ``predict_proba`` on every row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from jupyter_mlops.models.batch_model import Scorer, _argmax_of_proba


def _data(n: int = 600, classes: int = 2, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=["a", "b", "c", "d"])
    score = X["a"] + 0.5 * X["b"] - X["c"]
    y = np.digitize(score, np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1]))
    return X, np.array([f"k{v}" for v in y]) if classes > 2 else y


def _scored(model: Any, X: pd.DataFrame, size: int = 97) -> tuple[Scorer, np.ndarray, np.ndarray]:
    scorer = Scorer(
        model, None, list(X.columns), list(model.classes_), shared=_argmax_of_proba(model)
    )
    got = [scorer.score(X.iloc[i : i + size]) for i in range(0, len(X), size)]
    return scorer, np.concatenate([p for p, _ in got]), np.concatenate([q for _, q in got])


@pytest.mark.parametrize(
    "model",
    [
        LogisticRegression(),
        RandomForestClassifier(n_estimators=15, random_state=0),
        GradientBoostingClassifier(n_estimators=10, random_state=0),
        HistGradientBoostingClassifier(max_iter=10),
        GaussianNB(),
        make_pipeline(StandardScaler(), LogisticRegression()),
    ],
    ids=lambda m: type(m).__name__,
)
@pytest.mark.parametrize("classes", [2, 3])
def test_classes_read_off_probabilities_equal_predict(model: Any, classes: int) -> None:
    X, y = _data(classes=classes)
    model.fit(X.iloc[:300], y[:300])
    scorer, predictions, proba = _scored(model, X.iloc[300:])

    assert scorer.shared  # one model call per batch
    expected = model.predict(X.iloc[300:])
    assert predictions.dtype == expected.dtype
    assert predictions.tolist() == expected.tolist()
    assert np.array_equal(proba, model.predict_proba(X.iloc[300:]))


def test_rows_on_the_decision_boundary_are_asked_of_predict() -> None:
    # scores a hair above 0: predict says class 1, the rounded probabilities tie at 0.5
    X, y = _data()
    model = LogisticRegression().fit(X, y)
    model.coef_[:] = 0.0
    model.intercept_[:] = 1e-18
    scorer, predictions, proba = _scored(model, X)

    assert np.all(proba[:, 0] == proba[:, 1])  # the probabilities cannot tell
    assert predictions.tolist() == model.predict(X).tolist() == [1] * len(X)
    assert scorer.shared


class _Threshold(ClassifierMixin, BaseEstimator):
    """Class 1 from a probability of 0.3: not the class of highest probability."""

    def fit(self, X: Any, y: Any) -> _Threshold:
        self.inner_ = LogisticRegression().fit(X, y)
        self.classes_ = self.inner_.classes_
        return self

    def predict_proba(self, X: Any) -> Any:
        return self.inner_.predict_proba(X)

    def predict(self, X: Any) -> Any:
        return self.classes_[(self.predict_proba(X)[:, 1] > 0.3).astype(int)]


class _Subclass(LogisticRegression):
    """A subclass may change ``predict``: not trusted by its base's name."""

    def predict(self, X: Any) -> Any:
        return self.classes_[(self.predict_proba(X)[:, 1] > 0.3).astype(int)]


@pytest.mark.parametrize("kind", [_Threshold, _Subclass])
def test_a_model_whose_class_is_not_its_most_probable_is_asked_both(kind: type) -> None:
    X, y = _data()
    model = kind().fit(X.iloc[:300], y[:300])
    scorer, predictions, _ = _scored(model, X.iloc[300:])

    assert not scorer.shared
    expected = model.predict(X.iloc[300:])
    assert predictions.tolist() == expected.tolist()
    assert (expected != LogisticRegression().fit(X.iloc[:300], y[:300]).predict(X.iloc[300:])).any()


def test_a_first_batch_that_disagrees_turns_sharing_off() -> None:
    X, y = _data()
    model = _Threshold().fit(X.iloc[:300], y[:300])
    scorer = Scorer(model, None, list(X.columns), list(model.classes_), shared=True)
    got = [scorer.score(X.iloc[i : i + 100])[0] for i in range(300, 600, 100)]

    assert not scorer.shared
    assert np.concatenate(got).tolist() == model.predict(X.iloc[300:]).tolist()


def test_check_selects_the_model_columns_and_names_a_wrong_kind() -> None:
    from mlflow.types import ColSpec, Schema

    from jupyter_mlops.errors import InvalidInput

    X, y = _data()
    model = LogisticRegression().fit(X, y)
    schema = Schema([ColSpec("double", c) for c in X.columns])
    scorer = Scorer(model, schema, list(X.columns), list(model.classes_))
    extra = X.assign(note="x")[["note", "d", "c", "b", "a"]]
    assert list(scorer.check(extra, "in.csv").columns) == list(X.columns)
    assert scorer.check(X, "in.csv") is X  # already in order: no copy
    with pytest.raises(
        InvalidInput, match=r"column 'b' is \w+, the model's signature needs double"
    ):
        scorer.check(X.assign(b=["text"] * len(X)), "in.csv")  # checked again: types differ
    twice = pd.concat([X, X[["b"]]], axis=1)
    with pytest.raises(InvalidInput, match="has column\\(s\\) b more than once"):
        scorer.check(twice, "DataFrame")


def test_blas_runs_in_one_thread_while_batches_are_scored_and_is_restored_after() -> None:
    from threadpoolctl import threadpool_info

    from jupyter_mlops.models.batch_model import blas_in_one_thread

    def blas_threads() -> set[int]:
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    before = blas_threads()
    with blas_in_one_thread():
        assert blas_threads() == {1}
    assert blas_threads() == before
