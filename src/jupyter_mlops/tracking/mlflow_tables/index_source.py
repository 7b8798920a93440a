"""The runs index's SQL source: MLflow's tables read directly (read-only) from a SQL store.

Reads the ``runs``, ``latest_metrics``, ``params``, ``tags`` and ``inputs``/``datasets`` tables
of a store of the tested shape (checked by
:func:`~jupyter_mlops.tracking.reading.index.sources.open_source` with :func:`store_mismatch`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ...errors import InvalidInput
from ..mlflow_bridge.store import mlflow_errors, sqlite_path
from ..reading.run_rows import CHUNK, DATASET_CONTEXT_TAG, UNFINISHED, UNINDEXED_TAGS, RunRow
from .contract import mismatch, sqlalchemy_columns

__all__ = ["SqlSource", "store_mismatch"]

#: the tables read here
_TABLES = ("runs", "latest_metrics", "params", "tags", "inputs", "datasets", "input_tags")


# -- SQL stores ------------------------------------------------------------------------
_RUNS_SQL = (
    "SELECT run_uuid, name, status, start_time, end_time, experiment_id, user_id, "
    "artifact_uri FROM runs WHERE lifecycle_stage = 'active' AND experiment_id IN :exps"
)
_SCOPE = (
    "JOIN runs r ON r.run_uuid = x.run_uuid "
    "WHERE r.lifecycle_stage = 'active' AND r.experiment_id IN :exps"
)
_TAG_SKIP = "x.key NOT IN :skip"
_DATA_SQL = {
    "metrics": "SELECT x.run_uuid, x.key, x.value, x.is_nan FROM latest_metrics x",
    "params": "SELECT x.run_uuid, x.key, x.value FROM params x",
    "tags": "SELECT x.run_uuid, x.key, x.value FROM tags x",
}
_DATASETS_SQL = (
    "SELECT i.destination_id, d.name, d.digest, "
    "(SELECT t.value FROM input_tags t WHERE t.input_uuid = i.input_uuid AND t.name = :ctx) "
    "FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id "
    "WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN' AND i.destination_id IN {ids}"
)
_IN_SCOPE = (
    "(SELECT run_uuid FROM runs WHERE lifecycle_stage = 'active' AND experiment_id IN :exps)"
)


class SqlSource:
    """Reads MLflow's tables directly (read-only) from a SQL tracking store."""

    def __init__(self, tracking_uri: str, experiment_ids: Sequence[str]) -> None:
        self._uri = tracking_uri
        self._exps = [_sql_experiment_id(e) for e in experiment_ids]
        self._engine: Any = None
        self._conn: Any = None
        self._data_version: int | None = None
        #: run-table tuples of the last scan, to spot changed runs without building rows
        self._infos: dict[str, tuple[Any, ...]] = {}

    def _connection(self) -> Any:
        if self._conn is None:
            import sqlalchemy as sa

            db = sqlite_path(self._uri)
            if db is not None:
                # the same connection across refreshes makes PRAGMA data_version meaningful
                self._engine = sa.create_engine(
                    f"sqlite:///{db}",
                    connect_args={"timeout": 60, "check_same_thread": False},
                    poolclass=sa.pool.StaticPool,
                )
            else:
                self._engine = sa.create_engine(self._uri, pool_pre_ping=True)
            self._conn = self._engine.connect()
            if db is not None:
                self._conn.exec_driver_sql("PRAGMA query_only = ON")
        return self._conn

    def close(self) -> None:
        """Close the connection and dispose of the engine."""
        if self._conn is not None:
            self._conn.close()
            self._engine.dispose()
            self._conn = self._engine = None

    def _unchanged_since_last_look(self) -> bool:
        if sqlite_path(self._uri) is None:
            return False
        version = self._connection().exec_driver_sql("PRAGMA data_version").scalar()
        same = version == self._data_version
        self._data_version = version
        return same

    def sync(self, previous: dict[str, RunRow], full: bool) -> dict[str, RunRow] | None:
        """Re-read new, changed and unfinished runs (all runs when ``full``)."""
        with mlflow_errors("read the runs index from the tracking store"):
            conn = self._connection()
            try:
                unchanged = self._unchanged_since_last_look()
                if unchanged and not full and previous:
                    return None
                rows = self._sync(conn, previous, full)
            finally:
                conn.rollback()
        return rows

    def _sync(self, conn: Any, previous: dict[str, RunRow], full: bool) -> dict[str, RunRow] | None:
        scanned = {r[0]: tuple(r) for r in self._query(conn, _RUNS_SQL, exps=self._exps)}
        # compare raw run-table tuples: no row objects are built for unchanged runs
        stale = [
            rid
            for rid, info in scanned.items()
            if full
            or rid not in previous
            or self._infos.get(rid) != info
            or previous[rid].status in UNFINISHED
        ]
        if not stale and len(scanned) == len(previous) and self._counts_match(conn, previous):
            return None
        fresh = {rid: _row_of_info(scanned[rid]) for rid in stale}
        self._fill(conn, fresh, len(stale) > len(scanned) // 2)
        current = {rid: fresh.get(rid) or previous[rid] for rid in scanned}
        if not full and not self._counts_match(conn, current):
            return self._sync(conn, previous, full=True)
        self._infos = scanned
        return current

    def _query(self, conn: Any, sql: str, **binds: Any) -> Any:
        import sqlalchemy as sa

        stmt = sa.text(sql)
        for name, value in binds.items():
            expanding = isinstance(value, (list, tuple))
            stmt = stmt.bindparams(sa.bindparam(name, value=value, expanding=expanding))
        # fetchall is several times faster than iterating a Result row by row
        return conn.execute(stmt).all()

    def _fill(self, conn: Any, rows: dict[str, RunRow], most: bool) -> None:
        if not rows:
            return
        if most:  # first build: one scoped query per table beats thousands of ids
            self._fill_where(conn, rows, _SCOPE, exps=self._exps)
            self._fill_datasets(conn, rows, _IN_SCOPE, exps=self._exps)
            return
        ids = list(rows)
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i : i + CHUNK]
            self._fill_where(conn, rows, "WHERE x.run_uuid IN :ids", ids=chunk)
            self._fill_datasets(conn, rows, ":ids", ids=chunk)

    def _fill_where(self, conn: Any, rows: dict[str, RunRow], where: str, **binds: Any) -> None:
        for rid, key, value, is_nan in self._query(
            conn, f"{_DATA_SQL['metrics']} {where}", **binds
        ):
            if rid in rows:
                rows[rid].metrics[key] = math.nan if is_nan else float(value)
        for rid, key, value in self._query(conn, f"{_DATA_SQL['params']} {where}", **binds):
            if rid in rows:
                rows[rid].params[key] = value
        tag_sql = f"{_DATA_SQL['tags']} {where} AND {_TAG_SKIP}"
        for rid, key, value in self._query(conn, tag_sql, skip=UNINDEXED_TAGS, **binds):
            if rid in rows:
                rows[rid].tags[key] = value or ""

    def _fill_datasets(self, conn: Any, rows: dict[str, RunRow], where: str, **binds: Any) -> None:
        found: dict[str, list[tuple[str, str, str]]] = {}
        sql = _DATASETS_SQL.format(ids=where)
        for rid, name, digest, ctx in self._query(conn, sql, ctx=DATASET_CONTEXT_TAG, **binds):
            found.setdefault(rid, []).append((name, digest, ctx or ""))
        for rid, items in found.items():
            if rid in rows:
                rows[rid].datasets = tuple(items)

    def _counts_match(self, conn: Any, rows: dict[str, RunRow]) -> bool:
        sql = (
            f"SELECT (SELECT count(*) FROM latest_metrics x {_SCOPE}), "
            f"(SELECT count(*) FROM params x {_SCOPE}), "
            f"(SELECT count(*) FROM tags x {_SCOPE} AND {_TAG_SKIP})"
        )
        counts = tuple(self._query(conn, sql, exps=self._exps, skip=UNINDEXED_TAGS)[0])
        held = (
            sum(len(r.metrics) for r in rows.values()),
            sum(len(r.params) for r in rows.values()),
            sum(len(r.tags) for r in rows.values()),
        )
        return counts == held


def _row_of_info(info: tuple[Any, ...]) -> RunRow:
    rid, name, status, start, end, exp, user, art = info
    return RunRow(rid, name or "", str(exp), status, start or 0, end, user or "", art or "")


def _sql_experiment_id(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"experiment id {value!r} is not a number; give ids as MLflow shows them, e.g. '1'"
        ) from None


def store_mismatch(uri: str) -> str | None:
    """Why the SQL store at ``uri`` must be read through MLflow (``None``: read it directly)."""
    import sqlalchemy as sa

    db = sqlite_path(uri)
    engine = sa.create_engine(f"sqlite:///{db}" if db is not None else uri)
    try:
        with engine.connect() as conn:
            return mismatch(sqlalchemy_columns(conn), _TABLES)
    except Exception as exc:
        return f"the store could not be inspected ({type(exc).__name__})"
    finally:
        engine.dispose()
