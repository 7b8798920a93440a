"""Matching the rows of a changed chunk to the previous version's rows, as a diff aligns lines.

Rows are compared by their row hashes only; :mod:`.derive` rebuilds and re-hashes every
chunk it derives from a match, so a wrong match costs space, never correctness.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import chunking

#: one pass over a match: ``step(match, old, new) -> match``
_Step = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]

__all__ = ["aligned_rows", "crosses", "match_rows", "monotone"]

#: rows an edit bridged between two runs may span, in the new and in the old version
_MAX_GAP = 3
#: rounds of extension and bridging
_ROUNDS = 8
#: rows a run resumed past an edit needs (unless it reaches the next matched row)
_MIN_RESUMED = 8
#: rows of a run long enough to be trusted over the short runs around it: a window found
#: once by chance matches its own rows, so a stray run is a window long or a little more
_TRUSTED = 4 * chunking.WINDOW
#: the ways a run may resume past an edit, ``(old rows skipped - new rows skipped, new rows
#: skipped)``: a deletion, a change of one or a few rows, an insertion; fewest rows first
_MOVES = sorted(
    ((skip, excl) for excl in range(_MAX_GAP + 1) for skip in range(-excl, _MAX_GAP + 1)),
    key=lambda move: (2 * move[1] + move[0], move[1]),
)


def aligned_rows(rows: np.ndarray) -> np.ndarray:
    """For unmatched rows, the old row at the same distance from the last matched one."""
    n = len(rows)
    index = np.arange(n)
    matched = rows >= 0
    last = np.maximum.accumulate(np.where(matched, index, -1))
    guess = np.where(last >= 0, rows[np.maximum(last, 0)] + (index - last), -1)
    return np.where(matched, -1, guess)


def crosses(rows: np.ndarray, pieces: int) -> bool:
    """True when a match goes back somewhere and breaks into ``pieces`` runs or more."""
    steps = np.diff(rows[rows >= 0])
    return bool((steps <= 0).any()) and int((np.diff(rows) != 1).sum()) >= pieces


def monotone(rows: np.ndarray) -> np.ndarray:
    """``rows`` (a match) with the shorter of two crossing runs unmatched, until none cross.

    A chunk whose rows keep their order within each stored chunk is described by
    one mask per source and an order blob, however many edits it has; a crossing
    needs a piece of its own.
    """
    for _ in range(_ROUNDS * 4):
        hit = np.flatnonzero(rows >= 0)
        seq = rows[hit]
        if len(seq) < 2 or bool((np.diff(seq) > 0).all()):
            return rows
        starts = np.flatnonzero(np.r_[True, (np.diff(hit) != 1) | (np.diff(seq) != 1)])
        sizes = np.diff(np.r_[starts, len(seq)])
        crossing = np.flatnonzero(seq[starts[1:] - 1] >= seq[starts[1:]])
        shorter = np.where(sizes[crossing] < sizes[crossing + 1], crossing, crossing + 1)
        drop = np.zeros(len(starts), dtype=bool)
        drop[shorter] = True
        rows = rows.copy()
        rows[hit[np.repeat(drop, sizes)]] = -1
    return rows


def match_rows(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """For each new row, the old row it continues (-1 when none), by row hashes.

    Rows are matched as runs, the way a diff aligns lines, never occurrence by
    occurrence: a row copied elsewhere must not take its original's match (the
    k-th copy matched to the k-th old one breaks every run it lands in).

    1. Anchors: a window of :data:`~.chunking.WINDOW` rows found exactly once
       among the old rows and once among the new ones pairs its last rows.
    2. Each matched row extends its run forward, then backward, over rows whose
       hashes equal the old neighbours' and whose old rows are still free.
    3. Short runs that jump away from the long runs around them are dropped:
       in low-entropy data a window found once may still be a chance copy.
    4. A run stopped by an edit (deleted, changed or inserted rows, up to
       :data:`_MAX_GAP` on each side) resumes past it: of every way to resume,
       the one whose resumed run is longest, when it is long enough to be no
       accident. Taking the first rows that agree instead would, where rows
       are alike, follow a chance agreement off the true alignment.
    5. The same again with single rows as anchors, among rows still open.
    6. What is still open between two matched rows (or past the last one) is
       aligned row for row with the free old rows between theirs, from each side
       in turn, and a row is matched where its hash equals its old row's. Step 4
       passes one edit per run and round; in a long run of equal rows (a sorted
       column) changed cells every few hundred rows outnumber the rounds, and no
       window there is found once to anchor the rest.

    Rows left unmatched (fresh rows, inserted copies) become residual rows.
    """
    match = np.full(len(new), -1, np.int64)
    if len(old) == 0 or len(new) == 0:
        return match
    windows = (chunking.window_hashes(old), chunking.window_hashes(new))
    for old_keys, new_keys in (windows, (old, new)):
        match = _anchor(match, old_keys, new_keys)
        match = _both_ways(_extend, match, old, new)
        match = _drop_strays(match, len(old))
        match = _both_ways(_bridge, match, old, new)
    match = _align_gaps(match, old, new)
    return _flip(_align_gaps(_flip(match, len(old)), old[::-1], new[::-1]), len(old))


def _align_gaps(match: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Match open rows after a matched one to the old row as far after its old row, when equal.

    The old row must be free and before the old row of the next matched new row, so the
    rows keep their order.
    """
    n, n_old = len(match), len(old)
    index = np.arange(n)
    matched = match >= 0
    last = np.maximum.accumulate(np.where(matched, index, -1))
    rows = np.flatnonzero(~matched & (last >= 0))
    if len(rows) == 0:
        return match
    following = np.minimum.accumulate(np.where(matched, index, n)[::-1])[::-1][rows]
    limit = np.where(following < n, match[np.minimum(following, n - 1)], n_old)
    guess = np.full(n, -1, np.int64)
    guess[rows] = match[last[rows]] + rows - last[rows]
    used = np.zeros(n_old, dtype=bool)
    used[match[matched]] = True
    ok = guess[rows] < limit
    at, old_at = rows[ok], guess[rows[ok]]
    equal = (old[old_at] == new[at]) & ~used[old_at]
    return _take(match, at[equal], guess)


