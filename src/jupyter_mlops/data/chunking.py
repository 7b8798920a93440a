"""Content-defined chunking over windows of row hashes.

A row ends a chunk when the hash of the window of ``WINDOW`` rows ending at it
has ``log2(avg)`` low zero bits, subject to a minimum and maximum chunk length.
Boundaries therefore move with the content: after an insert, a deletion or an
append they fall back in step with the old ones within a chunk or two, and only
the chunks in between are new.

Hashing a window rather than one row matters for low-entropy data: a frame of
a few distinct rows (a 3-value column and a flag) has a few distinct row hashes,
so either no row qualifies as a boundary or a third of them do, and the
minimum length, not the content, places the cuts, which then all shift after
an insert. A window of 16 such rows already has millions of values.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["CHUNKER", "TARGET_CHUNK_BYTES", "WINDOW", "average_rows", "boundaries", "window_hashes"]

#: aimed-for uncompressed bytes of one row chunk (all columns)
TARGET_CHUNK_BYTES = 1 << 20
MIN_AVG_ROWS = 64
MAX_AVG_ROWS = 1 << 16
#: rows per boundary window, a power of two
WINDOW = 16
#: recorded in manifests: the boundary rule the chunks were cut with
CHUNKER = f"window{WINDOW}"
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def average_rows(row_bytes: float, target: int | None = None) -> int:
    """Average chunk length in rows for rows of ``row_bytes`` (a power of two)."""
    want = (target or TARGET_CHUNK_BYTES) / max(row_bytes, 1.0)
    power = 2 ** round(math.log2(max(want, 1.0)))
    return int(min(max(power, MIN_AVG_ROWS), MAX_AVG_ROWS))


def window_hashes(hashes: np.ndarray, width: int = WINDOW) -> np.ndarray:
    """One well-mixed hash per row of the ``width`` rows ending at it (fewer at the start).

    Built by doubling: the hash of a window of ``2w`` rows combines the hashes of
    its two halves of ``w`` rows, so ``log2(width)`` passes cover the window.
    """
    out = np.array(hashes, dtype=np.uint64, copy=True)
    span = 1
    while span < width:
        earlier = out[:-span] * _MIX1
        np.bitwise_xor(out[span:], earlier, out=out[span:])
        span *= 2
    np.bitwise_xor(out, out >> np.uint64(29), out=out)
    np.multiply(out, _MIX2, out=out)
    np.bitwise_xor(out, out >> np.uint64(32), out=out)
    return out


def boundaries(hashes: np.ndarray, avg: int) -> list[int]:
    """Return the end row (exclusive) of each chunk; the last is ``len(hashes)``.

    Parameters
    ----------
    hashes : numpy.ndarray
        One uint64 hash per row; boundaries are chosen on their windows.
    avg : int
        Average chunk length, a power of two; chunks hold ``avg/4`` to ``avg*4`` rows.
    """
    n = len(hashes)
    if n == 0:
        return []
    lo, hi = max(avg // 4, 1), avg * 4
    mask = np.uint64(avg - 1)
    candidates = np.flatnonzero((window_hashes(hashes) & mask) == 0) + 1
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
