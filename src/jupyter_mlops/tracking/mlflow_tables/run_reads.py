"""Reading runs straight from an embedded SQLite store, without importing MLflow.

A command line that only lists runs should not spend seconds importing MLflow
before it reads a few rows. For the embedded store (``sqlite:///...``) this module
reads MLflow's tables with the standard library's :mod:`sqlite3`, read-only, and
returns the very records ``MlflowClient.search_runs`` would (same runs, same order,
latest metric values, params). It answers only what it can answer exactly:

- the store is one this package was tested with (:func:`.contract.mismatch`: MLflow's
  release, the columns of the tables read, no workspaces);
- no filter, and the default order (newest first, MLflow's tie-break on run id);
- the experiments exist already (the MLflow path creates a missing default one).

Anything else returns ``None`` and the caller takes MLflow's own path.

Examples
--------
>>> rows = read_runs(settings, ["churn"], max_results=10)  # doctest: +SKIP
>>> rows is None or rows[0].run_id                         # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ..mlflow_bridge.store import sqlite_path
from .contract import fast_path_off, mismatch, sqlite_columns

if TYPE_CHECKING:  # pragma: no cover
    from ...config import Settings

__all__ = [
    "ActiveRun",
    "DatasetInput",
    "RunRecord",
    "active_experiment_id",
    "active_run",
    "finished_runs_tagged",
    "read_runs",
]

T = TypeVar("T")

#: the tables read here
_TABLES = (
    *("experiments", "runs", "params", "latest_metrics", "tags"),
    *("inputs", "datasets", "input_tags"),
)
_DEFAULT_ORDERS = ((), ("attributes.start_time DESC",), ("start_time DESC",))


@dataclass
class RunRecord:
    """The fields of a run that listings show."""

    run_id: str
    name: str | None
    status: str
    start_time: int
    end_time: int | None
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetInput:
    """A dataset a run logged as an input: name, digest and the input's tags."""

    name: str
    digest: str
    tags: dict[str, str]


def _connect(path: Path) -> sqlite3.Connection | None:
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return None
    conn.execute("PRAGMA query_only = 1")
    return conn


@contextlib.contextmanager
def _tested_store(settings: Settings) -> Iterator[sqlite3.Connection | None]:
    """A read-only connection to an embedded store of the tested shape, else ``None``."""
    path = sqlite_path(settings.tracking_uri)
    conn = _connect(path) if path is not None else None
    if conn is None:
        yield None
        return
    try:
        reason = mismatch(sqlite_columns(conn), _TABLES)
        if reason is not None:
            fast_path_off(str(path), reason, "runs are read")
        yield conn if reason is None else None
    finally:
        conn.close()


def _read(settings: Settings, read: Callable[[sqlite3.Connection], T | None]) -> T | None:
    """``read(conn)`` on an embedded store of the tested shape; ``None`` when MLflow must answer.

    Another store or revision, a locked or changing database (``sqlite3.Error``) and an
    id SQLite cannot take (``ValueError``) all leave the answer to MLflow.
    """
    try:
        with _tested_store(settings) as conn:
            return read(conn) if conn is not None else None
    except (sqlite3.Error, ValueError):
        return None


def active_experiment_id(settings: Settings, name: str) -> str | None:
    """Id of the active experiment ``name``; ``None`` when missing, deleted or MLflow must say."""
    ids = _read(settings, lambda conn: _experiment_ids(conn, [name]))
    return str(ids[0]) if ids else None


@dataclass(frozen=True)
class ActiveRun:
    """What a process attaching to a run needs of it: ids, name, start, params."""

    run_id: str
    experiment_id: str
    name: str
    start_time: int
    params: dict[str, str]


def active_run(settings: Settings, run_id: str) -> ActiveRun | None:
    """The active (not deleted) run ``run_id``; ``None`` when missing or MLflow must say."""

    def read(conn: sqlite3.Connection) -> ActiveRun | None:
        row = conn.execute(
            "SELECT experiment_id, name, start_time FROM runs "
            "WHERE run_uuid = ? AND lifecycle_stage = 'active'",
            (run_id,),
        ).fetchone()
        if row is None:
            return None
        params = conn.execute("SELECT key, value FROM params WHERE run_uuid = ?", (run_id,))
        return ActiveRun(run_id, str(row[0]), row[1] or "", row[2] or 0, dict(params))

    return _read(settings, read)


