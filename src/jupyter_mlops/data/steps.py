"""Integer blobs and row masks as their most common step plus the rows that differ from it.

A kept index after a scattered delete counts up by one, with a step of two every hundred
rows or so; a row mask is all ones but a bit in a hundred; an index after an insert of
copied rows counts up by one around a stretch of arbitrary values. zstd over the values
or their differences spends two or three bytes on each break of a long run (a literal, a
match length, an offset). Listing only the exceptions (the gaps between them and their
values, each as narrow unsigned integers split into byte planes, so that the high, mostly
zero bytes of every value lie together) costs about what the exceptions hold.

Layout of a body (compressed as a whole by the caller): ``mode`` (uint64), the number of
exceptions, the byte widths of the gaps and of the values (uint8 each), then the planes of
the gaps and of the values. Values are zigzag-coded in the column's width, so small
negative steps stay narrow.
"""

from __future__ import annotations

import struct

import numpy as np

__all__ = ["decode_steps", "decode_values", "deltas", "encode_steps", "undo_deltas"]

_HEAD = struct.Struct("<QQBB")
#: exceptions beyond this share of the rows are not worth listing: each costs a byte or more
_MAX_SHARE = 1 / 8
#: rows sampled to guess the most common step
_SAMPLE = 512


def deltas(values: np.ndarray) -> np.ndarray:
    """Each value minus the one before (the first as is), wrapping like unsigned integers."""
    out = np.empty_like(values)
    out[:1] = values[:1]
    np.subtract(values[1:], values[:-1], out=out[1:])
    return out


def undo_deltas(steps: np.ndarray) -> np.ndarray:
    """Inverse of :func:`deltas`."""
    return np.cumsum(steps, dtype=steps.dtype)


def encode_steps(values: np.ndarray) -> bytes | None:
    """The body listing ``values`` (unsigned) as a mode and its exceptions; None when too many."""
    n = len(values)
    if n == 0:
        return None
    sample = values[:: max(1, n // _SAMPLE)]
    found, counts = np.unique(sample, return_counts=True)
    mode = found[int(np.argmax(counts))]
    where = np.flatnonzero(values != mode)
    if len(where) > _MAX_SHARE * n:
        return None
    gaps = _narrow(np.diff(where, prepend=0).astype(np.uint64))
    zig = _narrow(_zigzag(values[where]))
    head = _HEAD.pack(int(mode), len(where), gaps.dtype.itemsize, zig.dtype.itemsize)
    return head + _planes(gaps) + _planes(zig)


def decode_steps(body: memoryview | bytes, rows: int, dtype: np.dtype) -> np.ndarray:
    """Inverse of :func:`encode_steps`: ``rows`` unsigned values of ``dtype``."""
    mode, where, found = _listed(body, dtype)
    out = np.full(rows, mode, dtype=dtype)
    out[where] = found
    return out


def decode_values(body: memoryview | bytes, rows: int, dtype: np.dtype) -> np.ndarray:
    """``undo_deltas(decode_steps(body, rows, dtype))``: the values whose steps ``body`` lists.

    When the common step is 0 (runs of equal values: a sorted column, codes), a value holds
    until the next exception: one repeat per run, not a running sum over every row (about
    ten times quicker). Any other step sums as :func:`undo_deltas` does.
    """
    mode, where, found = _listed(body, dtype)
    if mode:
        out = np.full(rows, mode, dtype=dtype)
        out[where] = found
        return undo_deltas(out)
    out = np.zeros(rows, dtype=dtype)
    if len(where):
        values = np.cumsum(found, dtype=dtype)  # wraps, as the values do
        out[where[0] :] = np.repeat(values, np.diff(np.r_[where, rows]))
    return out


def _listed(body: memoryview | bytes, dtype: np.dtype) -> tuple[int, np.ndarray, np.ndarray]:
    """The mode of a body, the rows that differ from it and their values (in ``dtype``)."""
    mode, count, gap_width, value_width = _HEAD.unpack_from(body, 0)
    at = _HEAD.size
    gaps = _unplanes(body, at, count, gap_width)
    at += count * gap_width
    zig = _unplanes(body, at, count, value_width).astype(np.uint64)
    signed = np.dtype(f"<i{dtype.itemsize}")
    unzig = (zig >> np.uint64(1)).astype(np.int64) ^ -(zig & np.uint64(1)).astype(np.int64)
    return int(mode), np.cumsum(gaps.astype(np.int64)), unzig.astype(signed).view(dtype)


def _zigzag(values: np.ndarray) -> np.ndarray:
    """Unsigned values read as signed in their width, zigzag-coded into uint64."""
    signed = values.view(f"<i{values.dtype.itemsize}").astype(np.int64)
    return ((signed << 1) ^ (signed >> 63)).view(np.uint64)


def _narrow(values: np.ndarray) -> np.ndarray:
    top = int(values.max()) if len(values) else 0
    for width in (1, 2, 4):
        if top < 1 << (8 * width):
            return values.astype(f"<u{width}")
    return values.astype("<u8")


def _planes(values: np.ndarray) -> bytes:
    """Byte ``j`` of every value together, for each ``j`` in turn."""
    width = values.dtype.itemsize
    return values.view(np.uint8).reshape(-1, width).T.tobytes()


def _unplanes(body: memoryview | bytes, at: int, count: int, width: int) -> np.ndarray:
    flat = np.frombuffer(body, dtype=np.uint8, count=count * width, offset=at)
    return np.ascontiguousarray(flat.reshape(width, count).T).view(f"<u{width}").reshape(count)
