"""The log's database: one model's predictions, labels and running counts (see the package)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...config import SQLITE_TIMEOUT_S, Settings, load_settings
from ...errors import InvalidInput
from .blocks import SCHEMA as _BLOCKS_SCHEMA
from .blocks import append_block, block_rows, materialize
from .pruning import count_rows, prune
from .rows import decode_inputs, encode_batch, encode_block, label_value, request_id

__all__ = ["FeedbackResult", "PredictionLog", "VersionPerformance", "database_path", "open_log"]

PREDICTIONS_DB = "predictions.db"
INPUTS_FOLDER = "predictions-inputs"
#: rows kept per model unless configured otherwise
DEFAULT_LIMIT = 1_000_000
#: labelled rows per version live performance is computed over unless told otherwise
DEFAULT_WINDOW = 1000
CHAMPION = "champion"
CHALLENGER = "challenger"
#: a label whose id is not (yet) in the log is kept this long for its prediction to arrive
_UNKNOWN_KEEP_S = 3600.0
_CHUNK = 500  # ids per ``IN (...)`` query, under SQLite's variable limit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches(
    batch INTEGER PRIMARY KEY AUTOINCREMENT,
    model TEXT NOT NULL, format TEXT, columns TEXT, inputs BLOB);
CREATE TABLE IF NOT EXISTS predictions(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    model TEXT NOT NULL, id TEXT NOT NULL, time REAL NOT NULL,
    version TEXT NOT NULL, role TEXT NOT NULL, prediction, batch INTEGER, pos INTEGER);
CREATE INDEX IF NOT EXISTS predictions_by_id ON predictions(model, id);
CREATE TABLE IF NOT EXISTS labels(
    model TEXT NOT NULL, id TEXT NOT NULL, label, time REAL NOT NULL,
    UNIQUE(model, id));
CREATE INDEX IF NOT EXISTS labels_by_model ON labels(model);
CREATE TABLE IF NOT EXISTS served(
    model TEXT NOT NULL, version TEXT NOT NULL, role TEXT NOT NULL,
    PRIMARY KEY(model, version, role));
CREATE TABLE IF NOT EXISTS counters(
    model TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL,
    PRIMARY KEY(model, name));
"""


@dataclass(frozen=True)
class FeedbackResult:
    """What one batch of labels did.

    Attributes
    ----------
    received : int
        Labels in the batch (duplicates included).
    stored : int
        Distinct ids labelled (a later label of an id replaced an earlier one).
    unknown : int
        Distinct ids the log holds no prediction for (kept a while, counted).
    """

    received: int
    stored: int
    unknown: int

    def to_dict(self) -> dict[str, int]:
        """A JSON-ready form (the answer of ``POST /feedback``)."""
        return {"received": self.received, "stored": self.stored, "unknown": self.unknown}


@dataclass
class VersionPerformance:
    """Live performance of one version in one role over its last labelled rows.

    Attributes
    ----------
    version, role : str
    labels : int
        Labelled predictions of this version and role (all of them, not only the window).
    task : str
        ``classification`` or ``regression``.
    metrics : dict
        ``accuracy``, ``f1_macro`` (and ``log_loss`` with probabilities) or ``mae``,
        ``rmse``, ``r2`` over the window.
    """

    version: str
    role: str
    labels: int
    task: str
    metrics: dict[str, float] = field(default_factory=dict)


def database_path(settings: Settings | None = None) -> Path:
    """Where the prediction log of ``settings``' root lives."""
    return (settings or load_settings()).store_dir / PREDICTIONS_DB


def open_log(
    model: str, *, limit: int | None = None, settings: Settings | None = None
) -> PredictionLog:
    """The prediction log of ``model`` in the store of ``settings`` (created on first use)."""
    return PredictionLog(database_path(settings), model, limit=limit)


