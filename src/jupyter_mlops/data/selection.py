"""Chunks stored as row selections of other chunks.

A version may name a chunk whose content key has no blob of its own: the
manifest's ``derived`` table says how to rebuild it from stored blobs, as a
list of pieces ``[base_key, mask_key | None, base_rows]``. A piece is the rows
of blob ``base_key`` whose bit is set in the boolean blob ``mask_key`` (every
row when None); the chunk is the pieces concatenated. Bases are always stored
blobs, never other derived chunks, so rebuilding is one decode and one filter.

The content key of a derived chunk is the one it would have as a blob, so
digests, dedupe between versions and ``verify`` stay what they were.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

__all__ = ["Pieces", "assemble", "logical_keys", "physical_keys", "provenance", "runs"]

#: ``[[base_key, mask_key | None, base_rows], ...]``
Pieces = list[list[Any]]


def logical_keys(manifest: Mapping[str, Any]) -> set[str]:
    """Every content key ``manifest`` names (chunk blobs and dictionaries)."""
    return {k for c in manifest["columns"] for k in (*c["blobs"], c["dictionary"]) if k}


def physical_keys(keys: Iterable[str], derived: Mapping[str, Pieces]) -> set[str]:
    """The stored blobs needed to read ``keys``: derived keys become their bases and masks."""
    out: set[str] = set()
    for key in keys:
        pieces = derived.get(key)
        if pieces is None:
            out.add(key)
            continue
        for base, mask, _ in pieces:
            out.add(base)
            if mask:
                out.add(mask)
    return out


def assemble(pieces: Pieces, arrays: Mapping[str, pa.Array]) -> pa.Array:
    """Rebuild a derived chunk from decoded bases and masks."""
    import pyarrow as pa

    parts = []
    for base, mask, rows in pieces:
        array = arrays[base]
        if len(array) != rows:
            raise ValueError(f"base {base[:16]} has {len(array)} rows, the manifest says {rows}")
        if mask:
            selector = arrays[mask]
            if len(selector) != rows:
                raise ValueError(f"mask {mask[:16]} does not cover base {base[:16]}")
            array = array.filter(selector)
        parts.append(array)
    return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)


def provenance(
    key: str, rows: int, derived: Mapping[str, Pieces], masks: Mapping[str, np.ndarray]
) -> tuple[list[tuple[str, int]], np.ndarray, np.ndarray]:
    """Where each row of chunk ``key`` is stored: ``(bases, base index per row, row in base)``.

    ``bases`` lists ``(base_key, base_rows)``; ``masks`` holds the decoded masks
    of derived chunks as boolean numpy arrays.
    """
    pieces = derived.get(key)
    if pieces is None:
        return [(key, rows)], np.zeros(rows, np.int64), np.arange(rows, dtype=np.int64)
    bases: list[tuple[str, int]] = []
    which, where = [], []
    for base, mask, base_rows in pieces:
        if (base, base_rows) not in bases:
            bases.append((base, base_rows))
        positions = np.flatnonzero(masks[mask]) if mask else np.arange(base_rows)
        which.append(np.full(len(positions), bases.index((base, base_rows)), np.int64))
        where.append(positions.astype(np.int64))
    return bases, np.concatenate(which), np.concatenate(where)


def runs(which: np.ndarray, where: np.ndarray) -> list[tuple[int, int]]:
    """Split rows into runs of one base with strictly increasing positions: ``(start, stop)``."""
    if len(which) == 0:
        return []
    breaks = (np.diff(which) != 0) | (np.diff(where) <= 0)
    cuts = np.flatnonzero(breaks) + 1
    starts = [0, *cuts.tolist()]
    stops = [*cuts.tolist(), len(which)]
    return list(zip(starts, stops, strict=True))
