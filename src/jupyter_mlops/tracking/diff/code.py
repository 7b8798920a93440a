"""The two stored notebooks' cells aligned by nbdime: added, removed, moved and edited cells.

nbdime aligns the cell lists (its notebook heuristics: exact, then similar sources);
each edited cell is shown as a unified diff. A removed and an added cell with the
same source are one moved cell; a removed and an added cell of one type between the
same aligned cells are one edited cell. The cell papermill injected is not code: its values
are compared as parameters.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["CellChange", "CodeDiff", "compare_code", "compare_outputs"]

INJECTED_TAG = "injected-parameters"
#: notebooks with at most this many cell pairs are aligned by nbdime in one go
_WHOLE = 2500
KINDS = ("added", "removed", "moved", "modified", "unchanged")


@dataclass
class CellChange:
    """One aligned cell; indices count every cell of the notebook from 0 (``None``: absent)."""

    kind: str
    cell_type: str
    a_index: int | None
    b_index: int | None
    a_source: str | None
    b_source: str | None
    diff: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return asdict(self)


@dataclass
class CodeDiff:
    """Cells that differ (every cell with ``all``), and the injected parameters that differ."""

    cells: list[CellChange] = field(default_factory=list)
    parameters: dict[str, list[Any]] = field(default_factory=dict)
    unchanged: int = 0

    def counts(self) -> dict[str, int]:
        """How many cells of each kind (``unchanged`` included)."""
        out = dict.fromkeys(KINDS, 0)
        for cell in self.cells:
            out[cell.kind] += 1
        out["unchanged"] = self.unchanged
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {
            "cells": [c.to_dict() for c in self.cells],
            "parameters": self.parameters,
            "unchanged": self.unchanged,
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> CodeDiff:
        """Inverse of :meth:`to_dict`."""
        cells = [CellChange(**c) for c in doc.get("cells", [])]
        return cls(cells, dict(doc.get("parameters", {})), int(doc.get("unchanged", 0)))


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _cells(notebook: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """``(index, cell)`` for every cell but the injected-parameters one, sources as text.

    Cell ids are left out: cells align by content, so notebooks whose ids were
    regenerated (an nbformat upgrade, a copy) align as well as those that kept them.
    """
    out = []
    for i, cell in enumerate(notebook.get("cells") or []):
        if INJECTED_TAG in (cell.get("metadata") or {}).get("tags", []):
            continue
        out.append(
            (
                i,
                {
                    "cell_type": cell.get("cell_type", "code"),
                    "source": _source(cell),
                    "metadata": {},
                    "outputs": [],
                },
            )
        )
    return out


def _nbdime_pairs(
    a: list[dict[str, Any]], b: list[dict[str, Any]]
) -> list[tuple[int | None, int | None]]:
    """nbdime's alignment of two cell lists, as pairs of positions."""
    from nbdime.diffing.notebooks import diff_item_at_path

    pairs: list[tuple[int | None, int | None]] = []
    i = j = 0
    for entry in diff_item_at_path(a, b, "/cells"):
        while i < entry["key"]:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        if entry["op"] == "addrange":
            for _ in entry["valuelist"]:
                pairs.append((None, j))
                j += 1
        elif entry["op"] == "removerange":
            for _ in range(entry["length"]):
                pairs.append((i, None))
                i += 1
        else:  # patch: the same cell, edited
            pairs.append((i, j))
            i, j = i + 1, j + 1
    pairs += [(i + k, j + k) for k in range(len(a) - i)]
    return pairs


