"""Keeping the log bounded: the rows a model holds, one by one and in blocks, and pruning them."""

from __future__ import annotations

import sqlite3
from typing import Any

__all__ = ["count_rows", "prune"]


def count_rows(conn: sqlite3.Connection, model: str, below: int | None = None) -> int:
    """Rows held (those of blocks included), or those with a sequence number under ``below``."""
    cut = "" if below is None else " AND seq < ?"
    args: tuple[Any, ...] = (model,) if below is None else (model, below)
    plain = conn.execute(
        "SELECT count(*) FROM predictions WHERE model = ? AND (batch IS NULL OR batch NOT IN "
        f"(SELECT batch FROM blocks WHERE model = ? AND batch IS NOT NULL)){cut}",
        (model, *args),
    ).fetchone()[0]
    blocks = conn.execute(
        f"SELECT coalesce(sum(count), 0) FROM blocks WHERE model = ?{cut}", args
    ).fetchone()[0]
    return int(plain) + int(blocks)


def prune(conn: sqlite3.Connection, model: str, limit: int, stale: float) -> list[str]:
    """Keep the last ``limit`` rows of the model (and the labels and inputs they need).

    A block goes whole: the oldest block that is only partly past the limit stays,
    so the log may hold up to one block more than ``limit`` rows. Returns the input
    files of the removed batches, for the caller to delete once this is committed.
    """
    excess = count_rows(conn, model) - limit
    while excess > 0:
        oldest = conn.execute(
            "SELECT block, seq, count, batch FROM blocks WHERE model = ? ORDER BY seq LIMIT 1",
            (model,),
        ).fetchone()
        older = count_rows(conn, model, oldest[1]) if oldest is not None else excess
        if older:
            _drop_rows(conn, model, min(older, excess))
            excess -= min(older, excess)
        elif oldest is not None and oldest[2] <= excess:
            conn.execute("DELETE FROM blocks WHERE block = ?", (oldest[0],))
            conn.execute(
                "DELETE FROM predictions WHERE model = ? AND batch = ?", (model, oldest[3])
            )
            excess -= oldest[2]
        else:
            break
    oldest_kept = (
        "(SELECT coalesce(min(b), 0) FROM (SELECT min(batch) AS b FROM predictions "
        "WHERE model = ? UNION ALL SELECT min(batch) FROM blocks WHERE model = ?) "
        "WHERE b IS NOT NULL)"
    )
    files = [
        bytes(r[0]).decode()
        for r in conn.execute(
            f"SELECT inputs FROM batches WHERE model = ? AND format = 'npy-file' "
            f"AND batch < {oldest_kept}",
            (model, model, model),
        )
    ]
    conn.execute(
        f"DELETE FROM batches WHERE model = ? AND batch < {oldest_kept}", (model, model, model)
    )
    conn.execute(
        "DELETE FROM labels WHERE model = ? AND time < ? AND NOT EXISTS (SELECT 1 FROM "
        "predictions p WHERE p.model = labels.model AND p.id = labels.id)",
        (model, stale),
    )
    return files


def _drop_rows(conn: sqlite3.Connection, model: str, n: int) -> None:
    """Remove the ``n`` oldest one-by-one rows of the model."""
    row = conn.execute(
        "SELECT seq FROM predictions WHERE model = ? ORDER BY seq LIMIT 1 OFFSET ?",
        (model, n - 1),
    ).fetchone()
    if row is not None:
        conn.execute("DELETE FROM predictions WHERE model = ? AND seq <= ?", (model, row[0]))
