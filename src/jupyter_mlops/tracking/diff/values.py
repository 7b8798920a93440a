"""Params, metrics and environments of two runs, compared."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..mlflow_bridge.store import mlflow_errors

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient

__all__ = ["compare_env", "compare_metrics", "compare_params", "metric_histories"]

#: environment fields compared one to one (packages are compared by name)
ENV_FIELDS = ("python", "kernel", "git_commit", "git_dirty")


def compare_params(
    a: dict[str, str], b: dict[str, str], *, everything: bool = False
) -> list[dict[str, Any]]:
    """``{"key", "a", "b"}`` per param that differs (every param with ``everything``)."""
    keys = sorted(set(a) | set(b))
    return [
        {"key": k, "a": a.get(k), "b": b.get(k)} for k in keys if everything or a.get(k) != b.get(k)
    ]


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def compare_metrics(
    a: dict[str, float], b: dict[str, float], *, everything: bool = False
) -> list[dict[str, Any]]:
    """``{"key", "a", "b", "difference", "ratio"}`` per metric that differs.

    ``difference`` is ``b - a`` and ``ratio`` is ``b / a`` (``None`` when a side lacks the
    metric, or for a ratio over zero).
    """
    rows = []
    for key in sorted(set(a) | set(b)):
        va, vb = _finite(a.get(key)), _finite(b.get(key))
        if not everything and va == vb and (key in a) == (key in b):
            continue
        both = va is not None and vb is not None
        rows.append(
            {
                "key": key,
                "a": va,
                "b": vb,
                "difference": vb - va if both else None,  # type: ignore[operator]
                "ratio": vb / va if both and va != 0 else None,  # type: ignore[operator]
            }
        )
    return rows


def metric_histories(
    client: MlflowClient, run_id: str | None, keys: list[str]
) -> dict[str, list[list[float | None]]]:
    """``key -> [[step, value], ...]`` for the keys logged at more than one step."""
    if run_id is None:
        return {}
    out = {}
    for key in keys:
        with mlflow_errors(f"read metric {key!r} of run {run_id}"):
            points = client.get_metric_history(run_id, key)
        if len(points) > 1:
            ordered = sorted(points, key=lambda m: (m.step, m.timestamp))
            out[key] = [[m.step, _finite(m.value)] for m in ordered]
    return out


def compare_env(a: dict[str, Any], b: dict[str, Any], *, everything: bool = False) -> dict:
    """Interpreter, kernel, git commit and dirty flag, and packages added/removed/changed."""
    fields = {
        name: [a.get(name), b.get(name)]
        for name in ENV_FIELDS
        if everything or a.get(name) != b.get(name)
    }
    pa, pb = a.get("packages"), b.get("packages")
    packages: dict[str, Any] = {"added": {}, "removed": {}, "changed": {}}
    if pa is not None and pb is not None:
        packages["added"] = {n: pb[n] for n in sorted(set(pb) - set(pa))}
        packages["removed"] = {n: pa[n] for n in sorted(set(pa) - set(pb))}
        packages["changed"] = {
            n: [pa[n], pb[n]] for n in sorted(set(pa) & set(pb)) if pa[n] != pb[n]
        }
        if everything:
            packages["same"] = {n: pa[n] for n in sorted(set(pa) & set(pb)) if pa[n] == pb[n]}
    return {"fields": fields, "packages": packages}
