"""Content-defined chunking over row hashes.

A row ends a chunk when its hash has ``log2(avg)`` low zero bits, subject to a
minimum and maximum chunk length. Boundaries therefore move with the content:
after an insert, a deletion or an append they fall back in step with the old
ones within a chunk or two, and only the chunks in between are new.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["TARGET_CHUNK_BYTES", "average_rows", "boundaries"]

#: aimed-for uncompressed bytes of one row chunk (all columns)
TARGET_CHUNK_BYTES = 1 << 20
MIN_AVG_ROWS = 64
MAX_AVG_ROWS = 1 << 16


def average_rows(row_bytes: float, target: int | None = None) -> int:
    """Average chunk length in rows for rows of ``row_bytes`` (a power of two)."""
    want = (target or TARGET_CHUNK_BYTES) / max(row_bytes, 1.0)
    power = 2 ** round(math.log2(max(want, 1.0)))
    return int(min(max(power, MIN_AVG_ROWS), MAX_AVG_ROWS))


def boundaries(hashes: np.ndarray, avg: int) -> list[int]:
    """Return the end row (exclusive) of each chunk; the last is ``len(hashes)``.

    Parameters
    ----------
    hashes : numpy.ndarray
        One uint64 hash per row.
    avg : int
        Average chunk length, a power of two; chunks hold ``avg/4`` to ``avg*4`` rows.
    """
    n = len(hashes)
    if n == 0:
        return []
    lo, hi = max(avg // 4, 1), avg * 4
    mask = np.uint64(avg - 1)
    candidates = np.flatnonzero((hashes & mask) == 0) + 1
    ends: list[int] = []
    start = 0
    for end in candidates.tolist():
        while end - start > hi:
            start += hi
            ends.append(start)
        if end - start < lo:
            continue
        ends.append(end)
        start = end
    while n - start > hi:
        start += hi
        ends.append(start)
    if start < n:
        ends.append(n)
    return ends
