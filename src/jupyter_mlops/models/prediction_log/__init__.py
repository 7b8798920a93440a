"""The durable, bounded prediction log of a model and the labels joined to it.

Every prediction a model makes in production (the scoring server's answers, its
challenger's shadow answers, batch scoring) is one row keyed by a request id:
time, version, role, the prediction and the input row. Labels arrive later,
keyed by the same ids, and the log joins them into live performance per version
(:mod:`.live_metrics`).

The log lives with the store, in ``<root>/.mlops/predictions.db`` (SQLite in WAL
mode), so it survives restarts and is shared by every process that serves or
scores the model: each process appends its own rows, and readers see them all.
It keeps the last ``limit`` rows per model (default :data:`DEFAULT_LIMIT`).

Service API (pure Python, no server needed)::

    log = open_log("churn")                       # PredictionLog of one model
    log.append("3", "champion", ids, inputs, predictions)
    result = log.add_labels(ids, labels)          # FeedbackResult: stored, unknown
    log.performance(window=1000)                  # [VersionPerformance] per version and role
    log.labelled("3", "champion", window=1000)    # DataFrame: id, prediction, label, ...
    log.recent_inputs("3", 1000)                  # the last input rows of a version
    writer = LogWriter(log)                       # appends off the caller's thread
    writer.append(...); writer.flush(); writer.close()

``inputs`` is a DataFrame, a 2-D array or ``None``; ``predictions`` one value per
row (a 2-D output keeps its first column). Ids are strings (others are turned
into text); the same id may be logged by several versions (shadow mode), and a
label joins every row with its id. Labels may come late, out of order and twice
(the last one wins); a label for an id the log does not hold is counted as
unknown and kept for a while, so a label racing its prediction still joins.
"""

from __future__ import annotations

from .log import (
    CHALLENGER,
    CHAMPION,
    DEFAULT_LIMIT,
    DEFAULT_WINDOW,
    FeedbackResult,
    PredictionLog,
    VersionPerformance,
    database_path,
    open_log,
)
from .rows import new_ids
from .writer import LogWriter

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "DEFAULT_LIMIT",
    "DEFAULT_WINDOW",
    "FeedbackResult",
    "LogWriter",
    "PredictionLog",
    "VersionPerformance",
    "database_path",
    "new_ids",
    "open_log",
]