def finished_runs_tagged(
    settings: Settings, experiment_id: str, key: str, value: str, limit: int
) -> list[tuple[str, list[DatasetInput]]] | None:
    """FINISHED active runs tagged ``key = value``, newest first, with their dataset inputs.

    What ``search_runs`` answers for ``tags.`key` = 'value' and attributes.status =
    'FINISHED'`` ordered by start time; ``None`` when MLflow must answer.
    """

    def read(conn: sqlite3.Connection) -> list[tuple[str, list[DatasetInput]]]:
        found = conn.execute(
            "SELECT r.run_uuid FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid "
            "WHERE r.experiment_id = ? AND r.status = 'FINISHED' "
            "AND r.lifecycle_stage = 'active' AND t.key = ? AND t.value = ? "
            "ORDER BY r.start_time DESC, r.run_uuid ASC LIMIT ?",
            (int(experiment_id), key, value, limit),
        ).fetchall()
        return [(run_id, _dataset_inputs(conn, run_id)) for (run_id,) in found]

    return _read(settings, read)


def _dataset_inputs(conn: sqlite3.Connection, run_id: str) -> list[DatasetInput]:
    rows = conn.execute(
        "SELECT i.input_uuid, d.name, d.digest, t.name, t.value FROM inputs i "
        "JOIN datasets d ON d.dataset_uuid = i.source_id "
        "LEFT JOIN input_tags t ON t.input_uuid = i.input_uuid "
        "WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN' "
        "AND i.destination_id = ?",
        (run_id,),
    ).fetchall()
    inputs: dict[str, DatasetInput] = {}
    for input_id, name, digest, tag, value in rows:
        item = inputs.setdefault(input_id, DatasetInput(name, digest, {}))
        if tag is not None:
            item.tags[tag] = value
    return list(inputs.values())


def read_runs(
    settings: Settings,
    experiments: list[str],
    *,
    filter_string: str = "",
    order_by: list[str] | None = None,
    max_results: int = 100,
) -> list[RunRecord] | None:
    """Runs of ``experiments`` (names), newest first; ``None`` when MLflow must answer.

    Parameters
    ----------
    settings : Settings
        Where the store is; only ``sqlite:`` tracking URIs are read here.
    experiments : list of str
        Experiment names (all must exist).
    filter_string, order_by : optional
        Only the empty filter and the default order are answered here.
    max_results : int
        At most this many runs.
    """
    if filter_string.strip() or tuple(order_by or ()) not in _DEFAULT_ORDERS:
        return None

    def read(conn: sqlite3.Connection) -> list[RunRecord] | None:
        ids = _experiment_ids(conn, experiments)
        return None if ids is None else _runs(conn, ids, max_results)

    return _read(settings, read)


def _experiment_ids(conn: sqlite3.Connection, names: list[str]) -> list[int] | None:
    ids = []
    for name in names:
        row = conn.execute(
            "SELECT experiment_id FROM experiments WHERE name = ? AND lifecycle_stage = 'active'",
            (name,),
        ).fetchone()
        if row is None:
            return None
        ids.append(int(row[0]))
    return ids


def _runs(conn: sqlite3.Connection, experiment_ids: list[int], limit: int) -> list[RunRecord]:
    marks = ",".join("?" * len(experiment_ids))
    found = conn.execute(
        "SELECT run_uuid, name, status, start_time, end_time FROM runs "
        f"WHERE experiment_id IN ({marks}) AND lifecycle_stage = 'active' "
        "ORDER BY start_time DESC, run_uuid ASC LIMIT ?",
        (*experiment_ids, limit),
    ).fetchall()
    records = {r[0]: RunRecord(r[0], r[1], r[2], r[3], r[4]) for r in found}
    if not records:
        return []
    ids = tuple(records)
    marks = ",".join("?" * len(ids))
    metrics = f"SELECT run_uuid, key, value, is_nan FROM latest_metrics WHERE run_uuid IN ({marks})"
    for run_id, key, value, is_nan in conn.execute(metrics, ids):
        records[run_id].metrics[key] = math.nan if is_nan else float(value)
    params = f"SELECT run_uuid, key, value FROM params WHERE run_uuid IN ({marks})"
    for run_id, key, value in conn.execute(params, ids):
        records[run_id].params[key] = value
    return list(records.values())
