"""Rows a new version's index labels name in the previous version, gathered from its chunks.

Rows copied from all over a frame into one place (``pd.concat([head, df.sample(...),
tail])``) match no run of old rows, and in data of a few distinct rows no copy can be
told from its look-alikes; stored as residual rows they cost what their values hold.
When the index was kept, though, a copy keeps its label, and a label of a default index
(a range of step 1) is the old row's position: the rows of the chunk are the old rows
its labels name, and the labels are already stored as the index's own blob. A gathering
recipe (:mod:`.selection`) takes that blob as its take blob, so the copies cost only
the recipe; :mod:`.derive` checks every gathered chunk cell by cell before using it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .codec import load_schema
from .derivation import NewVersion

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

__all__ = ["Gather", "plan_gather"]


class Gather:
    """How a new version's index names the parent's rows.

    Attributes
    ----------
    labels : pyarrow.Array
        The new version's index column (int64).
    index_keys : list of str
        The content keys of that column's chunks, one per chunk.
    first : int
        The label of the parent's first row.
    offsets : numpy.ndarray
        The parent's chunk starts (and its row count last).
    """

    def __init__(
        self, labels: pa.Array, index_keys: list[str], first: int, offsets: np.ndarray
    ) -> None:
        self.labels, self.index_keys, self.first, self.offsets = labels, index_keys, first, offsets

    def recipe(
        self, j: int, span: tuple[int, int], low: int, bases: list[str], sizes: list[int]
    ) -> tuple[dict[str, Any], pa.Array]:
        """The gathering recipe of new chunk ``j`` (rows ``span``) and its take blob (the
        chunk's labels): the bases are ``bases``, of ``sizes`` rows, parent chunks from ``low``.
        """
        recipe = {
            "take": self.index_keys[j],
            "from": self.first + int(self.offsets[low]),
            "pieces": [[k, None, n] for k, n in zip(bases, sizes, strict=True)],
        }
        return recipe, self.chunk_labels(*span)

    def chunk_labels(self, a: int, b: int) -> pa.Array:
        """The index labels of new rows ``a:b``."""
        return self.labels.slice(a, b - a)

    def bases(
        self, a: int, b: int, matched: np.ndarray, found: np.ndarray
    ) -> tuple[int, int] | None:
        """The parent chunks ``(first, stop)`` holding every row the labels of ``a:b`` name.

        ``matched`` are rows of the chunk already matched, by content, to parent rows
        ``found``. None when a label names no parent row, or when most matched rows have
        labels naming other rows (a renumbered index): the labels are not row names.
        """
        values = self.chunk_labels(a, b).to_numpy(zero_copy_only=False) - self.first
        rows = int(self.offsets[-1])
        if len(values) == 0 or values.min() < 0 or values.max() >= rows:
            return None
        if len(matched) and 2 * int((values[matched] == found).sum()) < len(matched):
            return None
        low = int(np.searchsorted(self.offsets, values.min(), side="right")) - 1
        high = int(np.searchsorted(self.offsets, values.max(), side="right"))
        return low, high


def plan_gather(parent: dict[str, Any], new: NewVersion) -> Gather | None:
    """A :class:`Gather` when the new version's index is one int64 column and the parent's
    a range of step 1 (a default index); else None."""
    index = [i for i in range(len(new.names)) if i not in set(new.data_columns)]
    if len(index) != 1 or new.types[index[0]] != "int64" or new.storage[index[0]].null_count:
        return None
    meta = load_schema(parent["schema"]).pandas_metadata or {}
    levels = meta.get("index_columns", [])
    if len(levels) != 1 or not isinstance(levels[0], dict) or levels[0].get("kind") != "range":
        return None
    if levels[0].get("step") != 1:
        return None
    offsets = np.concatenate([[0], np.cumsum(parent["chunks"])]).astype(np.int64)
    return Gather(new.storage[index[0]], new.keys[index[0]], int(levels[0]["start"]), offsets)
