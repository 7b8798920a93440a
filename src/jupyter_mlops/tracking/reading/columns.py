"""Runs as columns: every matching run of some experiments, for wide tables and charts.

The runs table, parallel coordinates and scatter need all matching runs at once
(10,000 of them), but only a few of their values. :func:`runs_columns` answers
from the process-wide runs index (:func:`~.index.shared_index`) with one array
per field, so 10,000 runs × 8 values is a few hundred kilobytes of JSON, not the
megabytes of full run rows.

Examples
--------
>>> table = runs_columns(uri, ["1"], columns=["metrics.acc", "params.lr"])  # doctest: +SKIP
>>> table["columns"]["metrics.acc"][:3]                                      # doctest: +SKIP
[0.91, 0.88, None]
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ...errors import InvalidInput
from ...json_values import finite_or_none
from ..mlflow_bridge.store import mlflow_errors
from .frames import FILTER_HINT

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient

    from .index import RunRow, RunsIndex

__all__ = [
    "ANSWERS_KEPT",
    "COLUMN_KINDS",
    "MAX_COLUMNS",
    "MAX_ROWS",
    "AnswerCache",
    "column_getter",
    "nested_order",
    "runs_columns",
]

#: most runs one answer holds (the rest is counted in ``total``)
MAX_ROWS = 50_000
#: most value columns one answer may ask for
MAX_COLUMNS = 64
#: the prefixes a value column may have
COLUMN_KINDS = ("metrics", "params", "tags")
PARENT_TAG = "mlflow.parentRunId"
#: answers kept for reuse: the same query on an unchanged index is answered at once
ANSWERS_KEPT = 16
#: most values (rows × fields) all kept answers may hold together
ANSWER_CELLS = 4_000_000


class AnswerCache:
    """A thread-safe LRU of at most ``count`` entries and ``budget`` in summed sizes.

    The newest entry is kept even when it alone is over the budget.
    """

    def __init__(self, count: int, budget: int) -> None:
        self.count, self.budget = count, budget
        self._entries: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        """The value kept under ``key``, or ``None``."""
        with self._lock:
            hit = self._entries.get(key)
            if hit is None:
                return None
            self._entries.move_to_end(key)
            return hit[0]

    def put(self, key: Any, value: Any, size: int) -> None:
        """Keep ``value`` (of ``size``), dropping the least recently used over the bounds."""
        with self._lock:
            old = self._entries.pop(key, None)
            self._size += size - (old[1] if old else 0)
            self._entries[key] = (value, size)
            while len(self._entries) > 1 and (
                len(self._entries) > self.count or self._size > self.budget
            ):
                self._size -= self._entries.popitem(last=False)[1][1]


_answers = AnswerCache(ANSWERS_KEPT, ANSWER_CELLS)


def column_getter(column: str) -> Callable[[RunRow], Any]:
    """Return a function reading ``column`` (``metrics.acc``, ``params.lr``, ``tags.team``).

    Raises
    ------
    InvalidInput
        When the prefix is not one of :data:`COLUMN_KINDS` or the key is empty.
    """
    kind, _, key = column.partition(".")
    if kind not in COLUMN_KINDS or not key:
        raise InvalidInput(
            f"bad column {column!r}: write metrics.KEY, params.KEY or tags.KEY, e.g. metrics.acc"
        )
    if kind == "metrics":
        return lambda r: finite_or_none(r.metrics.get(key))
    if kind == "params":
        return lambda r: r.params.get(key)
    return lambda r: r.tags.get(key)


def _check(experiment_ids: Sequence[str], columns: Sequence[str], limit: int) -> None:
    if not experiment_ids:
        raise InvalidInput("give at least one experiment id, e.g. ?experiment_id=1")
    for exp in experiment_ids:
        if not exp.isdigit():
            raise InvalidInput(f"experiment_id must be a number, got {exp!r}; see GET experiments")
    if len(columns) > MAX_COLUMNS:
        raise InvalidInput(f"ask for at most {MAX_COLUMNS} columns, got {len(columns)}")
    if not 1 <= limit <= MAX_ROWS:
        raise InvalidInput(f"limit must be between 1 and {MAX_ROWS}, got {limit}")


def runs_columns(
    tracking_uri: str,
    experiment_ids: Sequence[str],
    client: MlflowClient | None = None,
    filter_string: str = "",
    order_by: Sequence[str] | None = None,
    columns: Sequence[str] = (),
    limit: int = MAX_ROWS,
    *,
    nested: bool = False,
) -> dict[str, Any]:
    """Return the matching runs as columns, in order, with the keys present for pickers.

    Parameters
    ----------
    tracking_uri : str
    experiment_ids : sequence of str
        Experiments whose runs are listed; at least one.
    client : MlflowClient, optional
        Client for non-SQL stores (the index opens one otherwise).
    filter_string : str
        MLflow search syntax, e.g. ``"metrics.acc > 0.8"``.
    order_by : sequence of str, optional
        E.g. ``["metrics.acc DESC"]``; default newest first.
    columns : sequence of str
        Value columns wanted: ``metrics.KEY``, ``params.KEY``, ``tags.KEY``.
    limit : int
        Most runs returned, 1 to :data:`MAX_ROWS`.
    nested : bool
        Runs in display order (each run's nested runs right after it, see
        :func:`nested_order`) before ``limit`` applies, so a first page holds the
        top of the grouped table.

    Returns
    -------
    dict
        ``{"total", "truncated", "version", "keys": {"metrics", "params", "tags"},
        "runs": {"run_id", "name", "status", "start_time", "end_time", "experiment_id",
        "parent_id": [...]}, "columns": {column: [...]}, "nonfinite": [column, ...]}`` —
        every array in the same order; ``nonfinite`` names the metric columns where a
        NaN or infinity was sent as ``null``. The same query on an unchanged index
        returns the same (cached) dict: do not mutate it.
    """
    from .index import shared_index

    ids = [str(e) for e in experiment_ids]
    wanted = list(dict.fromkeys(c for c in columns if c))
    _check(ids, wanted, limit)
    for column in wanted:
        column_getter(column)  # a bad column fails before any work
    order = list(order_by or ())
    index = shared_index(tracking_uri, ids, client)
    with mlflow_errors("list runs", FILTER_HINT):
        version, matched = index.versioned_rows(filter_string, order or None)
    key = (tracking_uri, tuple(sorted(ids)), version, filter_string.strip(), tuple(order),
           tuple(wanted), limit, nested)  # fmt: skip
    answer: dict[str, Any] | None = _answers.get(key)
    if answer is None:
        answer = _answer(index, version, matched, wanted, limit, nested)
        _answers.put(key, answer, len(answer["runs"]["run_id"]) * (7 + len(wanted)))
    return answer


def _answer(
    index: RunsIndex,
    version: int,
    matched: list[RunRow],
    wanted: list[str],
    limit: int,
    nested: bool,
) -> dict[str, Any]:
    if nested:
        parents = [r.tags.get(PARENT_TAG) for r in matched]
        shown = nested_order([r.run_id for r in matched], parents, limit)
        rows = [matched[i] for i, _ in shown]
    else:
        rows = matched[:limit]
    values = {c: _values(rows, c) for c in wanted}
    return {
        "total": len(matched),
        "truncated": len(rows) < len(matched),
        "version": version,
        "keys": index.keys(),
        "runs": _fixed_columns(rows),
        "columns": {c: v for c, (v, _) in values.items()},
        "nonfinite": [c for c, (_, cut) in values.items() if cut],
    }


def _values(rows: Sequence[RunRow], column: str) -> tuple[list[Any], bool]:
    """The values of ``column``, and whether non-finite metrics were sent as ``None``."""
    kind, _, key = column.partition(".")
    if kind != "metrics":
        return [getattr(r, kind).get(key) for r in rows], False
    values = [r.metrics.get(key) for r in rows]
    if all(v is None or math.isfinite(v) for v in values):
        return values, False
    return [finite_or_none(v) for v in values], True


def _fixed_columns(rows: Sequence[RunRow]) -> dict[str, list[Any]]:
    return {
        "run_id": [r.run_id for r in rows],
        "name": [r.name for r in rows],
        "status": [r.status for r in rows],
        "start_time": [r.start_time for r in rows],
        "end_time": [r.end_time for r in rows],
        "experiment_id": [r.experiment_id for r in rows],
        "parent_id": [r.tags.get(PARENT_TAG) for r in rows],
    }


def nested_order(
    run_ids: Sequence[str], parent_ids: Sequence[str | None], limit: int | None = None
) -> list[tuple[int, int]]:
    """Display order of runs grouped under their parent: ``(index, depth)`` pairs.

    Children follow their parent in the given order, at any depth; a run whose parent
    is not among ``run_ids`` is shown at the top level, and so is one run of any
    cycle of parent links. With ``limit``, only the first ``limit`` pairs are made.
    """
    limit = len(run_ids) if limit is None else limit
    position = {rid: i for i, rid in enumerate(run_ids)}
    children: dict[int, list[int]] = {}
    roots: list[int] = []
    for i, parent in enumerate(parent_ids):
        p = position.get(parent) if parent and parent != run_ids[i] else None
        if p is None:
            roots.append(i)
        else:
            children.setdefault(p, []).append(i)
    out: list[tuple[int, int]] = []
    seen: set[int] = set()

    def visit(start: int) -> None:
        stack = [(start, 0)]
        while stack and len(out) < limit:
            i, depth = stack.pop()
            if i not in seen:
                seen.add(i)
                out.append((i, depth))
                stack.extend((k, depth + 1) for k in reversed(children.get(i, [])))

    # roots first; then the runs no root reaches (those in a cycle of parent links)
    for start in itertools.chain(roots, range(len(run_ids))):
        if len(out) >= limit:
            break
        if start not in seen:
            visit(start)
    return out
