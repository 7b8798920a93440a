"""Storing a changed chunk as row selections of the previous version's chunks.

A filter that drops scattered rows changes every chunk a little; an insert
splits one chunk. Instead of rewriting such chunks, the writer matches their
rows to the rows of the previous version (by row hash, as runs anchored on
windows of rows found once on each side), and describes each chunk as runs of
old rows (an old blob plus a 1-bit-per-row mask) and a residual blob holding
only the rows that are new. Every derived chunk is rebuilt and re-hashed before
it is accepted, so a hash collision can only cost space, never correctness; and
it is kept only when its new blobs are smaller than the chunk stored whole.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from .blobs import decode_blob, encode_blob
from .codec import load_schema
from .derivation import Derivation, NewVersion
from .gather import plan_gather
from .hashing import canonical, content_key, row_hashes, same_content
from .profile import index_columns
from .row_matching import aligned_rows, crosses, match_rows, monotone
from .selection import (
    Recipe,
    assemble,
    physical_keys,
    pieces_of,
    provenance,
    reusable_recipes,
    runs,
    taken,
)
from .store import SnapshotStore

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

__all__ = ["derive"]

#: a chunk needing more runs than this is interleaved by an order blob (a manifest stays small)
MAX_PIECES = 32
#: versions before the latest searched for recipes of chunks an edit brings back
_EARLIER = 16


def derive(
    store: SnapshotStore, parent: dict[str, Any] | None, new: NewVersion, have: set[str]
) -> Derivation:
    """Derive every chunk of ``new`` that has no blob yet from ``parent``, where possible."""
    out = Derivation()
    if parent is None:
        return out
    inherited = parent.get("derived") or {}
    missing = {k for keys in new.keys for k in keys if k not in have and k not in inherited}
    if missing:  # back to earlier data: its chunks may be recipes of an earlier version
        earlier = reversed(store.versions(parent["name"])[-1 - _EARLIER : -1])
        manifests = (store.read_manifest(parent["name"], v) for v in earlier)
        inherited = {**reusable_recipes(missing, manifests, have), **inherited}
    unknown: dict[int, list[int]] = {}
    for c, column_keys in enumerate(new.keys):
        for j, key in enumerate(column_keys):
            if key in have or key in out.derived:
                continue
            if key in inherited:
                out.derived[key] = inherited[key]
            else:
                unknown.setdefault(j, []).append(c)
    shared = _shared_columns(parent, new)
    if unknown and shared:
        _Matcher(store, parent, new, shared, have, out).run(unknown)
    return out


def _shared_columns(parent: dict[str, Any], new: NewVersion) -> dict[int, int]:
    """new column index -> parent column index, for data columns of the same name and type."""
    hidden = set(index_columns(load_schema(parent["schema"])))
    old = {c["name"]: (i, c["type"]) for i, c in enumerate(parent["columns"])}
    out = {}
    for c in new.data_columns:
        found = old.get(new.names[c])
        if found and found[1] == new.types[c] and new.names[c] not in hidden:
            # a categorical's chunks of earlier snapshots hold codes, not values
            before = parent["columns"][found[0]].get("stored", "")
            if before == (new.stored[c] if c < len(new.stored) else ""):
                out[c] = found[0]
    return out


class _Matcher:
    """Matches rows of new chunks to rows of the parent's changed chunks."""

    def __init__(
        self,
        store: SnapshotStore,
        parent: dict[str, Any],
        new: NewVersion,
        shared: dict[int, int],
        have: set[str],
        out: Derivation,
    ) -> None:
        self.store, self.parent, self.new, self.shared = store, parent, new, shared
        self.have, self.out = have, out
        self.derived_old: dict[str, Recipe] = parent.get("derived") or {}
        self.arrays: dict[str, pa.Array] = {}
        self.masks: dict[str, np.ndarray] = {}
        self.old: dict[tuple[int, int], pa.Array] = {}
        self.words: dict[tuple[int, int], np.ndarray] = {}
        self.candidates: list[int] = []
        self.offsets = np.zeros(1, np.int64)
        self.used = np.zeros(0, dtype=bool)
        self.selectors: dict[tuple[int, int, int, bytes], tuple[str, pa.Array]] = {}
        self.layouts: dict[str, Any] = {}
        self.gather = plan_gather(parent, new)
        #: blobs this version writes anyway (its index chunks): a recipe naming them adds nothing
        self.free = set(self.gather.index_keys) if self.gather else set()

    def run(self, unknown: dict[int, list[int]]) -> None:
        self.candidates = self._candidates()
        if not self.candidates:
            return
        self._load()
        sizes = [self.parent["chunks"][i] for i in self.candidates]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        old_hashes = np.concatenate([self._old_hashes(i) for i in self.candidates])
        chunks = sorted(unknown)
        spans = [(self.new.starts[j], self.new.ends[j]) for j in chunks]
        match = match_rows(old_hashes, self._new_hashes(spans))
        self.used = np.zeros(len(old_hashes), dtype=bool)
        self.used[match[match >= 0]] = True
        offset = 0
        for j, (a, b) in zip(chunks, spans, strict=True):
            rows = match[offset : offset + b - a]
            offset += b - a
            gathered = self._gather_span(a, b, rows)
            if not (rows >= 0).any() and gathered is None:
                continue
            if crosses(rows, MAX_PIECES):
                rows = monotone(rows)  # rows that keep their order interleave as one piece
            self.layouts.clear()
            columns = [c for c in unknown[j] if c in self.shared]
            self._derive_columns(j, columns, rows, aligned_rows(rows), gathered and (j, *gathered))

    def _derive_columns(
        self,
        j: int,
        columns: list[int],
        rows: np.ndarray,
        guess: np.ndarray,
        gathered: tuple[int, int, int] | None,
    ) -> None:
        """Derive chunk ``j`` of ``columns`` with each column's own matching, or all with the
        common one, whichever adds fewer bytes: one mask of the common matching serves every
        column, where each column's own (its equal cells matched too) needs a mask of its own.
        """
        a, b = self.new.starts[j], self.new.ends[j]
        owns = {c: self._same_cells(c, a, rows, guess) for c in columns}
        ways = [owns]
        if any(owns[c] is not rows for c in columns):
            ways.append(dict.fromkeys(columns, rows))
        best: tuple[int, dict[str, Recipe], dict[str, pa.Array]] | None = None
        before = (dict(self.out.derived), dict(self.out.blobs))
        for way in ways:
            self.out.derived, self.out.blobs = dict(before[0]), dict(before[1])
            for c in columns:
                key = self.new.keys[c][j]
                self._derive_chunk(c, key, a, b, way[c], way[c] is rows, gathered)
            added = self._added(j, columns, before[1])
            if best is None or added < best[0]:
                best = (added, self.out.derived, self.out.blobs)
        if best is not None:
            self.out.derived, self.out.blobs = best[1], best[2]

    def _added(self, j: int, columns: list[int], blobs_before: dict[str, pa.Array]) -> int:
        """Bytes chunk ``j`` of ``columns`` adds as derived so far: new blobs, recipes, the
        chunks of columns left underived stored whole."""
        total = sum(
            len(self._encoded(k, array))
            for k, array in self.out.blobs.items()
            if k not in blobs_before and k not in self.free
        )
        a, b = self.new.starts[j], self.new.ends[j]
        for c in columns:
            key = self.new.keys[c][j]
            recipe = self.out.derived.get(key)
            if recipe is not None:
                total += len(json.dumps(recipe, separators=(",", ":")))
            else:
                total += len(self._encoded(key, self.new.storage[c].slice(a, b - a)))
        return total

    def _gather_span(self, a: int, b: int, rows: np.ndarray) -> tuple[int, int] | None:
        """Parent chunks the index labels of new rows ``a:b`` name, when the rows matched agree."""
        if self.gather is None:
            return None
        hit = np.flatnonzero(rows >= 0)
        k = np.searchsorted(self.offsets, rows[hit], side="right") - 1
        chunks = np.asarray(self.candidates, np.int64)[k]
        found = self.gather.offsets[chunks] + rows[hit] - self.offsets[k]
        return self.gather.bases(a, b, hit, found)

    def _candidates(self) -> list[int]:
        """Parent chunks not carried over whole: the only ones new rows can come from."""
        now = [set(keys) for keys in self.new.keys]
        cols = self.parent["columns"]
        chunks = range(len(self.parent["chunks"]))
        return [
            i
            for i in chunks
            if any(cols[p]["blobs"][i] not in now[c] for c, p in self.shared.items())
        ]

    def _load(self) -> None:
        """Decode the candidates' blobs (bases and masks of derived ones) and rebuild them."""
        cols = self.parent["columns"]
        keys = {cols[p]["blobs"][i] for p in self.shared.values() for i in self.candidates}
        for key in physical_keys(keys, self.derived_old):
            self.arrays[key] = decode_blob(self.store.get_blob(key))
        for recipe in (self.derived_old[k] for k in keys if k in self.derived_old):
            pieces, order = pieces_of(recipe)
            take = taken(recipe)
            for blob in [order, take and take[0], *(mask for _, mask, _ in pieces)]:
                if isinstance(blob, str) and blob not in self.masks:
                    self.masks[blob] = self.arrays[blob].to_numpy(zero_copy_only=False)
        for c, p in self.shared.items():
            for i in self.candidates:
                key = cols[p]["blobs"][i]
                found = self.derived_old.get(key)
                self.old[c, i] = self.arrays[key] if found is None else assemble(found, self.arrays)

    def _old_hashes(self, i: int) -> np.ndarray:
        canons = [canonical(self.old[c, i]) for c in self.shared]
        return row_hashes(canons, self.parent["chunks"][i])

    def _new_hashes(self, spans: list[tuple[int, int]]) -> np.ndarray:
        if list(self.shared) == self.new.data_columns:
            every = self.new.hashes  # the boundary hashes cover the same columns
        else:
            canons = [canonical(self.new.storage[c]) for c in self.shared]
            every = row_hashes(canons, len(self.new.hashes))
        return np.concatenate([every[a:b] for a, b in spans])

    def _same_cells(self, c: int, a: int, rows: np.ndarray, guess: np.ndarray) -> np.ndarray:
        """``rows`` plus rows changed elsewhere whose cell in column ``c`` is the old one.

        A row with a corrected cell matches no old row, yet its other cells
        equal the old row's at the same place (``guess``), if no other row took it.
        """
        # ... and before the old row of the next matched row, so the rows keep their order
        later = np.where(rows >= 0, rows, len(self.used))
        ahead = np.r_[np.minimum.accumulate(later[::-1])[::-1][1:], len(self.used)]
        open_ = (rows < 0) & (guess >= 0) & (guess < ahead)
        if not open_.any():
            return rows
        where = np.flatnonzero(open_)
        old = guess[where]
        free = ~self.used[old]
        where, old = where[free], old[free]
        if len(where) == 0:
            return rows
        new_words = canonical(self.new.storage[c].slice(a, len(rows))).row_words()[where]
        same = new_words == self._old_words(c, old)
        out = rows.copy()
        out[where[same]] = old[same]
        return out

    def _old_words(self, c: int, positions: np.ndarray) -> np.ndarray:
        """Row words of column ``c`` at positions among the candidates' rows."""
        which = np.searchsorted(self.offsets, positions, side="right") - 1
        out = np.empty(len(positions), dtype=np.uint64)
        for k in np.flatnonzero(np.bincount(which)).tolist():
            i = self.candidates[k]
            if (c, i) not in self.words:
                self.words[c, i] = canonical(self.old[c, i]).row_words()
            pick = which == k
            out[pick] = self.words[c, i][positions[pick] - self.offsets[k]]
        return out

    def _layout(
        self, c: int, rows: np.ndarray, common: bool
    ) -> tuple[list[tuple[str, int]], Any, Any, Any]:
        """Bases, base index and row in base per row (the residual last), and the runs.

        Columns whose old chunks are plain blobs share one layout per new chunk:
        only the blob keys differ, so it is computed once and relabelled.
        """
        matched = rows >= 0
        which_chunk, ks = self._chunks_of(rows[matched], common)
        cols = self.parent["columns"][self.shared[c]]["blobs"]
        plain = common and all(cols[self.candidates[k]] not in self.derived_old for k in ks)
        if plain and "plain" in self.layouts:
            which, where, spans = self.layouts["plain"]
        else:
            bases, old_which, old_where = self._stored_at(c, rows[matched], which_chunk, ks)
            which = np.full(len(rows), len(bases), np.int64)
            which[matched] = old_which
            where = np.cumsum(~matched) - 1
            where[matched] = old_where
            spans = runs(which, where)
            if not plain:
                return bases, which, where, spans
            self.layouts["plain"] = (which, where, spans)
        sizes = self.parent["chunks"]
        bases = [(cols[self.candidates[k]], sizes[self.candidates[k]]) for k in ks]
        return bases, which, where, spans

    def _chunks_of(self, positions: np.ndarray, common: bool) -> tuple[np.ndarray, list[int]]:
        """Candidate number of each old row position, and the candidates used (sorted)."""
        if common and "chunks" in self.layouts:
            found: tuple[np.ndarray, list[int]] = self.layouts["chunks"]
            return found
        which_chunk = np.searchsorted(self.offsets, positions, side="right") - 1
        ks = np.flatnonzero(np.bincount(which_chunk)).tolist() if len(which_chunk) else []
        if common:
            self.layouts["chunks"] = (which_chunk, ks)
        return which_chunk, ks

    def _stored_at(
        self, c: int, positions: np.ndarray, which_chunk: np.ndarray, ks: list[int]
    ) -> tuple[list[tuple[str, int]], np.ndarray, np.ndarray]:
        """Where old rows of column ``c`` are stored: bases, base index and row in base."""
        number: dict[tuple[str, int], int] = {}
        which = np.empty(len(positions), np.int64)
        where = np.empty(len(positions), np.int64)
        p = self.shared[c]
        for k in ks:
            i = self.candidates[k]
            pick = which_chunk == k
            offsets = positions[pick] - self.offsets[k]
            key = self.parent["columns"][p]["blobs"][i]
            own, w, pos = provenance(key, self.parent["chunks"][i], self.derived_old, self.masks)
            remap = np.asarray([number.setdefault(base, len(number)) for base in own], np.int64)
            which[pick] = remap[w[offsets]]
            where[pick] = pos[offsets]
        return list(number), which, where

    def _piece(
        self, base: tuple[str, int], positions: np.ndarray, blobs: dict[str, pa.Array]
    ) -> list[Any]:
        """``[base_key, mask, base_rows]`` selecting ``positions``; new masks join ``blobs``.

        ``mask`` is None for every row, ``[start, stop]`` for a contiguous run, else a mask key.
        """
        import pyarrow as pa

        key, rows = base
        if len(positions) == rows:
            return [key, None, rows]
        first, last = int(positions[0]), int(positions[-1])
        if last - first + 1 == len(positions):
            return [key, [first, last + 1], rows]
        # the columns of one chunk mostly share their masks: build and hash each once
        memo = (rows, len(positions), int(positions[0]), positions.tobytes())
        if memo not in self.selectors:
            bits = np.zeros(rows, dtype=bool)
            bits[positions] = True
            selector = pa.array(bits)
            self.selectors[memo] = (content_key(selector), selector)
        mask, selector = self.selectors[memo]
        blobs[mask] = selector
        return [key, mask, rows]

    def _derive_chunk(
        self,
        c: int,
        key: str,
        a: int,
        b: int,
        rows: np.ndarray,
        common: bool,
        gathered: tuple[int, int, int] | None = None,
    ) -> None:
        """Describe new chunk ``key`` (rows ``a:b`` of column ``c``) as pieces, if small and exact.

        ``common`` says ``rows`` is the chunk's row matching shared by all columns;
        ``gathered`` is ``(chunk, first, stop)`` when the chunk's index labels name parent
        rows, in parent chunks ``first:stop``.
        """
        import pyarrow as pa

        bases, which, where, spans = self._layout(c, rows, common)
        blobs: dict[str, pa.Array] = {}
        every_base = list(bases)
        chunk = self.new.storage[c].slice(a, b - a)
        if (rows < 0).any():
            residual = chunk.filter(pa.array(rows < 0))
            every_base.append((content_key(residual), len(residual)))
            blobs[every_base[-1][0]] = residual
        options: list[tuple[Recipe, dict[str, pa.Array]]] = []
        if len(spans) <= MAX_PIECES:
            own = dict(blobs)
            runs_of = [self._piece(every_base[int(which[s])], where[s:e], own) for s, e in spans]
            options.append((runs_of, own))
        own = dict(blobs)
        interleaved = self._interleaved(every_base, which, where, own)
        if interleaved is not None:
            options.append((interleaved, own))
        found = self._gathered(c, key, chunk, gathered) if gathered else None
        if found is not None:
            options.append(found)
        if not options:
            return
        recipe, blobs = min(options, key=lambda option: self._cost(*option))
        pieces, _ = pieces_of(recipe)
        arrays = {**{k: self.arrays[k] for k, _, _ in pieces if k in self.arrays}, **blobs}
        if not all(p[0] in arrays for p in pieces):
            return
        if not same_content(assemble(recipe, arrays), chunk):
            return
        if self._cost(recipe, blobs) >= len(self._encoded(key, chunk)):
            return  # the chunk stored whole is smaller
        self.out.derived[key] = recipe
        for k, array in blobs.items():
            if k not in self.have:
                self.out.blobs[k] = array

    def _gathered(
        self, c: int, key: str, chunk: pa.Array, gathered: tuple[int, int, int]
    ) -> tuple[Recipe, dict[str, pa.Array]] | None:
        """The chunk as the parent rows its index labels name, when they hold its very cells."""
        if self.gather is None:
            return None
        j, low, high = gathered
        take_key = self.gather.index_keys[j]
        cols = self.parent["columns"][self.shared[c]]["blobs"]
        keys = cols[low:high]
        if take_key == key or any(k in self.derived_old or k not in self.have for k in keys):
            return None  # bases are stored blobs; a chunk is never its own take blob
        for k in keys:
            if k not in self.arrays:
                self.arrays[k] = decode_blob(self.store.get_blob(k))
        span = (self.new.starts[j], self.new.ends[j])
        recipe, take = self.gather.recipe(j, span, low, keys, self.parent["chunks"][low:high])
        arrays = {**{k: self.arrays[k] for k in keys}, take_key: take}
        if not same_content(assemble(recipe, arrays), chunk):
            return None
        return recipe, {take_key: take}

    def _interleaved(
        self,
        bases: list[tuple[str, int]],
        which: np.ndarray,
        where: np.ndarray,
        blobs: dict[str, pa.Array],
    ) -> dict[str, Any] | None:
        """One piece per base and an order blob, when each base's rows keep their order."""
        import pyarrow as pa

        used = np.flatnonzero(np.bincount(which, minlength=len(bases))).tolist()
        if len(used) > 255:
            return None
        pieces = []
        for base in used:
            positions = where[which == base]
            if len(positions) > 1 and not (np.diff(positions) > 0).all():
                return None  # rows moved within a base: only runs can say so
            pieces.append(self._piece(bases[base], positions, blobs))
        number = np.zeros(len(bases), np.uint8)
        number[used] = np.arange(len(used), dtype=np.uint8)
        order = pa.array(number[which])
        order_key = content_key(order)
        blobs[order_key] = order
        return {"order": order_key, "pieces": pieces}

    def _cost(self, recipe: Recipe, blobs: dict[str, pa.Array]) -> int:
        """Bytes a recipe adds: its new blobs and its manifest entry.

        Masks another chunk of this version already needs cost nothing more.
        """
        cost = len(json.dumps(recipe, separators=(",", ":")))
        for k, array in blobs.items():
            if k not in self.have and k not in self.out.blobs and k not in self.free:
                cost += len(self._encoded(k, array))
        return cost

    def _encoded(self, key: str, array: pa.Array) -> bytes:
        """The blob ``key`` holds ``array`` as, encoded once and kept for the writer."""
        found = self.out.encoded.get(key)
        if found is None:
            found = self.out.encoded[key] = encode_blob(array)
        return found
