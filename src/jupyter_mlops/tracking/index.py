"""A fast, incrementally refreshed in-memory index of runs for browsing interfaces.

MLflow's ``search_runs`` ordered by a metric scans and joins every run on each
call (seconds on 10,000 runs). Browsing needs any page, sorted by any column or
filtered, in milliseconds, so :class:`RunsIndex` keeps one row per run (name,
status, times, latest metrics, params, tags, dataset inputs) in memory and
answers pages from there. MLflow stays the system of record: the index only
reads it, and a refresh re-reads only what changed.

Sources (a registry keyed by URI scheme, :data:`SOURCES`):

- SQL stores (``sqlite:``, ``postgresql:``, ``mysql:``, ``mssql:``): MLflow's
  tables are read directly with SQLAlchemy, read-only. A refresh first asks
  SQLite whether anything was committed since the last look (``PRAGMA
  data_version``, microseconds); then it scans the small ``runs`` table and
  re-reads metrics/params/tags only for runs that are new, changed, or not yet
  terminated; finally per-table row counts catch values added to runs that had
  already ended.
- Anything else (``http://`` servers): ``MlflowClient.search_runs`` ordered by
  start time (MLflow's fast path) with page tokens, then only runs started
  since the newest known one plus the unfinished ones.

Values rewritten in place on runs that had already ended (rare) are picked up
by ``refresh(full=True)``, which also runs by itself every ``full_every`` seconds.

Filters use MLflow's own parser, so the syntax and the error messages are
MLflow's; ordering follows MLflow's rules (missing values last, ties newest
first), plus a ``duration`` order key. Tags holding large text
(:data:`UNINDEXED_TAGS`) are not kept; a filter on them is refused with a
pointer to ``mlops.runs``.

Examples
--------
>>> from jupyter_mlops.tracking.index import shared_index
>>> index = shared_index(settings.tracking_uri, ["1"])          # doctest: +SKIP
>>> page = index.page("metrics.acc > 0.8", ["metrics.acc DESC"],  # doctest: +SKIP
...                   offset=0, page_size=50)
>>> rows, total = page                                           # doctest: +SKIP
>>> rows[0].as_dict()       # JSON-ready, same shape as browse.run_row  # doctest: +SKIP

A REST handler adopts it by keeping one ``shared_index(uri, ids)`` per
experiment set and answering ``GET runs`` with ``index.page(...)``; the
``next_page_token`` of a page is the offset of the next one.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from ..errors import InvalidInput
from .query import FILTER_HINT, ORDER_HINT
from .store import mlflow_errors, sqlite_path

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient

__all__ = [
    "SOURCES",
    "UNINDEXED_TAGS",
    "RunRow",
    "RunsIndex",
    "RunsPage",
    "shared_index",
]

#: tags that hold large text (cell source, notes, model history): not kept in the index
UNINDEXED_TAGS = ("mlops.cell", "mlflow.note.content", "mlflow.log-model.history")
#: run statuses that can still change
UNFINISHED = frozenset({"RUNNING", "SCHEDULED"})
MAX_PAGE = 1000
_CHUNK = 500
_DATASET_CONTEXT_TAG = "mlflow.data.context"


@dataclass(eq=False)
class RunRow:
    """One run as the index holds it (a snapshot: do not mutate)."""

    run_id: str
    name: str
    experiment_id: str
    status: str
    start_time: int
    end_time: int | None
    user_id: str = ""
    artifact_uri: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    #: dataset inputs as ``(name, digest, context)``
    datasets: tuple[tuple[str, str, str], ...] = ()

    @property
    def info_key(self) -> tuple[Any, ...]:
        """The run-table fields whose change means the run must be re-read."""
        return (self.name, self.status, self.end_time, self.experiment_id)

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to end, ``None`` while unfinished."""
        return (self.end_time - self.start_time) / 1000 if self.end_time else None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (NaN/inf metrics become ``None``), like ``browse.run_row``."""
        return {
            "run_id": self.run_id,
            "name": self.name,
            "experiment_id": self.experiment_id,
            "status": self.status,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "metrics": {
                k: v if math.isfinite(v) else None for k, v in sorted(self.metrics.items())
            },
            "params": dict(sorted(self.params.items())),
            "tags": dict(sorted(self.tags.items())),
        }


class RunsPage(NamedTuple):
    """One page of runs and how many runs match in all; unpacks as ``rows, total``."""

    rows: list[RunRow]
    total: int

    def next_page_token(self, offset: int) -> str | None:
        """Token of the page after the one that started at ``offset``, or ``None``."""
        nxt = offset + len(self.rows)
        return str(nxt) if self.rows and nxt < self.total else None


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
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i : i + _CHUNK]
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
        for rid, name, digest, ctx in self._query(conn, sql, ctx=_DATASET_CONTEXT_TAG, **binds):
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
            next((t.value for t in d.tags or [] if t.key == _DATASET_CONTEXT_TAG), ""),
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
SOURCES: dict[str, Callable[[str, Sequence[str], Any], Source]] = {
    scheme: lambda uri, exps, client: SqlSource(uri, exps)
    for scheme in ("sqlite", "postgresql", "mysql", "mssql")
}


def _open_source(uri: str, exps: Sequence[str], client: MlflowClient | None) -> Source:
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower()
    factory = SOURCES.get(scheme)
    if factory is not None:
        return factory(uri, exps, client)
    if client is None:
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=uri)
    return SearchSource(client, exps)


# -- filters and ordering --------------------------------------------------------------
Predicate = Callable[[RunRow], bool]

_ATTR_ALIASES = {"created": "start_time", "Created": "start_time", "run name": "run_name"}
_ATTRS: dict[str, Callable[[RunRow], Any]] = {
    "run_id": lambda r: r.run_id,
    "run_name": lambda r: r.name,
    "status": lambda r: r.status,
    "user_id": lambda r: r.user_id,
    "artifact_uri": lambda r: r.artifact_uri,
    "start_time": lambda r: r.start_time,
    "end_time": lambda r: r.end_time,
    "experiment_id": lambda r: r.experiment_id,
    "lifecycle_stage": lambda r: "active",
}


def _search_utils() -> Any:
    # mlflow.utils.search_utils imported before mlflow itself hits a circular import
    import mlflow  # noqa: F401
    from mlflow.utils.search_utils import SearchUtils

    return SearchUtils


def _like_regex(pattern: str, flags: int = 0) -> re.Pattern[str]:
    # SQL LIKE: % is any run of characters, _ is one character, everything else literal
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), flags | re.DOTALL)


def _comparison(comparator: str, value: Any) -> Callable[[Any], bool]:
    if comparator in ("LIKE", "ILIKE"):
        rx = _like_regex(value, re.IGNORECASE if comparator == "ILIKE" else 0)
        return lambda lhs: rx.fullmatch(str(lhs)) is not None
    if comparator in ("IN", "NOT IN"):
        values = set(value)
        return (
            (lambda lhs: lhs in values) if comparator == "IN" else (lambda lhs: lhs not in values)
        )
    import operator

    ops = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
    ops.update({"=": operator.eq, "!=": operator.ne})
    op = ops[comparator]
    return lambda lhs: op(lhs, value)


def _getter(kind: str, key: str, comparator: str) -> Callable[[RunRow], Any]:
    S = _search_utils()

    # MLflow's own checks, in MLflow's order, so unsupported comparators fail as MLflow fails
    if S.is_metric(kind, comparator):
        return lambda r: r.metrics.get(key)
    if S.is_param(kind, comparator):
        return lambda r: r.params.get(key)
    if S.is_tag(kind, comparator):
        if key in UNINDEXED_TAGS:
            raise InvalidInput(
                f"tag {key!r} holds large text and is not indexed for browsing; "
                f'search it with mlops.runs(filter="tags.`{key}` LIKE ...") instead'
            )
        return lambda r: r.tags.get(key)
    if S.is_string_attribute(kind, key, comparator) or S.is_numeric_attribute(
        kind, key, comparator
    ):
        return _ATTRS.get(key, lambda r: None)
    raise InvalidInput(f"cannot filter runs by {kind} {key!r}: {FILTER_HINT}")


def _predicate(clause: dict[str, Any]) -> Predicate:
    kind, comparator = clause["type"], clause["comparator"].upper()
    key, value = clause["key"], clause["value"]
    key = _ATTR_ALIASES.get(key, key) if kind == "attribute" else key
    if kind == "dataset":
        S = _search_utils()

        S.is_dataset(kind, comparator)
        test = _comparison(comparator, value)
        pos = {"name": 0, "digest": 1, "context": 2}[key]
        return lambda r: any(test(d[pos]) for d in r.datasets)
    get = _getter(kind, key, comparator)
    if comparator in ("IS NULL", "IS NOT NULL"):
        want_null = comparator == "IS NULL"
        return lambda r: (get(r) is None) == want_null
    if kind == "metric":
        value = float(value)
    elif kind == "attribute" and key in ("start_time", "end_time") and isinstance(value, str):
        value = int(value)
    test = _comparison(comparator, value)

    def matches(row: RunRow) -> bool:
        lhs = get(row)
        return lhs is not None and test(lhs)

    return matches


def compile_filter(filter_string: str) -> list[Predicate]:
    """Parse ``filter_string`` with MLflow's parser into predicates (all must hold)."""
    SearchUtils = _search_utils()

    with mlflow_errors("filter runs", FILTER_HINT):
        return [_predicate(c) for c in SearchUtils.parse_search_filter(filter_string or "")]


