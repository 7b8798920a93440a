"""Large batches kept as blocks: one database row per batch instead of one per prediction.

Batch scoring appends 100,000 rows at a time whose request ids are one prefix and
consecutive numbers (``<run id>-0``, ``<run id>-1``, ...; :func:`.rows.new_ids` makes
the same shape). Such a batch is stored as one ``blocks`` row: the prefix, the first
number, the count and the predictions as one ``npy`` (or JSON) value, beside the
batch's input rows in ``batches``. A block reserves the sequence numbers its rows
would have had (``sqlite_sequence`` of ``predictions``), so ordering, pruning and
"anything new since" treat its rows as if they were stored one by one.

A block's row becomes an ordinary ``predictions`` row (with its reserved sequence
number, its batch and position) when a label names it: :func:`materialize` runs
before a label is stored, and after a block is appended for the labels that came
first. Every join of labels and predictions therefore reads ``predictions`` alone.
Writers call these functions inside their own write transaction.
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

__all__ = [
    "BLOCK_MIN_ROWS",
    "SCHEMA",
    "NumberedIds",
    "append_block",
    "block_rows",
    "consecutive",
    "materialize",
]

#: batches of at least this many consecutive ids are stored as one block
BLOCK_MIN_ROWS = 256

SCHEMA = """
CREATE TABLE IF NOT EXISTS blocks(
    block INTEGER PRIMARY KEY AUTOINCREMENT,
    model TEXT NOT NULL, prefix TEXT NOT NULL, first INTEGER NOT NULL, count INTEGER NOT NULL,
    seq INTEGER NOT NULL, time REAL NOT NULL, version TEXT NOT NULL, role TEXT NOT NULL,
    kind TEXT NOT NULL, predictions BLOB NOT NULL, batch INTEGER);