class PredictionLog:
    """One model's rows in the prediction log database.

    Safe to share between threads (one connection behind a lock) and between
    processes (SQLite's own locking; a busy database is waited for).

    Parameters
    ----------
    path : Path
        The database file.
    model : str
        The registered model's name.
    limit : int, optional
        Rows kept for this model (default :data:`DEFAULT_LIMIT`); older rows are
        removed after the appends that pass it.
    """

    def __init__(self, path: Path, model: str, *, limit: int | None = None) -> None:
        if limit is not None and limit < 1:
            raise InvalidInput(f"the prediction log keeps at least 1 row, got limit={limit}")
        self.path, self.model = Path(path), model
        #: where blocks keep their numeric input rows (one ``.npy`` file per block)
        self.inputs_dir = self.path.parent / INPUTS_FOLDER
        self.limit = limit or DEFAULT_LIMIT
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=SQLITE_TIMEOUT_S, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across crashes of the process
        conn.executescript(_SCHEMA + _BLOCKS_SCHEMA)
        self._conn = conn
        self._appended = 0

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    # -- writing ---------------------------------------------------------------------------

    def append(
        self,
        version: str,
        role: str,
        ids: Sequence[Any],
        inputs: Any,
        predictions: Any,
        *,
        at: float | None = None,
    ) -> None:
        """Log one batch of predictions made by ``version`` in ``role``.

        Parameters
        ----------
        version : str
        role : str
            ``champion``, ``challenger`` or another lower-case word (e.g. ``batch``).
        ids : sequence
            One request id per row.
        inputs : DataFrame, 2-D array or None
            The rows scored (kept with the predictions).
        predictions : array-like
            One prediction per row.
        at : float, optional
            Epoch seconds (default now).
        """
        self.append_many([(str(version), role, ids, inputs, predictions, at)])

    def append_many(self, batches: Iterable[tuple[str, str, Sequence[Any], Any, Any, Any]]) -> None:
        """Log several batches in one transaction (see :meth:`append` for one).

        A batch of at least :data:`.blocks.BLOCK_MIN_ROWS` consecutive ids (batch
        scoring's) is stored as one block row rather than one row per prediction.
        """
        encoded: list[Any] = []
        for b in batches:
            block = encode_block(*b, folder=self.inputs_dir)
            encoded.append(("block", block) if block is not None else ("rows", encode_batch(*b)))
        encoded = [e for e in encoded if e[1] is not None]
        if not encoded:
            return
        added, gone = 0, []
        with self._lock, self._conn as conn:
            for shape, item in encoded:
                version, role, fmt, columns, blob = item[:5]
                cur = conn.execute(
                    "INSERT INTO batches(model, format, columns, inputs) VALUES (?, ?, ?, ?)",
                    (self.model, fmt, columns, blob),
                )
                batch = cur.lastrowid
                if shape == "block":
                    prefix, first, at, values = item[5:]
                    append_block(
                        conn, self.model, (version, role, prefix, first, at, values, batch)
                    )
                    added += len(values)
                else:
                    rows = item[5]
                    head = (self.model,)
                    conn.executemany(
                        "INSERT INTO predictions(model, id, time, version, role, prediction, "
                        "batch, pos) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [(*head, i, t, version, role, v, batch, n) for i, t, v, n in rows],
                    )
                    added += len(rows)
                conn.execute(
                    "INSERT OR IGNORE INTO served VALUES (?, ?, ?)", (self.model, version, role)
                )
            self._appended += added
            if self._appended >= max(1000, self.limit // 50) or self._appended > self.limit:
                gone = prune(conn, self.model, self.limit, time.time() - _UNKNOWN_KEEP_S)
                self._appended = 0
        for name in gone:  # after the commit: a rolled-back prune keeps its files
            (self.inputs_dir / name).unlink(missing_ok=True)

    def add_labels(self, ids: Sequence[Any], labels: Sequence[Any]) -> FeedbackResult:
        """Record the true ``labels`` of ``ids`` (the last label of an id wins).

        Raises
        ------
        InvalidInput
            Lengths differ, an id or label is missing, or a label's kind (number or
            text) differs from the model's predictions; nothing is written then.
        """
        if len(ids) != len(labels):
            raise InvalidInput(f"{len(ids)} ids but {len(labels)} labels; send one label per id")
        keys = [request_id(i, n) for n, i in enumerate(ids)]
        values = [label_value(v, keys[n]) for n, v in enumerate(labels)]
        self._check_kind(values, keys)
        latest = dict(zip(keys, values, strict=True))  # later duplicates win
        now = time.time()
        with self._lock, self._conn as conn:
            materialize(conn, self.model, latest)
            known = self._known(conn, list(latest))
            conn.executemany(
                "INSERT OR REPLACE INTO labels(model, id, label, time) VALUES (?, ?, ?, ?)",
                [(self.model, k, v, now) for k, v in latest.items()],
            )
            unknown = len(latest) - len(known)
            if unknown:
                self._bump(conn, "unknown_labels", unknown)
            self._bump(conn, "labels_received", len(keys))
        return FeedbackResult(len(keys), len(latest), unknown)

    def _known(self, conn: sqlite3.Connection, keys: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            found.update(
                r[0]
                for r in conn.execute(
                    f"SELECT DISTINCT id FROM predictions WHERE model = ? AND id IN ({marks})",
                    (self.model, *chunk),
                )
            )
        return found

    def _check_kind(self, values: list[Any], keys: list[str]) -> None:
        with self._lock:
            row = self._conn.execute(
                "SELECT kind FROM (SELECT seq, typeof(prediction) AS kind FROM predictions "
                "WHERE model = ? UNION ALL SELECT seq, kind FROM blocks WHERE model = ?) "
                "ORDER BY seq DESC LIMIT 1",
                (self.model, self.model),
            ).fetchone()
        if row is None or row[0] not in ("integer", "real", "text"):
            return
        numeric = row[0] != "text"
        for key, value in zip(keys, values, strict=True):
            if isinstance(value, str) == numeric:
                want = "numbers" if numeric else "text"
                raise InvalidInput(
                    f"label {value!r} of id {key!r} does not match {self.model}'s predictions, "
                    f"which are {want}; send {want} as labels (nothing was recorded)"
                )

    def _bump(self, conn: sqlite3.Connection, name: str, by: int) -> None:
        conn.execute(
            "INSERT INTO counters VALUES (?, ?, ?) ON CONFLICT(model, name) "
            "DO UPDATE SET value = value + excluded.value",
            (self.model, name, by),
        )

    # -- reading ---------------------------------------------------------------------------

    def counter(self, name: str) -> int:
        """A running count: ``labels_received`` or ``unknown_labels``."""
        with self._lock:
            row = self._conn.execute(
                "SELECT value FROM counters WHERE model = ? AND name = ?", (self.model, name)
            ).fetchone()
        return int(row[0]) if row else 0

    def last_seq(self) -> int:
        """The newest row's sequence number (0 when empty): "anything new since?"."""
        with self._lock:
            row = self._conn.execute(
                "SELECT max(seq) FROM predictions WHERE model = ?", (self.model,)
            ).fetchone()
            block = self._conn.execute(
                "SELECT max(seq + count - 1) FROM blocks WHERE model = ?", (self.model,)
            ).fetchone()
        return max(int(row[0] or 0), int(block[0] or 0))

    def rows(self) -> int:
        """Predictions held for the model."""
        with self._lock:
            return count_rows(self._conn, self.model)

    def served(self) -> list[tuple[str, str]]:
        """Every (version, role) that logged predictions, in version order."""
        with self._lock:
            pairs = self._conn.execute(
                "SELECT version, role FROM served WHERE model = ?", (self.model,)
            ).fetchall()
        return sorted(((str(v), str(r)) for v, r in pairs), key=lambda p: (_num(p[0]), p[1]))

    def predictions(self, ids: Sequence[Any] | None = None, last: int | None = None) -> Any:
        """Logged rows as a DataFrame: ``id``, ``time``, ``version``, ``role``, ``prediction``.

        ``ids`` selects rows by request id; ``last`` keeps the newest rows (default all).
        """
        import pandas as pd

        with self._lock:
            rows = self._merged(last=None if ids is not None else last)
        if ids is not None:
            keys = {str(i) for i in ids}
            rows = [r for r in rows if r[1] in keys]
        columns = ["id", "time", "version", "role", "prediction"]
        return pd.DataFrame([r[1:6] for r in rows], columns=columns)

    def _merged(
        self, version: str | None = None, role: str | None = None, last: int | None = None
    ) -> list[tuple[Any, ...]]:
        """The rows (the ``last`` newest), one-by-one and in blocks, in sequence order."""
        query = (
            "SELECT seq, id, time, version, role, prediction, batch, pos FROM predictions "
            "WHERE model = ?"
        )
        args: list[Any] = [self.model]
        for column, value in (("version", version), ("role", role)):
            if value is not None:
                query, args = query + f" AND {column} = ?", [*args, str(value)]
        tail = " ORDER BY seq DESC" + (f" LIMIT {int(last)}" if last else "")
        plain = self._conn.execute(query + tail, args).fetchall()[::-1]
        blocked = list(block_rows(self._conn, self.model, version, role, last))
        if blocked:
            seen = {r[0] for r in blocked}
            plain = sorted([r for r in plain if r[0] not in seen] + blocked, key=lambda r: r[0])
        return plain[-int(last) :] if last else plain

    def labelled(self, version: str, role: str, window: int = DEFAULT_WINDOW) -> Any:
        """The last ``window`` labelled predictions of ``version`` in ``role``, newest last.

        Columns: ``id``, ``prediction``, ``label``, ``batch``, ``pos``.
        """
        import pandas as pd

        with self._lock:
            rows = self._conn.execute(
                "SELECT l.id, p.prediction, l.label, p.batch, p.pos FROM labels l "
                "JOIN predictions p ON p.model = l.model AND p.id = l.id "
                "WHERE l.model = ? AND p.version = ? AND p.role = ? "
                "ORDER BY l.rowid DESC LIMIT ?",
                (self.model, str(version), role, int(window)),
            ).fetchall()
        columns = ["id", "prediction", "label", "batch", "pos"]
        return pd.DataFrame(rows[::-1], columns=columns)

    def label_count(self, version: str, role: str) -> int:
        """Labelled predictions of ``version`` in ``role``."""
        with self._lock:
            return int(
                self._conn.execute(
                    "SELECT count(*) FROM labels l JOIN predictions p "
                    "ON p.model = l.model AND p.id = l.id "
                    "WHERE l.model = ? AND p.version = ? AND p.role = ?",
                    (self.model, str(version), role),
                ).fetchone()[0]
            )

    def inputs_of(self, batches: Sequence[int], positions: Sequence[int]) -> Any:
        """The input rows at (``batch``, ``pos``) pairs as one DataFrame (None without inputs)."""
        import pandas as pd

        wanted = sorted({int(b) for b in batches})
        decoded = {}
        with self._lock:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                for b, fmt, columns, blob in self._conn.execute(
                    f"SELECT batch, format, columns, inputs FROM batches WHERE batch IN ({marks})",
                    chunk,
                ):
                    decoded[b] = decode_inputs(fmt, columns, blob, self.inputs_dir)
        frames = []
        for b, p in zip(batches, positions, strict=True):
            frame = decoded.get(int(b))
            if frame is None:
                return None
            frames.append(frame.iloc[[int(p)]])
        return pd.concat(frames, ignore_index=True) if frames else None

    def recent_inputs(self, version: str, n: int, role: str | None = None) -> tuple[Any, Any]:
        """The last ``n`` input rows of ``version`` (as a DataFrame or None) and predictions."""
        with self._lock:
            rows = self._merged(version, role, int(n)) if n > 0 else []
        predictions = np.array([r[5] for r in rows])
        if not rows:
            return None, predictions
        return self.inputs_of([r[6] for r in rows], [r[7] for r in rows]), predictions

    def performance(
        self,
        window: int = DEFAULT_WINDOW,
        *,
        task: str | None = None,
        probabilities: Any = None,
    ) -> list[VersionPerformance]:
        """Live performance of every (version, role) that has labels.

        Parameters
        ----------
        window : int
            Last labelled rows per version and role.
        task : str, optional
            ``classification`` or ``regression``; inferred from the values when None.
        probabilities : callable, optional
            ``probabilities(version, inputs) -> (classes, array)`` or None; given, the
            log loss of classifiers is computed on the window's input rows.
        """
        from ..live_metrics import compute, infer_task

        out = []
        for version, role in self.served():
            frame = self.labelled(version, role, window)
            if frame.empty:
                continue
            kind = task or infer_task(frame["prediction"].tolist(), frame["label"].tolist())
            proba = None
            if kind == "classification" and probabilities is not None:
                rows = self.inputs_of(frame["batch"].tolist(), frame["pos"].tolist())
                proba = probabilities(version, rows) if rows is not None else None
            metrics = compute(kind, frame["prediction"].tolist(), frame["label"].tolist(), proba)
            out.append(
                VersionPerformance(version, role, self.label_count(version, role), kind, metrics)
            )
        return out


def _num(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (1 << 62, version)
