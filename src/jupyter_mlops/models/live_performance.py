"""Live performance of a model over time, per version and role, from its prediction log.

What the Models views chart (champion against challenger): for each version and role that
served, its requests, labels, label coverage and feedback metrics over the last labelled rows,
and the same figures per time bucket across the span of the log's recent rows (every version
shares the buckets, so their lines line up).
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from ..json_values import finite_or_none
from .prediction_log import DEFAULT_WINDOW, open_log

if TYPE_CHECKING:  # pragma: no cover
    from ..config import Settings

__all__ = ["DEFAULT_BUCKETS", "READ_ROWS", "performance_over_time"]

#: time buckets of the series
DEFAULT_BUCKETS = 12
#: newest logged rows read for the series (the summary counts every labelled row)
READ_ROWS = 200_000
_MAX_BUCKETS = 200


def performance_over_time(
    name: str,
    *,
    window: int = DEFAULT_WINDOW,
    buckets: int = DEFAULT_BUCKETS,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Live performance of model ``name`` per version and role, overall and over time.

    Parameters
    ----------
    name : str
        A registered model (:class:`~jupyter_mlops.errors.NotFound` listing the known ones).
    window : int
        Last labelled rows per version and role behind the ``metrics`` (as ``serve`` uses).
    buckets : int
        Time buckets of each ``series``, 1 to 200.

    Returns
    -------
    dict
        ``model``, ``window``, ``buckets`` (each bucket's ``start`` and ``end``, ISO 8601
        UTC) and ``versions``: per version and role, ``version``, ``role``, ``task``,
        ``requests`` (rows logged among the newest read), ``labels`` (labelled rows, all),
        ``coverage`` (labelled share of ``requests``), ``metrics`` (over the window) and
        ``series``: per bucket ``requests``, ``labels``, ``coverage`` and ``metrics``.
    """
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise InvalidInput(f"window {window!r} must be a whole number >= 1, e.g. 1000")
    if isinstance(buckets, bool) or not isinstance(buckets, int) or not 0 < buckets <= _MAX_BUCKETS:
        raise InvalidInput(f"buckets {buckets!r} must be a whole number from 1 to 200, e.g. 12")
    settings = _registered_store(name, settings)
    log = open_log(name, settings=settings)
    try:
        rows = log.predictions(last=READ_ROWS)
        edges = _edges(rows["time"].tolist(), buckets)
        summaries = {(p.version, p.role): p for p in log.performance(window)}
        versions = [
            _version(log, rows, edges, version, role, summaries.get((version, role)), window)
            for version, role in log.served()
        ]
    finally:
        log.close()
    return {
        "model": name,
        "window": window,
        "buckets": [{"start": _iso(a), "end": _iso(b)} for a, b in itertools.pairwise(edges)],
        "versions": versions,
    }


def _registered_store(name: str, settings: Settings | None) -> Settings:
    """The store to read (default: the session's), once ``name`` is known to be registered."""
    from ..tracking.api import tracker
    from ..tracking.mlflow_bridge.store import open_client
    from .refs import registered

    settings = settings or tracker().settings
    registered(open_client(settings), name)
    return settings


def _edges(times: list[float], buckets: int) -> list[float]:
    """``buckets + 1`` bucket edges over the span of ``times`` (none when nothing is logged)."""
    if not times:
        return []
    first, last = min(times), max(times)
    if last <= first:
        last = first + 1.0
    step = (last - first) / buckets
    return [first + step * k for k in range(buckets)] + [last]


def _bucket_of(moment: float, edges: list[float]) -> int:
    span = edges[-1] - edges[0]
    k = int((moment - edges[0]) / span * (len(edges) - 1))
    return min(max(k, 0), len(edges) - 2)


def _version(
    log: Any,
    rows: Any,
    edges: list[float],
    version: str,
    role: str,
    summary: Any,
    window: int,
) -> dict[str, Any]:
    from .live_metrics import compute, infer_task

    mine = rows[(rows["version"] == version) & (rows["role"] == role)]
    times = dict(zip(mine["id"].tolist(), mine["time"].tolist(), strict=True))
    labelled = log.labelled(version, role, max(window, len(mine)))
    task = summary.task if summary else None
    if task is None and len(labelled):
        task = infer_task(labelled["prediction"].tolist(), labelled["label"].tolist())
    count = len(edges) - 1 if edges else 0
    requests = [0] * count
    for moment in mine["time"].tolist():
        requests[_bucket_of(moment, edges)] += 1
    pairs: list[tuple[list[Any], list[Any]]] = [([], []) for _ in range(count)]
    for key, predicted, label in zip(
        labelled["id"].tolist(), labelled["prediction"].tolist(), labelled["label"].tolist(),
        strict=True,
    ):  # fmt: skip
        if key in times:
            predictions, labels = pairs[_bucket_of(times[key], edges)]
            predictions.append(predicted)
            labels.append(label)
    series = [
        {
            "requests": requests[k],
            "labels": len(pairs[k][1]),
            "coverage": _share(len(pairs[k][1]), requests[k]),
            "metrics": _finite(compute(task, *pairs[k]) if task and pairs[k][1] else {}),
        }
        for k in range(count)
    ]
    labels_total = int(summary.labels) if summary else 0
    return {
        "version": version,
        "role": role,
        "task": task,
        "requests": len(mine),
        "labels": labels_total,
        "coverage": _share(sum(len(p[1]) for p in pairs), len(mine)),
        "metrics": _finite(summary.metrics) if summary else {},
        "series": series,
    }


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _finite(metrics: dict[str, Any]) -> dict[str, float | None]:
    return {k: finite_or_none(v) for k, v in metrics.items()}


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).isoformat()
