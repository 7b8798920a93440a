"""The model side of batch scoring: a version's input columns checked, each batch scored.

A classifier with probabilities gives a class and the probability of each class
for every row. For the scikit-learn estimators whose predicted class is by
definition the class of highest probability (the probabilities are an
order-keeping function of the scores ``predict`` takes the best of: logistic
regression, naive Bayes, trees, forests, gradient boosting, calibrated
classifiers, and pipelines ending in one), a batch is scored once: its classes
are read off the probabilities. Rounding can make the two disagree only where
the two highest probabilities are (nearly) equal, so those rows, if any, are
asked of ``predict`` itself; the first batch is scored both ways and compared,
and any difference makes every later batch ask both. Other models are asked both.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from .loading import load_version

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Scorer", "blas_in_one_thread", "load_scorer"]

_NUMERIC = {"double", "float", "long", "integer"}
#: scikit-learn classifiers whose ``predict`` is the class of highest ``predict_proba``
_ARGMAX_OF_PROBA = {
    "sklearn.linear_model._logistic": {"LogisticRegression", "LogisticRegressionCV"},
    "sklearn.naive_bayes": {
        "GaussianNB", "MultinomialNB", "ComplementNB", "BernoulliNB", "CategoricalNB",
    },
    "sklearn.tree._classes": {"DecisionTreeClassifier", "ExtraTreeClassifier"},
    "sklearn.ensemble._forest": {"RandomForestClassifier", "ExtraTreesClassifier"},
    "sklearn.ensemble._gb": {"GradientBoostingClassifier"},
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting": {
        "HistGradientBoostingClassifier",
    },
    "sklearn.calibration": {"CalibratedClassifierCV"},
}  # fmt: skip
#: rows whose two highest probabilities are closer than this are asked of ``predict``
_NEAR_TIE = 1e-9


def _argmax_of_proba(model: Any) -> bool:
    """Whether ``model``'s class is by definition its most probable one (exact type match)."""
    kind = type(model)
    if kind.__module__ == "sklearn.pipeline" and kind.__name__ == "Pipeline":
        return _argmax_of_proba(model.steps[-1][1])
    return kind.__name__ in _ARGMAX_OF_PROBA.get(kind.__module__, ())