def _both_ways(step: _Step, match: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Apply ``step`` forward, then on both sides reversed, until nothing more matches."""
    for _ in range(_ROUNDS):
        before = int((match >= 0).sum())
        match = step(match, old, new)
        match = _flip(step(_flip(match, len(old)), old[::-1], new[::-1]), len(old))
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


def _extend(match: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Extend every matched run forward while the next rows agree and the old rows are free."""
    n = len(match)
    index = np.arange(n)
    matched = match >= 0
    used = np.zeros(len(old), dtype=bool)
    used[match[matched]] = True
    last = np.maximum.accumulate(np.where(matched, index, -1))
    guess = np.where(last >= 0, match[np.maximum(last, 0)] + (index - last), -1)
    open_ = ~matched & (last >= 0) & (guess < len(old))
    ok = np.zeros(n, dtype=bool)
    at = np.flatnonzero(open_)
    ok[at] = (old[guess[at]] == new[at]) & ~used[guess[at]]
    # a row joins its run only when every row between the run's end and it joined too
    broken = np.maximum.accumulate(np.where(~matched & ~ok, index, -1))
    return _take(match, np.flatnonzero(ok & (broken < last)), guess)


def _take(match: np.ndarray, take: np.ndarray, guess: np.ndarray) -> np.ndarray:
    """``match`` with rows ``take`` matched to ``guess``; of two claims on an old row, the first."""
    if len(take):
        _, first = np.unique(guess[take], return_index=True)
        take = take[np.sort(first)]
    out = match.copy()
    out[take] = guess[take]
    return out


def _bridge(match: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Resume every run stopped by an edit past it, by the move that resumes it longest.

    A gap is a stretch of unmatched new rows after a matched one; a move skips
    ``excl`` new rows and ``excl + skip`` old ones, and the resumed run must stay
    before the old row of the next matched row. It is taken when its run is
    :data:`_MIN_RESUMED` rows long or fills the gap up to the next run exactly.
    """
    n, n_old = len(match), len(old)
    matched = match >= 0
    last = np.maximum.accumulate(np.where(matched, np.arange(n), -1))
    rows = np.flatnonzero(~matched & (last >= 0))
    if len(rows) == 0:
        return match
    before = last[rows]
    firsts = np.flatnonzero(np.r_[True, np.diff(before) != 0])
    gap = np.repeat(np.arange(len(firsts)), np.diff(np.r_[firsts, len(rows)]))
    sizes = np.diff(np.r_[firsts, len(rows)])
    rank = rows - before - 1
    origin = match[before[firsts]]
    following = before[firsts] + sizes + 1
    limit = np.where(following < n, match[np.minimum(following, n - 1)], n_old)
    used = np.zeros(n_old, dtype=bool)
    used[match[matched]] = True
    best = np.zeros(len(firsts), np.int64)
    chosen = np.zeros((len(firsts), 2), np.int64)
    for skip, excl in _MOVES:
        guess = origin[gap] + 1 + rank + skip
        valid = rank >= excl
        ok = valid & (guess < limit[gap])
        at = np.flatnonzero(ok)
        ok[at] = (old[guess[at]] == new[rows[at]]) & ~used[guess[at]]
        stop = sizes.copy()
        failed = np.flatnonzero(valid & ~ok)
        np.minimum.at(stop, gap[failed], rank[failed])
        length = stop - excl
        closes = (stop == sizes) & (origin + 1 + sizes + skip == limit) & (following < n)
        enough = (length >= _MIN_RESUMED) | (closes & (length > 0)) | ((skip, excl) == (0, 0))
        better = enough & (length > best)
        best[better] = length[better]
        chosen[better] = (skip, excl)
    skip, excl = chosen[gap, 0], chosen[gap, 1]
    joins = (best[gap] > 0) & (rank >= excl) & (rank < excl + best[gap])
    guess = np.full(n, -1, np.int64)
    guess[rows] = origin[gap] + 1 + rank + skip
    return _take(match, rows[joins], guess)


def _drop_strays(match: np.ndarray, n_old: int) -> np.ndarray:
    """Unmatch short runs whose old rows lie outside the long runs around them.

    In low-entropy data a window found once may still be a copy from far away;
    its run then crosses the runs around it, and the chunk needs a piece per
    crossing. A run shorter than :data:`_TRUSTED` rows whose old rows do not lie
    between those of the nearest long runs before and after it (which agree
    with each other) is such a stray: its rows are better matched again or kept new.
    """
    hit = np.flatnonzero(match >= 0)
    if len(hit) < 3:
        return match
    seq = match[hit]
    starts = np.flatnonzero(np.r_[True, (np.diff(hit) != 1) | (np.diff(seq) != 1)])
    sizes = np.diff(np.r_[starts, len(seq)])
    low, high = seq[starts], seq[starts + sizes - 1]
    long_ = sizes >= _TRUSTED
    runs = np.arange(len(starts))
    prior = np.maximum.accumulate(np.where(long_, runs, -1))
    prior = np.r_[-1, prior[:-1]]
    later = np.minimum.accumulate(np.where(long_, runs, len(runs))[::-1])[::-1]
    later = np.r_[later[1:], len(runs)]
    floor = np.where(prior >= 0, high[np.maximum(prior, 0)], -1)
    ceiling = np.where(later < len(runs), low[np.minimum(later, len(runs) - 1)], n_old)
    stray = ~long_ & (floor < ceiling) & ((low <= floor) | (high >= ceiling))
    if not stray.any():
        return match
    out = match.copy()
    out[hit[np.repeat(stray, sizes)]] = -1
    return out
