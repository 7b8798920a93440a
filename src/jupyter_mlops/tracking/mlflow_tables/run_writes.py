"""Writing one run straight into an embedded SQLite store, without importing MLflow.

Importing MLflow costs a cold process seconds, most of a short headless run. The
process that owns a headless run needs little of it: create the run with its tags
and parameters, refresh a tag, copy a few files into the run's artifacts and end
the run. For the embedded store (``sqlite:///...``) this module does exactly that
with :mod:`sqlite3` and the file system, leaving the rows and files MLflow's
``SqlAlchemyStore`` and ``LocalArtifactRepository`` leave for the same calls
(what ``MlflowClient`` reads back is identical). It takes on only what it can do
exactly, and hands the rest to MLflow (which says what is wrong, if anything):
:func:`open_run_writer` gives MLflow's writer for any other store, and a direct
writer takes MLflow's path for a run or artifact it cannot write exactly. Direct
writing needs:

- the database exists and is one this package was tested with (:func:`.contract.mismatch`:
  MLflow's release, the columns of the tables written, MLflow workspaces off);
- the experiment is active and keeps its artifacts on the local disk (a missing one
  is created under the store's artifact root, as MLflow's path creates it);
- every tag and parameter is one MLflow accepts (names, lengths).

Examples
--------
>>> writer = open_run_writer(settings)                               # doctest: +SKIP
>>> run = writer.create_run(experiment_for(settings, "churn"), "train", {}, {"lr": "0.1"})
... # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import unquote, urlparse

from ...errors import InvalidInput, NotFound
from ..mlflow_bridge.store import open_client, sqlite_path
from ..writing.experiments import check_experiment_name, experiment_id_for
from ..writing.owned_run import CreatedRun, MlflowRunWriter, RunWriter
from ..writing.value_checks import MAX_PARAM_LENGTH, MAX_TAG_LENGTH, check_key
from .contract import WORKSPACE, fast_path_off, mismatch, sqlite_columns
from .run_reads import active_experiment_id

if TYPE_CHECKING:  # pragma: no cover
    from ...config import Settings

__all__ = ["SqliteRunWriter", "experiment_for", "open_run_writer"]

_RUN_NAME_TAG = "mlflow.runName"
#: the tables written here
_TABLES = ("experiments", "runs", "tags", "params", "metrics", "latest_metrics")
_MAX_RUN_NAME = 250
#: MLflow's default ``MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH``
_MAX_LOCATION = 2048


def _now_ms() -> int:
    return int(time.time() * 1000)


def _accepted(values: Mapping[str, str], most: int) -> bool:
    """Whether MLflow takes every name and value of ``values`` as they are."""
    try:
        for key, value in values.items():
            check_key(key)
            if not isinstance(value, str) or len(value) > most:
                return False
    except InvalidInput:
        return False
    return True


def _local_root(artifact_location: str | None) -> str | None:
    """``artifact_location`` when it is a plain path or a ``file:`` URI, else ``None``."""
    if not artifact_location:
        return None
    parsed = urlparse(artifact_location)
    if parsed.scheme not in ("", "file") or parsed.query or parsed.params or parsed.fragment:
        return None
    return artifact_location.rstrip("/")


class _ForMlflow(Exception):
    """The batch is one MLflow must write (or refuse): roll back what was begun."""


#: MLflow stores an infinite metric as the largest finite double of its sign
_MAX_DOUBLE = 1.7976931348623157e308
#: bound of a 64-bit integer, which timestamps and steps are stored as
_LONG = 2**63
#: a metric row: key, stored value, timestamp, run id, step, is_nan
MetricRow = tuple[str, float, int, str, int, int]


def _metric_rows(
    run_id: str, metrics: Sequence[tuple[str, float, int, int]]
) -> list[MetricRow] | None:
    """The rows MLflow stores for ``metrics``, or ``None`` if it would refuse one."""
    rows = []
    for key, value, timestamp, step in metrics:
        numbers_ok = type(value) in (int, float) and type(timestamp) is int and type(step) is int
        if not numbers_ok or not (0 <= timestamp < _LONG and -_LONG <= step < _LONG):
            return None
        try:
            check_key(key)
        except InvalidInput:
            return None
        is_nan = math.isnan(value)
        stored = 0.0 if is_nan else max(-_MAX_DOUBLE, min(_MAX_DOUBLE, float(value)))
        rows.append((key, stored, timestamp, run_id, step, int(is_nan)))
    return rows


def _add_params(conn: sqlite3.Connection, run_id: str, params: Mapping[str, str]) -> None:
    """Add ``params``; one already logged with another value is MLflow's to refuse."""
    if not params:
        return
    marks = ", ".join("?" * len(params))
    logged = dict(
        conn.execute(
            f"SELECT key, value FROM params WHERE run_uuid = ? AND key IN ({marks})",
            (run_id, *params),
        )
    )
    if any(logged[k] != v for k, v in params.items() if k in logged):
        raise _ForMlflow
    conn.executemany(
        "INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
        [(k, v, run_id) for k, v in params.items() if k not in logged],
    )