def _anchors(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """Cells identical on both sides and unique on each, in an order both share.

    The longest increasing run of such pairs (as patience diff does for lines) splits
    the notebooks into small gaps, so nbdime, which compares every cell of a gap with
    every other, aligns a 200-cell notebook in milliseconds instead of seconds.
    """
    import bisect

    def unique(cells: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
        seen: dict[tuple[str, str], int] = {}
        for k, c in enumerate(cells):
            key = (c["cell_type"], c["source"])
            seen[key] = -1 if key in seen else k
        return {key: k for key, k in seen.items() if k >= 0}

    ua, ub = unique(a), unique(b)
    candidates = sorted((ua[key], ub[key]) for key in ua.keys() & ub.keys())
    tails: list[int] = []  # tails[n]: the smallest b position ending an increasing run of n+1
    links: list[int] = []
    back: list[int] = []
    for n, (_, jb) in enumerate(candidates):
        at = bisect.bisect_left(tails, jb)
        back.append(links[at - 1] if at else -1)
        if at == len(tails):
            tails.append(jb)
            links.append(n)
        else:
            tails[at] = jb
            links[at] = n
    chain, n = [], links[-1] if links else -1
    while n >= 0:
        chain.append(candidates[n])
        n = back[n]
    return chain[::-1]


def _aligned(
    a: list[tuple[int, dict[str, Any]]], b: list[tuple[int, dict[str, Any]]]
) -> list[tuple[int | None, int | None]]:
    """Pairs of positions in ``a`` and ``b`` (``None`` for an added or removed cell).

    Small notebooks go to nbdime whole; larger ones are first split at anchors.
    """
    ca, cb = [c for _, c in a], [c for _, c in b]
    if len(ca) * len(cb) <= _WHOLE:
        return _nbdime_pairs(ca, cb)
    pairs: list[tuple[int | None, int | None]] = []
    i = j = 0
    for ia, jb in [*_anchors(ca, cb), (len(ca), len(cb))]:
        if ia > i or jb > j:
            for pi, pj in _nbdime_pairs(ca[i:ia], cb[j:jb]):
                pairs.append((None if pi is None else pi + i, None if pj is None else pj + j))
        if ia < len(ca):
            pairs.append((ia, jb))
        i, j = ia + 1, jb + 1
    return pairs


def _unified(a: str, b: str, a_name: str, b_name: str) -> str:
    lines = difflib.unified_diff(
        a.splitlines(keepends=True), b.splitlines(keepends=True), a_name, b_name, n=3
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _moves(pairs: list[tuple[int | None, int | None]], a: list, b: list) -> dict[int, int]:
    """Removed position in ``a`` -> added position in ``b`` holding the same cell."""
    removed: dict[tuple[str, str], list[int]] = {}
    for i, j in pairs:
        if j is None and i is not None and a[i][1]["source"].strip():
            removed.setdefault((a[i][1]["cell_type"], a[i][1]["source"]), []).append(i)
    moves = {}
    for i, j in pairs:
        if i is None and j is not None:
            same = removed.get((b[j][1]["cell_type"], b[j][1]["source"]))
            if same:
                moves[same.pop(0)] = j
    return moves


def _paired_edits(
    pairs: list[tuple[int | None, int | None]], a: list, b: list, moves: dict[int, int]
) -> list[tuple[int | None, int | None]]:
    """Pair a removed and an added cell of one type between the same aligned cells: an edit.

    nbdime aligns only cells whose sources are similar; a short cell edited by half is a
    removal and an addition to it. Shown as one modified cell, its diff says what changed.
    """
    moved_to = set(moves.values())
    out: list[tuple[int | None, int | None]] = []
    gap: list[tuple[int | None, int | None]] = []

    def flush() -> None:
        removed = [i for i, j in gap if j is None and i is not None and i not in moves]
        partner: dict[int, int] = {}
        for i, j in gap:
            if i is None and j is not None and j not in moved_to:
                kind = b[j][1]["cell_type"]
                match = next((r for r in removed if a[r][1]["cell_type"] == kind), None)
                if match is not None:
                    removed.remove(match)
                    partner[j] = match
        taken = set(partner.values())
        for i, j in gap:
            if j is not None and j in partner:
                out.append((partner[j], j))
            elif not (j is None and i in taken):
                out.append((i, j))
        gap.clear()

    for pair in pairs:
        if pair[0] is not None and pair[1] is not None:
            flush()
            out.append(pair)
        else:
            gap.append(pair)
    flush()
    return out


def compare_code(
    a_nb: dict[str, Any],
    b_nb: dict[str, Any],
    a_params: dict[str, Any],
    b_params: dict[str, Any],
    *,
    everything: bool = False,
) -> CodeDiff:
    """Align the cells of two notebooks and compare their injected parameters."""
    a, b = _cells(a_nb), _cells(b_nb)
    pairs = _aligned(a, b)
    moves = _moves(pairs, a, b)
    pairs = _paired_edits(pairs, a, b, moves)
    moved_to = set(moves.values())
    out = CodeDiff(parameters=_parameters(a_params, b_params, everything))
    for i, j in pairs:
        if i is not None and i in moves:
            continue  # shown where it arrived
        if j is not None and j in moved_to:
            src_i = next(k for k, v in moves.items() if v == j)
            out.cells.append(_change("moved", a[src_i], b[j]))
            continue
        ca = a[i] if i is not None else None
        cb = b[j] if j is not None else None
        if ca is not None and cb is not None and ca[1]["source"] == cb[1]["source"]:
            out.unchanged += 1
            if everything:
                out.cells.append(_change("unchanged", ca, cb))
            continue
        kind = "modified" if ca and cb else ("removed" if ca else "added")
        out.cells.append(_change(kind, ca, cb))
    return out


def _change(kind: str, ca: tuple[int, dict] | None, cb: tuple[int, dict] | None) -> CellChange:
    sa = ca[1]["source"] if ca else None
    sb = cb[1]["source"] if cb else None
    cell_type = (cb or ca)[1]["cell_type"]  # type: ignore[index]
    diff = ""
    if kind in ("modified", "added", "removed"):
        a_name = f"a/cell {ca[0] + 1}" if ca else "/dev/null"
        b_name = f"b/cell {cb[0] + 1}" if cb else "/dev/null"
        diff = _unified(sa or "", sb or "", a_name, b_name)
    return CellChange(kind, cell_type, ca[0] if ca else None, cb[0] if cb else None, sa, sb, diff)


def _parameters(a: dict[str, Any], b: dict[str, Any], everything: bool) -> dict[str, list[Any]]:
    names = sorted(set(a) | set(b))
    return {n: [a.get(n), b.get(n)] for n in names if everything or a.get(n) != b.get(n)}


def _output_text(output: dict[str, Any]) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        text = output.get("text", "")
        return "".join(text) if isinstance(text, list) else str(text)
    if kind == "error":
        return f"{output.get('ename', '')}: {output.get('evalue', '')}\n"
    data = output.get("data") or {}
    if "text/plain" in data:
        text = data["text/plain"]
        return ("".join(text) if isinstance(text, list) else str(text)) + "\n"
    parts = []
    for mime, value in sorted(data.items()):
        blob = json.dumps(value, sort_keys=True).encode()
        parts.append(f"<{mime} {hashlib.sha256(blob).hexdigest()[:12]}>\n")
    return "".join(parts)


def compare_outputs(a_nb: dict[str, Any], b_nb: dict[str, Any]) -> list[dict[str, Any]]:
    """Code cells present on both sides whose outputs differ, each as a unified diff.

    Outputs are compared as text (streams, ``text/plain``, errors); other media by a
    digest of their data. Cells are aligned as in :func:`compare_code`.
    """
    a_all, b_all = a_nb.get("cells") or [], b_nb.get("cells") or []
    a, b = _cells(a_nb), _cells(b_nb)
    rows = []
    for i, j in _aligned(a, b):
        if i is None or j is None or a[i][1]["cell_type"] != "code":
            continue
        ia, jb = a[i][0], b[j][0]
        ta = "".join(_output_text(o) for o in a_all[ia].get("outputs") or [])
        tb = "".join(_output_text(o) for o in b_all[jb].get("outputs") or [])
        if ta != tb:
            diff = _unified(ta, tb, f"a/cell {ia + 1} outputs", f"b/cell {jb + 1} outputs")
            rows.append({"a_index": ia, "b_index": jb, "diff": diff})
    return rows
