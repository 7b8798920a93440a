"""Input snapshots of two runs: the same digest or not, and when not, what changed in the data."""

from __future__ import annotations

from typing import Any

from ...errors import MlopsError

__all__ = ["compare_inputs"]


def _by_name(inputs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in inputs:
        out.setdefault(item["name"], item)  # a run that loaded a name twice: the first one
    return out


def compare_inputs(
    a: list[dict[str, Any]], b: list[dict[str, Any]], *, everything: bool = False
) -> list[dict[str, Any]]:
    """One row per snapshot name either run used.

    Each row has ``name``, ``a`` and ``b`` (``{"ref", "digest"}`` or ``None``), ``same``
    and, for two versions of one snapshot, ``summary``: the data diff's summary of the two
    (rows added/removed/changed, schema changes, drifted columns), or ``error`` when it
    could not be made.
    """
    ia, ib = _by_name(a), _by_name(b)
    rows = []
    for name in sorted(set(ia) | set(ib)):
        xa, xb = ia.get(name), ib.get(name)
        same = bool(xa and xb and xa["digest"] == xb["digest"])
        if same and not everything:
            continue
        row: dict[str, Any] = {
            "name": name,
            "a": {"ref": xa["ref"], "digest": xa["digest"]} if xa else None,
            "b": {"ref": xb["ref"], "digest": xb["digest"]} if xb else None,
            "same": same,
        }
        if xa and xb and not same:
            row.update(_summary(xa.get("ref"), xb.get("ref")))
        rows.append(row)
    return rows


def _summary(ref_a: str | None, ref_b: str | None) -> dict[str, Any]:
    if not ref_a or not ref_b:
        return {"error": "not both inputs are snapshots of this store; only digests compared"}
    from ...data.api import diff, drift

    try:
        doc = diff(ref_a, ref_b).to_dict()
        drifted = drift(ref_a, ref_b, log=False).drifted_columns
    except MlopsError as exc:
        return {"error": f"could not compare {ref_a} and {ref_b}: {exc}"}
    return {"summary": {"schema": doc["schema"], "rows": doc["rows"], "drifted": drifted}}
