"""Chunks stored as row selections of other chunks.

A version may name a chunk whose content key has no blob of its own: the
manifest's ``derived`` table says how to rebuild it from stored blobs, as a
list of pieces ``[base_key, mask_key | [start, stop] | None, base_rows]``. A
piece is the rows of blob ``base_key`` whose bit is set in the boolean blob
``mask_key``, or its rows ``start:stop`` (a contiguous run needs no mask blob),
or every row when None; the chunk is the pieces concatenated. Bases are always stored
blobs, never other derived chunks, so rebuilding is one decode and one filter.

A chunk whose rows alternate often between sources (cells changed all over
it) would need two pieces per change; its recipe is then interleaved:
``{"order": order_key, "pieces": [...]}`` with one piece per source and the
uint8 blob ``order_key`` naming, row by row, the piece the row comes from
(each piece's rows keep their order). Manifests written before interleaving
existed hold only lists, which read as before.

Rows copied from anywhere in the previous version, in any order (a sample of its own
rows inserted with their index labels kept), would need a piece per row; their recipe
gathers them: ``{"take": take_key, "from": first, "pieces": [...]}``, whole bases in
order, row ``i`` being row ``take[i] - first`` of the bases concatenated (``take_key`` an
int64 blob). The writer takes the index labels themselves as ``take`` when they name the
previous version's rows, so the gather costs no blob beyond the index's own.

The content key of a derived chunk is the one it would have as a blob, so
digests, dedupe between versions and ``verify`` stay what they were.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

__all__ = [
    "Pieces",
    "Recipe",
    "assemble",
    "logical_keys",
    "physical_keys",
    "pieces_of",
    "provenance",
    "reusable_recipes",
    "runs",
    "taken",
]

#: ``[[base_key, mask_key | [start, stop] | None, base_rows], ...]``
Pieces = list[list[Any]]
#: a derived chunk's recipe: its pieces concatenated, or interleaved by an order blob
Recipe = Pieces | dict[str, Any]


def pieces_of(recipe: Recipe) -> tuple[Pieces, str | None]:
    """A recipe's pieces and its order blob's key (None unless the pieces are interleaved)."""
    if isinstance(recipe, dict):
        return recipe["pieces"], recipe.get("order")
    return recipe, None


def taken(recipe: Recipe) -> tuple[str, int] | None:
    """A gathering recipe's take blob key and the value naming its bases' first row."""
    if isinstance(recipe, dict) and "take" in recipe:
        return recipe["take"], int(recipe["from"])
    return None


def logical_keys(manifest: Mapping[str, Any]) -> set[str]:
    """Every content key ``manifest`` names (chunk blobs and dictionaries)."""
    return {k for c in manifest["columns"] for k in (*c["blobs"], c["dictionary"]) if k}


def physical_keys(keys: Iterable[str], derived: Mapping[str, Recipe]) -> set[str]:
    """The stored blobs needed to read ``keys``: derived keys become their bases and masks."""
    out: set[str] = set()
    for key in keys:
        recipe = derived.get(key)
        if recipe is None:
            out.add(key)
            continue
        pieces, order = pieces_of(recipe)
        gather = taken(recipe)
        for extra in (order, gather[0] if gather else None):
            if extra:
                out.add(extra)
        for base, mask, _ in pieces:
            out.add(base)
            if isinstance(mask, str):
                out.add(mask)
    return out


def reusable_recipes(
    keys: set[str], manifests: Iterable[Mapping[str, Any]], have: set[str]
) -> dict[str, Recipe]:
    """Recipes for ``keys`` in ``manifests`` (the first found wins) whose blobs are in ``have``."""
    found: dict[str, Recipe] = {}
    for manifest in manifests:
        recipes = manifest.get("derived") or {}
        for key in (keys & recipes.keys()) - found.keys():
            if physical_keys([key], recipes) <= have:
                found[key] = recipes[key]
    return found


def assemble(recipe: Recipe, arrays: Mapping[str, pa.Array]) -> pa.Array:
    """Rebuild a derived chunk from decoded bases, masks and order."""
    import pyarrow as pa

    pieces, order = pieces_of(recipe)
    parts = []
    for base, mask, rows in pieces:
        array = arrays[base]
        if len(array) != rows:
            raise ValueError(f"base {base[:16]} has {len(array)} rows, the manifest says {rows}")
        if isinstance(mask, list):
            start, stop = mask
            if not 0 <= start <= stop <= rows:
                raise ValueError(f"rows {start}:{stop} are not in base {base[:16]}")
            array = array.slice(start, stop - start)
        elif mask:
            selector = arrays[mask]
            if len(selector) != rows:
                raise ValueError(f"mask {mask[:16]} does not cover base {base[:16]}")
            array = array.filter(selector)
        parts.append(array)
    if order is not None:
        return _interleave(parts, arrays[order].to_numpy(zero_copy_only=False))
    whole = parts[0] if len(parts) == 1 else pa.concat_arrays(parts)
    gather = taken(recipe)
    if gather is None:
        return whole
    positions = _gathered(arrays[gather[0]].to_numpy(zero_copy_only=False), gather[1], len(whole))
    return whole.take(pa.array(positions))


def _gathered(take: np.ndarray, first: int, rows: int) -> np.ndarray:
    """Rows of the bases a take blob names; every one must be among them."""
    positions = take.astype(np.int64, copy=False) - first
    if len(positions) and (positions.min() < 0 or positions.max() >= rows):
        raise ValueError(f"the take blob names rows outside its {rows} base rows")
    return positions


def _interleave(parts: list[pa.Array], order: np.ndarray) -> pa.Array:
    """Row ``i`` is the next unused row of ``parts[order[i]]``."""
    import pyarrow as pa

    counts = np.bincount(order, minlength=len(parts))
    if len(counts) != len(parts) or any(c != len(p) for c, p in zip(counts, parts, strict=True)):
        raise ValueError("the order blob does not match its pieces' rows")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    take = np.empty(len(order), np.int64)
    for s, start in enumerate(starts.tolist()):
        pick = order == s
        take[pick] = np.arange(start, start + counts[s])
    return pa.concat_arrays(parts).take(pa.array(take))


def provenance(
    key: str, rows: int, derived: Mapping[str, Recipe], masks: Mapping[str, np.ndarray]
) -> tuple[list[tuple[str, int]], np.ndarray, np.ndarray]:
    """Where each row of chunk ``key`` is stored: ``(bases, base index per row, row in base)``.

    ``bases`` lists ``(base_key, base_rows)``; ``masks`` holds the decoded masks
    (boolean), order blobs (uint8) and take blobs (int64) of derived chunks as numpy arrays.
    """
    recipe = derived.get(key)
    if recipe is None:
        return [(key, rows)], np.zeros(rows, np.int64), np.arange(rows, dtype=np.int64)
    pieces, order = pieces_of(recipe)
    gather = taken(recipe)
    if gather is not None:
        sizes = np.asarray([rows for _, _, rows in pieces], np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        positions = _gathered(masks[gather[0]], gather[1], int(offsets[-1]))
        found = np.searchsorted(offsets, positions, side="right") - 1
        return [(b, r) for b, _, r in pieces], found, positions - offsets[found]
    bases: list[tuple[str, int]] = []
    which, where = [], []
    for base, mask, base_rows in pieces:
        if (base, base_rows) not in bases:
            bases.append((base, base_rows))
        if isinstance(mask, list):
            positions = np.arange(mask[0], mask[1])
        else:
            positions = np.flatnonzero(masks[mask]) if mask else np.arange(base_rows)
        which.append(np.full(len(positions), bases.index((base, base_rows)), np.int64))
        where.append(positions.astype(np.int64))
    if order is None:
        return bases, np.concatenate(which), np.concatenate(where)
    source = masks[order].astype(np.int64)
    out_which, out_where = np.empty(len(source), np.int64), np.empty(len(source), np.int64)
    for s in range(len(pieces)):
        pick = source == s
        out_which[pick], out_where[pick] = which[s], where[s]
    return bases, out_which, out_where


def runs(which: np.ndarray, where: np.ndarray) -> list[tuple[int, int]]:
    """Split rows into runs of one base with strictly increasing positions: ``(start, stop)``."""
    if len(which) == 0:
        return []
    breaks = (np.diff(which) != 0) | (np.diff(where) <= 0)
    cuts = np.flatnonzero(breaks) + 1
    starts = [0, *cuts.tolist()]
    stops = [*cuts.tolist(), len(which)]
    return list(zip(starts, stops, strict=True))
