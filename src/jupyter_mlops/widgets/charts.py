"""Vega-Lite charts rendered by the frontend's built-in renderer (no extra JavaScript).

Each function returns a display bundle for an ``Output`` widget: the Vega-Lite
spec under ``application/vnd.vegalite.v5+json`` and a plain-text summary for
frontends that cannot draw it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["VEGA_LITE", "history_chart", "output_of", "performance_chart"]

VEGA_LITE = "application/vnd.vegalite.v5+json"
_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
#: points per series sent to the browser (long histories are thinned evenly)
MAX_POINTS = 2000


def _thin(points: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    if len(points) <= MAX_POINTS:
        return list(points)
    stride = math.ceil(len(points) / MAX_POINTS)
    return [*points[::stride], points[-1]]


def history_chart(
    series: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]], title: str = ""
) -> dict[str, Any]:
    """Line charts of metric histories, one small chart per metric, one line per run.

    Parameters
    ----------
    series : mapping
        ``{run label: {metric key: [{"step", "value", ...}, ...]}}``.
    title : str
        Shown above the charts (rendered as text by Vega, not HTML).

    Returns
    -------
    dict
        A display bundle (Vega-Lite spec plus ``text/plain``).
    """
    values = [
        {"run": run, "metric": key, "step": p["step"], "value": p["value"]}
        for run, metrics in series.items()
        for key, points in metrics.items()
        for p in _thin(points)
        if p.get("value") is not None
    ]
    spec = _small_multiples(
        title, values, facet="metric", colour="run", x={"field": "step", "type": "quantitative"}
    )
    return {VEGA_LITE: spec, "text/plain": _summary(series)}


#: the feedback metric charted for each task (the others are in the table)
MAIN_METRIC = {"classification": "accuracy", "regression": "mae"}


def performance_chart(report: Mapping[str, Any]) -> dict[str, Any]:
    """Live performance over time: one small chart per measure, one line per version and role.

    Parameters
    ----------
    report : mapping
        What :func:`~jupyter_mlops.models.live_performance.performance_over_time` returns.

    Returns
    -------
    dict
        A display bundle (Vega-Lite spec plus ``text/plain``).
    """
    values = []
    for v in report["versions"]:
        label = f"v{v['version']} {v['role']}"
        metric = MAIN_METRIC.get(v.get("task") or "", "accuracy")
        for bucket, point in zip(report["buckets"], v["series"], strict=True):
            measures = {
                metric: point["metrics"].get(metric),
                "label coverage": point["coverage"],
                "requests": point["requests"],
            }
            values += [
                {"series": label, "measure": m, "time": bucket["end"], "value": value}
                for m, value in measures.items()
                if value is not None
            ]
    x = {"field": "time", "type": "temporal", "title": None}
    spec = _small_multiples(
        f"Live performance of {report['model']}", values, facet="measure", colour="series", x=x
    )
    lines = [
        f"v{v['version']} {v['role']}: {v['requests']} requests, {v['labels']} labels, "
        f"{v['metrics']}"
        for v in report["versions"]
    ]
    return {VEGA_LITE: spec, "text/plain": "\n".join(lines) or "(no predictions logged)"}


def _small_multiples(
    title: str, values: list[dict[str, Any]], *, facet: str, colour: str, x: dict[str, Any]
) -> dict[str, Any]:
    """One small line chart per ``facet`` value, one line per ``colour`` value, y ``value``."""
    return {
        "$schema": _SCHEMA,
        "title": title,
        "data": {"values": values},
        "facet": {"field": facet, "type": "nominal", "title": None},
        "columns": 3,
        "resolve": {"scale": {"y": "independent"}},
        "spec": {
            "width": 220,
            "height": 140,
            "mark": {"type": "line", "point": len(values) < 200, "tooltip": True},
            "encoding": {
                "x": x,
                "y": {"field": "value", "type": "quantitative", "scale": {"zero": False}},
                "color": {"field": colour, "type": "nominal", "legend": {"orient": "bottom"}},
            },
        },
    }


def _summary(series: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]]) -> str:
    lines = []
    for run, metrics in series.items():
        for key, points in metrics.items():
            last = points[-1]["value"] if points else None
            lines.append(f"{run} {key}: {len(points)} points, last {last}")
    return "\n".join(lines) or "(no metric history)"


def output_of(bundle: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    """The ``Output.outputs`` value showing ``bundle`` (settable from any thread)."""
    return ({"output_type": "display_data", "data": dict(bundle), "metadata": {}},)