def _order_getter(kind: str, key: str) -> Callable[[RunRow], Any]:
    if kind == "metric":
        return lambda r: r.metrics.get(key)
    if kind == "parameter":
        return lambda r: r.params.get(key)
    if kind == "tag":
        return lambda r: r.tags.get(key)
    return _ATTRS.get(key, lambda r: None)


#: ``duration [ASC|DESC]``: an index-only order key (MLflow has no duration attribute)
_DURATION = re.compile(r"^\s*(?:attributes?\.|attr\.|run\.)?duration(?:\s+(ASC|DESC))?\s*$", re.I)


def compile_order(order_by: Sequence[str]) -> list[tuple[Callable[[RunRow], Any], bool]]:
    """Parse ``order_by`` clauses with MLflow's parser into ``(getter, ascending)``.

    Besides MLflow's keys, ``duration`` (end minus start; unfinished runs last) is accepted.
    """
    SearchUtils = _search_utils()

    out: list[tuple[Callable[[RunRow], Any], bool]] = []
    for clause in order_by:
        duration = _DURATION.match(clause)
        if duration:
            out.append((lambda r: r.duration_s, (duration.group(1) or "ASC").upper() == "ASC"))
            continue
        with mlflow_errors(f"order runs by {clause!r}", ORDER_HINT):
            kind, key, ascending = SearchUtils.parse_order_by_for_search_runs(clause)
        out.append((_order_getter(kind, _ATTR_ALIASES.get(key, key)), ascending))
    return out


