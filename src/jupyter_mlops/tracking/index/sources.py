"""Where the runs index reads runs: MLflow's SQL tables directly, or ``search_runs``."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ...errors import InvalidInput
from ..sqlite_reader import TESTED_REVISIONS
from ..store import mlflow_errors, sqlite_path
from .rows import CHUNK, DATASET_CONTEXT_TAG, UNFINISHED, UNINDEXED_TAGS, RunRow

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient

log = logging.getLogger("jupyter_mlops")


class Source(Protocol):
    """Where an index reads runs from."""

    def sync(self, previous: dict[str, RunRow], full: bool) -> dict[str, RunRow] | None:
        """Return the current rows, reusing unchanged ``previous`` ones; ``None`` if unchanged."""

    def close(self) -> None:
        """Release connections."""


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


# -- any tracking server: MLflow's search API ------------------------------------------
class SearchSource:
    """Reads runs with ``search_runs`` ordered by start time, a tracking server's fast path."""

    def __init__(self, client: MlflowClient, experiment_ids: Sequence[str]) -> None:
        self._client = client
        self._exps = list(experiment_ids)

    def close(self) -> None:
        """Nothing to release."""

    def sync(self, previous: dict[str, RunRow], full: bool) -> dict[str, RunRow] | None:
        """Fetch every run when ``full``, else new runs and unfinished ones."""
        if full or not previous:
            return {r.run_id: r for r in self._search("")}
        newest = max(r.start_time for r in previous.values())
        fresh = list(self._search(f"attributes.start_time >= {newest}"))
        open_ids = [rid for rid, r in previous.items() if r.status in UNFINISHED]
        for i in range(0, len(open_ids), 100):
            quoted = ", ".join(f"'{rid}'" for rid in open_ids[i : i + 100])
            fresh.extend(self._search(f"attributes.run_id IN ({quoted})"))
        current = dict(previous)
        changed = False
        for row in fresh:
            old = current.get(row.run_id)
            if old is None or _row_state(old) != _row_state(row):
                current[row.run_id] = row
                changed = True
        return current if changed else None

    def _search(self, filter_string: str) -> Iterable[RunRow]:
        from mlflow.entities import ViewType

        token = None
        while True:
            with mlflow_errors("read runs for the runs index"):
                found = self._client.search_runs(
                    self._exps,
                    filter_string,
                    ViewType.ACTIVE_ONLY,
                    max_results=1000,
                    order_by=["attributes.start_time DESC"],
                    page_token=token,
                )
            yield from (_row_of_run(run) for run in found)
            token = found.token
            if not token:
                return


def _row_state(row: RunRow) -> tuple[Any, ...]:
    return (*row.info_key, row.metrics, row.params, row.tags, row.datasets)


def _row_of_run(run: Any) -> RunRow:
    info, data = run.info, run.data
    inputs = getattr(getattr(run, "inputs", None), "dataset_inputs", None) or []
    datasets = tuple(
        (
            d.dataset.name,
            d.dataset.digest,
            next((t.value for t in d.tags or [] if t.key == DATASET_CONTEXT_TAG), ""),
        )
        for d in inputs
    )
    return RunRow(
        run_id=info.run_id,
        name=info.run_name or "",
        experiment_id=str(info.experiment_id),
        status=info.status,
        start_time=info.start_time or 0,
        end_time=info.end_time,
        user_id=info.user_id or "",
        artifact_uri=info.artifact_uri or "",
        metrics=dict(data.metrics),
        params=dict(data.params),
        tags={k: v for k, v in data.tags.items() if k not in UNINDEXED_TAGS},
        datasets=datasets,
    )


#: URI scheme -> factory ``(tracking_uri, experiment_ids, client) -> Source``
_SQL_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")
SOURCES: dict[str, Callable[[str, Sequence[str], Any], Source]] = {
    scheme: lambda uri, exps, client: SqlSource(uri, exps) for scheme in _SQL_SCHEMES
}


_told: set[tuple[str, str | None]] = set()


def schema_revision(uri: str) -> str | None:
    """MLflow's schema revision of the SQL store at ``uri``, or ``None`` when unreadable."""
    import sqlalchemy as sa

    db = sqlite_path(uri)
    engine = sa.create_engine(f"sqlite:///{db}" if db is not None else uri)
    try:
        with engine.connect() as conn:
            return str(conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar())
    except Exception:
        return None
    finally:
        engine.dispose()


def open_source(uri: str, exps: Sequence[str], client: MlflowClient | None) -> Source:
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower()
    factory = SOURCES.get(scheme)
    if factory is not None:
        revision = schema_revision(uri) if scheme in _SQL_SCHEMES else None
        if scheme not in _SQL_SCHEMES or revision in TESTED_REVISIONS:
            return factory(uri, exps, client)
        if (uri, revision) not in _told:  # one line per store and revision, not per index
            _told.add((uri, revision))
            log.warning(
                "jupyter-mlops: MLflow schema revision %s of this store is not one the runs "
                "index reads directly (tested: %s); reading runs through search_runs",
                revision or "(unreadable)",
                ", ".join(sorted(TESTED_REVISIONS)),
            )
    if client is None:
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=uri)
    return SearchSource(client, exps)


# -- filters and ordering --------------------------------------------------------------
Predicate = Callable[[RunRow], bool]