def _add_metrics(conn: sqlite3.Connection, run_id: str, rows: list[MetricRow]) -> None:
    """Insert metric rows (an identical one is kept once) and move each key's latest."""
    if not rows:
        return
    conn.executemany(
        "INSERT OR IGNORE INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    newest: dict[str, MetricRow] = {}
    for row in rows:  # ordered as MLflow orders them: step, timestamp, value; first one wins
        seen = newest.get(row[0])
        if seen is None or (row[4], row[2], row[1]) > (seen[4], seen[2], seen[1]):
            newest[row[0]] = row
    marks = ", ".join("?" * len(newest))
    latest = {
        key: (step, timestamp, value)
        for key, step, timestamp, value in conn.execute(
            "SELECT key, step, timestamp, value FROM latest_metrics "
            f"WHERE run_uuid = ? AND key IN ({marks})",
            (run_id, *newest),
        )
    }
    conn.executemany(
        "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key, run_uuid) DO UPDATE SET "
        "value = excluded.value, timestamp = excluded.timestamp, step = excluded.step, "
        "is_nan = excluded.is_nan",
        [
            (key, value, timestamp, step, is_nan, run_id)
            for key, value, timestamp, _, step, is_nan in newest.values()
            if key not in latest or (step, timestamp, value) > latest[key]
        ],
    )


class SqliteRunWriter:
    """``writing.owned_run.RunWriter`` on an embedded MLflow SQLite database.

    Parameters
    ----------
    db : Path
        The database file; use :meth:`open`, which checks it can be written here.
    """

    def __init__(self, db: Path, fallback: Callable[[], RunWriter]) -> None:
        self.db = db
        self._fallback = fallback
        self._mlflow: RunWriter | None = None

    def _via_mlflow(self) -> RunWriter:
        if self._mlflow is None:
            self._mlflow = self._fallback()
        return self._mlflow

    @classmethod
    def open(cls, settings: Settings) -> SqliteRunWriter | None:
        """A writer for the store of ``settings``, or ``None`` when MLflow must do it all."""
        db = sqlite_path(settings.tracking_uri)
        if db is None or not db.is_file():
            return None
        try:
            conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
            try:
                reason = mismatch(sqlite_columns(conn), _TABLES)
            finally:
                conn.close()
        except sqlite3.Error:
            return None
        if reason is not None:
            fast_path_off(str(db), reason, "runs are written")
            return None
        return cls(db, lambda: MlflowRunWriter(open_client(settings)))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.db, timeout=60)
        # The store is in WAL mode: without a flush to disk per commit, a commit still
        # survives a crash of any process; a power cut may lose the last ones. A headless
        # run commits about ten times, and each flush cost more than its SQL.
        conn.execute("PRAGMA synchronous=NORMAL")
        try:
            with conn:  # commits, or rolls back on an exception
                yield conn
        finally:
            conn.close()

    # -- creating ----------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        run_name: str,
        tags: Mapping[str, str],
        params: Mapping[str, str],
    ) -> CreatedRun:
        """Create a RUNNING run with ``tags`` and ``params``, in one transaction.

        MLflow creates it instead (and says what is wrong) when the experiment is
        missing, deleted or keeps artifacts elsewhere than the local disk, or when
        it would refuse a name or value.
        """
        created = self._create(experiment_id, run_name, tags, params)
        if created is None:
            return self._via_mlflow().create_run(experiment_id, run_name, tags, params)
        return created

    def _create(
        self,
        experiment_id: str,
        run_name: str,
        tags: Mapping[str, str],
        params: Mapping[str, str],
    ) -> CreatedRun | None:
        all_tags = dict(tags)
        name_tag = all_tags.setdefault(_RUN_NAME_TAG, run_name)
        if name_tag != run_name or len(run_name) > _MAX_RUN_NAME:
            return None
        if not (_accepted(all_tags, MAX_TAG_LENGTH) and _accepted(params, MAX_PARAM_LENGTH)):
            return None
        if not experiment_id.isdigit():
            return None
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT experiment_id, artifact_location, lifecycle_stage FROM experiments "
                "WHERE experiment_id = ? AND workspace = ?",
                (int(experiment_id), WORKSPACE),
            ).fetchone()
            root = _local_root(row[1]) if row and row[2] == "active" else None
            if root is None:
                return None
            run_id = uuid.uuid4().hex
            conn.execute(
                "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, "
                "user_id, status, start_time, end_time, source_version, lifecycle_stage, "
                "artifact_uri, experiment_id, deleted_time) "
                "VALUES (?, ?, 'UNKNOWN', '', '', ?, 'RUNNING', ?, NULL, '', 'active', ?, ?, NULL)",
                (
                    run_id,
                    run_name,
                    all_tags.get("mlflow.user", "unknown"),
                    _now_ms(),
                    f"{root}/{run_id}/artifacts",
                    row[0],
                ),
            )
            conn.executemany(
                "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
                [(k, v, run_id) for k, v in all_tags.items()],
            )
            conn.executemany(
                "INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
                [(k, v, run_id) for k, v in params.items()],
            )
        return CreatedRun(run_id, str(row[0]), run_name)

    def create_experiment(self, name: str, artifact_location: str) -> str | None:
        """Create the active experiment ``name``; ``None`` when the name is taken (even deleted)."""
        if len(artifact_location) > _MAX_LOCATION or _local_root(artifact_location) is None:
            return None
        now = _now_ms()
        try:
            with self._transaction() as conn:
                cursor = conn.execute(
                    "INSERT INTO experiments (name, artifact_location, lifecycle_stage, "
                    "creation_time, last_update_time, workspace) VALUES (?, ?, 'active', ?, ?, ?)",
                    (name, artifact_location, now, now, WORKSPACE),
                )
        except sqlite3.IntegrityError:
            return None
        return str(cursor.lastrowid)

    # -- writing to a run ----------------------------------------------------------------
    def _active(self, conn: sqlite3.Connection, run_id: str) -> None:
        row = conn.execute(
            "SELECT lifecycle_stage FROM runs WHERE run_uuid = ?", (run_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"run with id={run_id} not found")
        if row[0] != "active":
            raise InvalidInput(
                f"the run {run_id} must be in the 'active' state; current state is {row[0]}"
            )

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Set (insert or replace) ``tags``; a ``mlflow.runName`` tag renames the run."""
        for key, value in tags.items():
            check_key(key, "tag")
            if len(value) > MAX_TAG_LENGTH:
                raise InvalidInput(f"tag {key!r} is longer than {MAX_TAG_LENGTH} characters")
        with self._transaction() as conn:
            self._active(conn, run_id)
            self._upsert_tags(conn, run_id, tags)

    @staticmethod
    def _upsert_tags(conn: sqlite3.Connection, run_id: str, tags: Mapping[str, str]) -> None:
        conn.executemany(
            "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?) "
            "ON CONFLICT (key, run_uuid) DO UPDATE SET value = excluded.value",
            [(k, v, run_id) for k, v in tags.items()],
        )
        if _RUN_NAME_TAG in tags:
            conn.execute(
                "UPDATE runs SET name = ? WHERE run_uuid = ?", (tags[_RUN_NAME_TAG], run_id)
            )

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[tuple[str, float, int, int]],
        params: Sequence[tuple[str, str]],
        tags: Sequence[tuple[str, str]],
    ) -> bool:
        """Write one batch of values as MLflow's ``log_batch`` does; ``False`` when MLflow must.

        Metrics ``(key, value, timestamp_ms, step)`` are added (an identical value again is
        not), each key's latest value kept as MLflow orders them (step, then time, then
        value); NaN and infinities are stored as MLflow stores them. Nothing is written and
        ``False`` returned when MLflow would refuse or change something (a name, a length,
        a parameter given a new value, a run that is not active): MLflow's own ``log_batch``
        then says what is wrong.
        """
        metric_rows = _metric_rows(run_id, metrics)
        param_map, tag_map = dict(params), dict(tags)
        if (
            metric_rows is None
            or len(param_map) != len(params)
            or not _accepted(param_map, MAX_PARAM_LENGTH)
            or not _accepted(tag_map, MAX_TAG_LENGTH)
        ):
            return False
        try:
            with self._transaction() as conn:
                conn.execute("BEGIN IMMEDIATE")  # params are compared, then written, alone
                self._active(conn, run_id)
                _add_params(conn, run_id, param_map)
                _add_metrics(conn, run_id, metric_rows)
                self._upsert_tags(conn, run_id, tag_map)
        except (_ForMlflow, NotFound, InvalidInput):  # MLflow says what is wrong with it
            return False
        return True

    def set_tag(self, run_id: str, key: str, value: str) -> None:
        """Set one tag."""
        self.set_tags(run_id, {key: value})

    def set_terminated(self, run_id: str, status: str) -> None:
        """End the run with ``status`` at the current time."""
        with self._transaction() as conn:
            self._active(conn, run_id)
            conn.execute(
                "UPDATE runs SET status = ?, end_time = ? WHERE run_uuid = ?",
                (status, _now_ms(), run_id),
            )

    def artifact_uri(self, run_id: str) -> str:
        """The root URI of the run's artifacts."""
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT artifact_uri FROM runs WHERE run_uuid = ?", (run_id,)
            ).fetchone()
        if row is None:
            raise NotFound(f"run with id={run_id} not found")
        return str(row[0])

    # -- artifacts -----------------------------------------------------------------------
    def _folder(self, run_id: str, artifact_path: str | None) -> Path | None:
        """The local folder for ``artifact_path``; ``None`` when the artifacts are not local."""
        uri = self.artifact_uri(run_id)
        if _local_root(uri) is None:
            return None
        root = Path(unquote(urlparse(uri).path)).resolve()
        folder = (root / artifact_path).resolve() if artifact_path else root
        if folder != root and root not in folder.parents:
            raise InvalidInput(f"artifact path {artifact_path!r} leaves the run's artifacts")
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @staticmethod
    def _publish(target: Path, write: Callable[[BinaryIO], object], mode_from: str | None) -> None:
        """Write through a hidden file beside ``target``, then rename: no half-written file."""
        temp = target.parent / f".mlops-{uuid.uuid4().hex}"
        try:
            with open(temp, "xb") as fh:  # mode as the umask gives, as MLflow's text files
                write(fh)
            if mode_from is not None:
                shutil.copystat(mode_from, temp)
            os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise

    def log_artifact(self, run_id: str, local_path: str, artifact_path: str | None = None) -> None:
        """Copy ``local_path`` into the run's artifacts, under ``artifact_path``."""
        folder = self._folder(run_id, artifact_path)
        if folder is None:
            self._via_mlflow().log_artifact(run_id, local_path, artifact_path)
            return

        def copy(fh: BinaryIO) -> None:
            with open(local_path, "rb") as source:
                shutil.copyfileobj(source, fh)

        self._publish(folder / Path(local_path).name, copy, local_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Write ``text`` (UTF-8) as the artifact ``artifact_file``."""
        path, _, name = artifact_file.rpartition("/")
        folder = self._folder(run_id, path or None)
        if folder is None:
            self._via_mlflow().log_text(run_id, text, artifact_file)
            return
        self._publish(folder / name, lambda fh: fh.write(text.encode("utf-8")), None)


def open_run_writer(settings: Settings) -> RunWriter:
    """The writer for the store of ``settings``: direct on an embedded store, else MLflow's."""
    direct = SqliteRunWriter.open(settings)
    return direct if direct is not None else MlflowRunWriter(open_client(settings))


def experiment_for(settings: Settings, name: str) -> str:
    """Id of experiment ``name``, created when missing, as ``Tracker.set_experiment`` does.

    On an embedded store both are done without MLflow; a deleted experiment of that
    name, or a store MLflow must handle, takes MLflow's path (which says what is wrong).
    """
    found = active_experiment_id(settings, name)
    if found is not None:
        return found
    direct = SqliteRunWriter.open(settings)
    if direct is not None and settings.artifact_root:
        location = Path(settings.artifact_root).as_uri()
        created = direct.create_experiment(check_experiment_name(name), location)
        if created is not None:
            return created
    return experiment_id_for(
        open_client(settings), check_experiment_name(name), settings.artifact_root, create=True
    )