def sort_rows(
    rows: list[RunRow], order: list[tuple[Callable[[RunRow], Any], bool]]
) -> list[RunRow]:
    """Sort like MLflow's SQL store: each clause in turn, then values, NaN, missing; stable."""
    for get, ascending in reversed(order):

        def key(row: RunRow, get: Callable[[RunRow], Any] = get, asc: bool = ascending) -> Any:
            value = get(row)
            if value is None:
                rank = 2
            elif isinstance(value, float) and math.isnan(value):
                rank = 1
            else:
                return (0, value)
            # descending sorts are reversed: negate so NaN and missing still come last
            return (rank if asc else -rank, 0)

        rows = sorted(rows, key=key, reverse=not ascending)
    return rows


# -- the index ------------------------------------------------------------------------
class RunsIndex:
    """In-memory table of the runs of some experiments, answering pages in milliseconds.

    Parameters
    ----------
    tracking_uri : str
        MLflow tracking URI; SQL stores are read directly, others through ``search_runs``.
    experiment_ids : sequence of str
        Experiments whose (active, not deleted) runs are indexed.
    client : MlflowClient, optional
        Client for non-SQL stores (default: one on ``tracking_uri``).
    max_age : float
        :meth:`page` refreshes first when the last refresh is older than this (seconds).
    full_every : float
        Seconds between full re-reads that catch in-place edits of ended runs.
    source : Source, optional
        Where rows come from; default chosen from ``tracking_uri`` through :data:`SOURCES`.
    """

    def __init__(
        self,
        tracking_uri: str,
        experiment_ids: Sequence[str],
        *,
        client: MlflowClient | None = None,
        max_age: float = 1.0,
        full_every: float = 300.0,
        source: Source | None = None,
    ) -> None:
        if not experiment_ids:
            raise InvalidInput("give at least one experiment id to index, e.g. ['1']")
        self.experiment_ids = [str(e) for e in experiment_ids]
        self.max_age = max_age
        self.full_every = full_every
        self._source = source or _open_source(tracking_uri, self.experiment_ids, client)
        self._rows: dict[str, RunRow] = {}
        self._base: list[RunRow] = []
        self._views: OrderedDict[tuple[str, tuple[str, ...]], list[RunRow]] = OrderedDict()
        self._lock = threading.RLock()
        self._refreshed = 0.0
        self._full_at = 0.0
        #: incremented whenever the indexed rows change
        self.version = 0

    def __len__(self) -> int:
        return len(self._rows)

    def close(self) -> None:
        """Release the store connection."""
        with self._lock:
            self._source.close()

    def refresh(self, full: bool = False) -> bool:
        """Bring the index up to date with the store; return whether anything changed."""
        with self._lock:
            now = time.monotonic()
            full = full or not self._rows or now - self._full_at >= self.full_every
            rows = self._source.sync(self._rows, full)
            self._refreshed = time.monotonic()
            if full:
                self._full_at = now
            if rows is None:
                return False
            self._rows = rows
            self._base = sorted(rows.values(), key=lambda r: (-r.start_time, r.run_id))
            self._views.clear()
            self.version += 1
            return True

    def _fresh(self) -> None:
        if not self._refreshed or time.monotonic() - self._refreshed >= self.max_age:
            self.refresh()

    def get(self, run_id: str) -> RunRow | None:
        """The indexed row of ``run_id``, or ``None``."""
        with self._lock:
            self._fresh()
            return self._rows.get(run_id)

    def rows(self, filter_string: str = "", order_by: Sequence[str] | None = None) -> list[RunRow]:
        """Every matching row in order (cached until the index changes)."""
        with self._lock:
            self._fresh()
            key = ((filter_string or "").strip(), tuple(order_by or ()))
            view = self._views.get(key)
            if view is None:
                predicates = compile_filter(key[0])
                order = compile_order(key[1])
                matched = [r for r in self._base if all(p(r) for p in predicates)]
                view = sort_rows(matched, order) if order else matched
                self._views[key] = view
                while len(self._views) > 16:
                    self._views.popitem(last=False)
            else:
                self._views.move_to_end(key)
            return view

    def page(
        self,
        filter_string: str = "",
        order_by: Sequence[str] | None = None,
        offset: int = 0,
        page_size: int = 100,
        page_token: str | None = None,
    ) -> RunsPage:
        """Return rows ``offset .. offset+page_size`` of the matching runs and their total.

        Parameters
        ----------
        filter_string : str
            MLflow search syntax, e.g. ``"metrics.acc > 0.8 and params.model = 'rf'"``.
        order_by : sequence of str, optional
            E.g. ``["metrics.acc DESC"]``; default newest first.
        offset : int
            First row (0-based); ignored when ``page_token`` is given.
        page_size : int
            1 to 1000 rows.
        page_token : str, optional
            ``RunsPage.next_page_token(offset)`` of the previous page.
        """
        if page_token:
            offset = _offset_of(page_token)
        if not 1 <= page_size <= MAX_PAGE:
            raise InvalidInput(f"page size must be between 1 and {MAX_PAGE}, got {page_size}")
        if offset < 0:
            raise InvalidInput(f"offset must be 0 or more, got {offset}")
        view = self.rows(filter_string, order_by)
        return RunsPage(view[offset : offset + page_size], len(view))

    def keys(self) -> dict[str, list[str]]:
        """Metric, param and tag keys present in the indexed runs (for column pickers)."""
        with self._lock:
            self._fresh()
            found: dict[str, set[str]] = {"metrics": set(), "params": set(), "tags": set()}
            for row in self._rows.values():
                found["metrics"].update(row.metrics)
                found["params"].update(row.params)
                found["tags"].update(row.tags)
            return {k: sorted(v) for k, v in found.items()}


def _offset_of(token: str) -> int:
    try:
        return int(token)
    except ValueError:
        raise InvalidInput(
            f"bad page token {token!r}: pass the next_page_token of the previous page"
        ) from None


_shared: OrderedDict[tuple[str, tuple[str, ...]], RunsIndex] = OrderedDict()
_shared_lock = threading.Lock()


def shared_index(
    tracking_uri: str, experiment_ids: Sequence[str], client: MlflowClient | None = None
) -> RunsIndex:
    """Return the process-wide index of ``experiment_ids`` on ``tracking_uri`` (kept for reuse)."""
    key = (tracking_uri, tuple(sorted(str(e) for e in experiment_ids)))
    with _shared_lock:
        index = _shared.get(key)
        if index is None:
            index = RunsIndex(tracking_uri, list(key[1]), client=client)
            _shared[key] = index
            while len(_shared) > 8:
                _shared.popitem(last=False)[1].close()
        _shared.move_to_end(key)
        return index
