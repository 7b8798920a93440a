"""Public functions of a model in production: batch scoring and label feedback.

Examples
--------
>>> import jupyter_mlops as mlops
>>> scores = mlops.predict("churn@production", "customers@v7")  # doctest: +SKIP
>>> mlops.feedback("churn", labels)                             # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .prediction_log import FeedbackResult

__all__ = ["feedback", "predict"]


def predict(
    ref: str,
    data: Any,
    *,
    output: str | None = None,
    id_column: str | None = None,
    batch_size: int = 100_000,
    experiment: str | None = None,
) -> pd.DataFrame:
    """Score a file, a folder, a snapshot or a DataFrame with a registered version, as a run.

    The input is scored batch by batch; the run (named ``predict <model>``)
    records the version, the input (a snapshot as a dataset input, a file by its
    content digest), rows, time and drift against the version's training
    snapshot, and every prediction goes to the prediction log with role
    ``batch``, so labels sent later with :func:`feedback` give the batch's accuracy.

    Parameters
    ----------
    ref : str
        ``name@alias``, ``name/3`` or ``name``.
    data : str, PathLike or DataFrame
        A ``.csv``/``.parquet`` file or folder (any fsspec URL), a snapshot ref
        (``customers@v7``) or a DataFrame.
    output : str, optional
        Also write the scores to this ``.parquet`` or ``.csv`` file.
    id_column : str, optional
        Column naming each row; copied to the result and used as the request id
        of the prediction log. Without it the result has ``row`` and ``request_id``.
    batch_size : int
        Rows scored at a time.
    experiment : str, optional
        Experiment of the run.

    Returns
    -------
    DataFrame
        The id (or ``row`` and ``request_id``), ``prediction``, ``proba_<class>``
        when the model has probabilities, and ``model_version``; ``.attrs["mlops"]``
        holds the run summary (``run_id``, ``rows``, ``share_drifted``, ...).

    Examples
    --------
    >>> scores = mlops.predict("churn@production", "customers@v7")  # doctest: +SKIP
    >>> scores.attrs["mlops"]["run_id"]  # doctest: +SKIP
    """
    from .batch_scoring import score

    result = score(
        ref, data, output=output, id_column=id_column, batch_size=batch_size,
        experiment=experiment, collect=True,
    )  # fmt: skip
    frame = result.frame
    frame.attrs["mlops"] = result.to_dict()
    return frame


def feedback(
    name: str, labels: Any, id_column: str = "request_id", label_column: str = "label"
) -> FeedbackResult:
    """Record true labels of served (or batch-scored) predictions of model ``name``.

    Each row of ``labels`` names a request id (as ``jupyter mlops serve`` returned it
    in ``X-Request-Id``) and its label. Labels may come late, out of order or twice
    (the last one wins); ids the prediction log does not hold are counted in
    ``unknown``. The batch is checked whole before anything is written.

    Parameters
    ----------
    name : str
        Registered model.
    labels : DataFrame
        With columns ``id_column`` and ``label_column``.

    Returns
    -------
    FeedbackResult
        ``received``, ``stored`` (distinct ids) and ``unknown``.

    Examples
    --------
    >>> labels = pd.DataFrame({"request_id": ids, "label": y_true})  # doctest: +SKIP
    >>> mlops.feedback("churn", labels)                               # doctest: +SKIP
    FeedbackResult(received=100, stored=100, unknown=0)
    """
    from .feedback import record_feedback

    return record_feedback(name, labels, id_column=id_column, label_column=label_column)