CREATE INDEX IF NOT EXISTS blocks_by_prefix ON blocks(model, prefix);
"""

_NUMBERED = re.compile(r"^(.+)-(0|[1-9][0-9]{0,17})$")


class NumberedIds(Sequence[str]):
    """The ids ``prefix-first`` ... ``prefix-(first+count-1)`` without making each string.

    Passed as the ids of an append, it is stored as a block without checking each id.

    Examples
    --------
    >>> list(NumberedIds("run", 3, 2))
    ['run-3', 'run-4']
    """

    def __init__(self, prefix: str, first: int, count: int) -> None:
        self.prefix, self.first, self.size = prefix, int(first), int(count)

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.size))]
        if index < 0:
            index += self.size
        if not 0 <= index < self.size:
            raise IndexError(index)
        return f"{self.prefix}-{self.first + index}"


def consecutive(ids: Sequence[Any]) -> tuple[str, int] | None:
    """``(prefix, first)`` when ``ids`` are ``prefix-first``, ``prefix-first+1``, ... else None.

    Examples
    --------
    >>> consecutive(["r-5", "r-6", "r-7"])
    ('r', 5)
    >>> consecutive(["r-5", "r-7"]) is None
    True
    """
    if isinstance(ids, NumberedIds):
        return (ids.prefix, ids.first) if ids.size else None
    if not len(ids) or not isinstance(ids[0], str):
        return None
    match = _NUMBERED.match(ids[0])
    if match is None:
        return None
    prefix, first = match.group(1), int(match.group(2))
    head = prefix + "-"
    # one comparison per id: the list of the expected ids, built by C loops
    expected = [head + str(n) for n in range(first, first + len(ids))]
    return (prefix, first) if expected == list(ids) else None


def _encode(values: np.ndarray) -> tuple[str, bytes]:
    if values.dtype.kind in "biuf":
        buffer = io.BytesIO()
        np.save(buffer, values.astype(int) if values.dtype.kind == "b" else values)
        return ("integer" if values.dtype.kind in "biu" else "real"), buffer.getvalue()
    text = [v if isinstance(v, (int, float, str)) or v is None else str(v) for v in values.tolist()]
    return "text", json.dumps(text).encode()


def _decode(kind: str, blob: bytes) -> list[Any]:
    if kind == "text":
        return list(json.loads(blob))
    return list(np.load(io.BytesIO(blob), allow_pickle=False).tolist())


def append_block(
    conn: sqlite3.Connection,
    model: str,
    row: tuple[str, str, str, int, float, np.ndarray, int | None],
) -> None:
    """Store one block: ``(version, role, prefix, first, time, predictions, batch)``."""
    version, role, prefix, first, at, values, batch = row
    count = len(values)
    found = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'predictions'").fetchone()
    start = int(found[0]) + 1 if found else 1
    if found:
        conn.execute(
            "UPDATE sqlite_sequence SET seq = ? WHERE name = 'predictions'", (start + count - 1,)
        )
    else:
        conn.execute("INSERT INTO sqlite_sequence(name, seq) VALUES ('predictions', ?)", (count,))
    kind, blob = _encode(values)
    conn.execute(
        "INSERT INTO blocks(model, prefix, first, count, seq, time, version, role, kind, "
        "predictions, batch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (model, prefix, first, count, start, at, version, role, kind, blob, batch),
    )
    early = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM labels WHERE model = ? AND substr(id, 1, ?) = ?",
            (model, len(prefix) + 1, prefix + "-"),
        )
    ]
    if early:
        materialize(conn, model, early)


def materialize(conn: sqlite3.Connection, model: str, keys: Iterable[str]) -> None:
    """Make the block rows ``keys`` name ordinary ``predictions`` rows (once each)."""
    wanted: dict[str, list[tuple[int, str]]] = {}
    for key in keys:
        match = _NUMBERED.match(key)
        if match is not None:
            wanted.setdefault(match.group(1), []).append((int(match.group(2)), key))
    decoded: dict[int, list[Any]] = {}
    rows = []
    for prefix, numbers in wanted.items():
        blocks = conn.execute(
            "SELECT block, first, count, seq, time, version, role, kind, predictions, batch "
            "FROM blocks WHERE model = ? AND prefix = ?",
            (model, prefix),
        ).fetchall()
        for block, first, count, seq, at, version, role, kind, blob, batch in blocks:
            for number, key in numbers:
                pos = number - first
                if 0 <= pos < count:
                    if block not in decoded:
                        decoded[block] = _decode(kind, blob)
                    value = decoded[block][pos]
                    rows.append((seq + pos, model, key, at, version, role, value, batch, pos))
    if rows:
        conn.executemany(
            "INSERT OR IGNORE INTO predictions(seq, model, id, time, version, role, prediction, "
            "batch, pos) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def block_rows(
    conn: sqlite3.Connection,
    model: str,
    version: str | None = None,
    role: str | None = None,
    newest: int | None = None,
) -> Iterator[tuple[int, str, float, str, str, Any, int | None, int]]:
    """Every row of the model's blocks: ``(seq, id, time, version, role, prediction, batch, pos)``.

    ``version`` and ``role`` select blocks; ``newest`` reads only the newest blocks that
    hold that many rows. Rows come in sequence order.
    """
    query = (
        "SELECT prefix, first, count, seq, time, version, role, kind, predictions, batch "
        "FROM blocks WHERE model = ?"
    )
    args: list[Any] = [model]
    for column, value in (("version", version), ("role", role)):
        if value is not None:
            query, args = query + f" AND {column} = ?", [*args, str(value)]
    found, held = [], 0
    for row in conn.execute(query + " ORDER BY seq DESC", args):
        if newest is not None and held >= newest:
            break
        found.append(row)
        held += row[2]
    for prefix, first, count, seq, at, ver, rol, kind, blob, batch in reversed(found):
        values = _decode(kind, blob)
        for pos in range(count):
            yield seq + pos, f"{prefix}-{first + pos}", at, ver, rol, values[pos], batch, pos
