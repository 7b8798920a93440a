"""Matching the rows of a changed chunk to the previous version's rows, as a diff aligns lines.

Rows are compared by their row hashes only; :mod:`.derive` rebuilds and re-hashes every
chunk it derives from a match, so a wrong match costs space, never correctness.
"""

from __future__ import annotations

import numpy as np

from . import chunking

__all__ = ["aligned_rows", "match_rows"]

#: old rows a matched run may skip (deleted rows) and rounds of extension
_MAX_SKIP = 3
_ROUNDS = 8
#: rows a resumed run needs (unless it reaches the next matched row)
_MIN_RESUMED = 8


def aligned_rows(rows: np.ndarray) -> np.ndarray:
    """For unmatched rows, the old row at the same distance from the last matched one."""
    n = len(rows)
    index = np.arange(n)
    matched = rows >= 0
    last = np.maximum.accumulate(np.where(matched, index, -1))
    guess = np.where(last >= 0, rows[np.maximum(last, 0)] + (index - last), -1)
    return np.where(matched, -1, guess)


def match_rows(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """For each new row, the old row it continues (-1 when none), by row hashes.

    Rows are matched as runs, the way a diff aligns lines, never occurrence by
    occurrence: a row copied elsewhere must not take its original's match (the
    k-th copy matched to the k-th old one breaks every run it lands in).

    1. Anchors: a window of :data:`~.chunking.WINDOW` rows found exactly once
       among the old rows and once among the new ones pairs its last rows.
    2. Each matched row extends its run forward, then backward, over rows whose
       hashes equal the old neighbours' and whose old rows are still free; a
       run stopped by a deleted row resumes past up to :data:`_MAX_SKIP` old
       rows, so short runs between nearby edits join too.
    3. The same again with single rows as anchors, among rows still open: it
       reaches short runs between nearby edits, which no whole window spans.

    Rows left unmatched (fresh rows, inserted copies) become residual rows.
    """
    match = np.full(len(new), -1, np.int64)
    if len(old) == 0 or len(new) == 0:
        return match
    windows = (chunking.window_hashes(old), chunking.window_hashes(new))
    for old_keys, new_keys in (windows, (old, new)):
        match = _anchor(match, old_keys, new_keys)
        for _ in range(_ROUNDS):
            before = int((match >= 0).sum())
            for skip in range(_MAX_SKIP + 1):
                match = _extend(match, old, new, skip)
                flipped = _extend(_flip(match, len(old)), old[::-1], new[::-1], skip)
                match = _flip(flipped, len(old))
            if int((match >= 0).sum()) == before:
                break
    return match


def _anchor(match: np.ndarray, old_keys: np.ndarray, new_keys: np.ndarray) -> np.ndarray:
    """Pair open new rows with free old rows by keys found once on each side."""
    import pandas as pd

    free = np.ones(len(old_keys), dtype=bool)
    free[match[match >= 0]] = False
    old_at, new_at = np.flatnonzero(free), np.flatnonzero(match < 0)
    old_once = old_at[~pd.Series(old_keys[old_at]).duplicated(keep=False).to_numpy()]
    new_once = new_at[~pd.Series(new_keys[new_at]).duplicated(keep=False).to_numpy()]
    found = pd.Index(old_keys[old_once]).get_indexer(new_keys[new_once])
    out = match.copy()
    out[new_once[found >= 0]] = old_once[found[found >= 0]]
    return out


def _flip(match: np.ndarray, n_old: int) -> np.ndarray:
    """The same matching with both sides reversed."""
    out = match[::-1].copy()
    hit = out >= 0
    out[hit] = n_old - 1 - out[hit]
    return out


def _extend(match: np.ndarray, old: np.ndarray, new: np.ndarray, skip: int = 0) -> np.ndarray:
    """Extend every matched run forward while the next rows agree and the old rows are free.

    With ``skip``, the run continues ``skip`` old rows further on (rows deleted there).
    """
    n = len(match)
    index = np.arange(n)
    matched = match >= 0
    used = np.zeros(len(old), dtype=bool)
    used[match[matched]] = True
    last = np.maximum.accumulate(np.where(matched, index, -1))
    guess = np.where(last >= 0, match[np.maximum(last, 0)] + (index - last) + skip, -1)
    open_ = ~matched & (last >= 0) & (guess < len(old))
    ok = np.zeros(n, dtype=bool)
    at = np.flatnonzero(open_)
    ok[at] = (old[guess[at]] == new[at]) & ~used[guess[at]]
    # a row joins its run only when every row between the run's end and it joined too
    broken = np.maximum.accumulate(np.where(~matched & ~ok, index, -1))
    take = np.flatnonzero(ok & (broken < last))
    if skip and len(take):
        # a run resumed past skipped rows must be long or close its gap: in low-entropy
        # data short runs agree by chance, and a misaligned run splits a chunk into many
        ahead = np.minimum.accumulate(np.where(matched, index, n)[::-1])[::-1]
        runs_at, starts, sizes = np.unique(last[take], return_index=True, return_counts=True)
        closes = runs_at + sizes + 1 == ahead[take[starts + sizes - 1]]
        keep = (sizes >= _MIN_RESUMED) | closes
        take = take[np.repeat(keep, sizes)]
    if len(take):
        # two runs reaching the same old row: the first keeps it
        _, first = np.unique(guess[take], return_index=True)
        take = take[np.sort(first)]
    out = match.copy()
    out[take] = guess[take]
    return out