@dataclass
class Scorer:
    """A loaded version: the columns its signature needs and how a batch is scored.

    Attributes
    ----------
    model : object
        The version's native model.
    schema : mlflow.types.Schema or None
        Its input signature.
    columns : list of str or None
        The input columns it takes, in order (``None``: every column).
    classes : list or None
        Its classes, when it gives probabilities.
    shared : bool
        Whether a batch's classes are read off its probabilities (see the module).
    """

    model: Any
    schema: Any
    columns: list[str] | None
    classes: list[Any] | None
    shared: bool = False
    _checked: bool = field(default=False, init=False, repr=False)
    _numeric_dtypes: tuple[Any, ...] | None = field(default=None, init=False, repr=False)
    #: the signature's numeric columns and their kinds, in its order
    _numeric: list[tuple[str, str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        inputs = self.schema.inputs if self.schema is not None else []
        kinds = [(spec.name, getattr(getattr(spec, "type", None), "name", "")) for spec in inputs]
        self._numeric = [(name, kind) for name, kind in kinds if kind in _NUMERIC]

    def check(self, batch: pd.DataFrame, source: str) -> pd.DataFrame:
        """The model's input columns of ``batch``, checked against the signature.

        Raises
        ------
        InvalidInput
            A column the signature needs is missing or not numeric where it must be.
        """
        import pandas as pd

        if self.columns is None:
            return batch
        missing = [c for c in self.columns if c not in batch.columns]
        if missing:
            have = ", ".join(map(str, list(batch.columns)[:10]))
            raise InvalidInput(
                f"{source} lacks column(s) {', '.join(missing[:5])} the model needs "
                f"(columns: {have})"
            )
        if batch.columns.has_duplicates:
            twice = sorted({str(c) for c in batch.columns[batch.columns.duplicated()]})
            raise InvalidInput(
                f"{source} has column(s) {', '.join(twice[:5])} more than once; "
                "give each column once"
            )
        dtypes = batch.dtypes
        seen = tuple(dtypes[name] for name, _ in self._numeric)
        if seen != self._numeric_dtypes:  # checked once per set of those columns' types
            for name, kind in self._numeric:
                series = batch[name]
                if not (pd.api.types.is_numeric_dtype(series) or series.isna().all()):
                    raise InvalidInput(
                        f"{source}: column {name!r} is {series.dtype}, the model's "
                        f"signature needs {kind} numbers"
                    )
            if all(pd.api.types.is_numeric_dtype(d) for d in seen):
                self._numeric_dtypes = seen
        if list(batch.columns) == self.columns:
            return batch  # already the model's columns in its order: no copy
        return batch[self.columns]

    def score(self, X: pd.DataFrame) -> tuple[Any, Any]:
        """The predictions and, for a classifier, the probabilities of ``X``'s rows."""
        if self.classes is None:
            return self.model.predict(X), None
        proba = self.model.predict_proba(X)
        if not self.shared:
            return self.model.predict(X), proba
        predictions = self._from_proba(X, proba)
        if not self._checked:  # the first batch: both ways, compared
            self._checked = True
            asked = self.model.predict(X)
            if not _same(predictions, asked):
                self.shared = False
                return asked, proba
        return predictions, proba

    def _from_proba(self, X: pd.DataFrame, proba: Any) -> Any:
        import numpy as np

        values = np.asarray(proba)
        classes = np.asarray(self.classes)
        if values.ndim != 2 or values.shape[1] != len(classes):
            self.shared = False
            return self.model.predict(X)
        predictions = classes.take(np.argmax(values, axis=1))
        if values.shape[1] > 1:
            near = np.flatnonzero(_margin(values) < _NEAR_TIE)
            if len(near):
                predictions[near] = self.model.predict(X.iloc[near])
        return predictions


def _margin(values: Any) -> Any:
    """How far each row's highest probability is above its second highest."""
    import numpy as np

    if values.shape[1] == 2:
        return np.abs(values[:, 0] - values[:, 1])
    best = values.max(axis=1)
    rest = np.where(values == best[:, None], -np.inf, values).max(axis=1)
    return np.where(np.isneginf(rest), 0.0, best - rest)  # a tie at the top: margin 0


def _same(first: Any, second: Any) -> bool:
    import numpy as np

    a, b = np.asarray(first), np.asarray(second)
    return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b))


@contextlib.contextmanager
def blas_in_one_thread() -> Iterator[None]:
    """Keep BLAS (OpenBLAS, MKL, ...) to one thread for the block.

    Batch scoring's own threads (reading, writing, hashing) keep the cores busy, and a
    batch's products are small: BLAS threads, which spin waiting for the next call,
    only took CPU from them (10,000,000 rows through a logistic regression on two
    cores: about 2 s of CPU and of wall time). Libraries parallel by OpenMP (tree
    ensembles) keep their threads.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def load_scorer(path: Path) -> Scorer:
    """The :class:`Scorer` of the version downloaded at ``path``."""
    from mlflow.models import Model

    model = load_version(path, "native")
    schema = Model.load(str(path)).get_input_schema()
    columns: list[str] | None = None
    if schema is not None and schema.has_input_names():
        columns = [str(c) for c in schema.input_names()]
    elif getattr(model, "feature_names_in_", None) is not None:
        columns = [str(c) for c in model.feature_names_in_]
    classes = getattr(model, "classes_", None)
    if classes is None or not callable(getattr(model, "predict_proba", None)):
        return Scorer(model, schema, columns, None)
    if not hasattr(classes, "ndim") or classes.ndim != 1:  # several outputs: asked both
        return Scorer(model, schema, columns, list(classes))
    return Scorer(model, schema, columns, list(classes), shared=_argmax_of_proba(model))
