"""Vega-Lite specs of the panel's Table tab: parallel coordinates and a scatter of runs.

Drawn by the frontend's own Vega-Lite renderer (it follows the light or dark theme);
run names travel as data and are drawn as text by Vega, never as HTML.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .charts import _SCHEMA, VEGA_LITE

__all__ = ["field_names", "numeric_columns", "runs_charts"]

#: where a value sits on its axis, 0 (lowest) to 1 (highest)
_POSITION = "datum.hi > datum.lo ? (datum.value - datum.lo) / (datum.hi - datum.lo) : 0.5"
#: most runs sent to the browser for charts
MAX_CHART_RUNS = 5000


def _as_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def numeric_columns(columns: Mapping[str, Sequence[Any]]) -> dict[str, list[float | None]]:
    """The columns whose every present value reads as a number (params included)."""
    out: dict[str, list[float | None]] = {}
    for name, values in columns.items():
        if name.startswith("tags."):
            continue
        numbers = [_as_float(v) for v in values]
        if all(n is not None for n, v in zip(numbers, values, strict=True) if v not in (None, "")):
            out[name] = numbers
    return out


def field_names(columns: Sequence[str]) -> dict[str, str]:
    """Vega-Lite field names of columns: the key alone (kind-prefixed when two clash).

    Dots and brackets would be read by Vega-Lite as nested access: they become ``_``.
    """
    keys = [c.partition(".")[2] for c in columns]
    out = {}
    for column, key in zip(columns, keys, strict=True):
        name = key if keys.count(key) == 1 else column.replace(".", ":", 1)
        out[column] = re.sub(r"[.\[\]\\]", "_", name)
    return out


def _records(
    names: Sequence[str], numbers: Mapping[str, Sequence[float | None]]
) -> list[dict[str, Any]]:
    rows = []
    for i, name in enumerate(names[:MAX_CHART_RUNS]):
        row: dict[str, Any] = {"run": name, "index": i}
        row.update({c: values[i] for c, values in numbers.items()})
        rows.append(row)
    return rows


def _parallel(axes: list[str]) -> dict[str, Any]:
    return {
        "title": "Parallel coordinates",
        "width": max(240, 90 * len(axes)),
        "height": 240,
        "transform": [
            {"fold": axes, "as": ["axis", "value"]},
            {"filter": "isValid(datum.value)"},
            {
                "joinaggregate": [
                    {"op": "min", "field": "value", "as": "lo"},
                    {"op": "max", "field": "value", "as": "hi"},
                ],
                "groupby": ["axis"],
            },
            {
                "calculate": _POSITION,
                "as": "position",
            },
        ],
        "mark": {"type": "line", "opacity": 0.3, "strokeWidth": 1},
        "encoding": {
            "x": {"field": "axis", "type": "nominal", "sort": axes, "title": None},
            "y": {"field": "position", "type": "quantitative", "axis": None},
            "detail": {"field": "index", "type": "nominal"},
            "tooltip": [{"field": "run"}, {"field": "axis"}, {"field": "value"}],
        },
    }


def _scatter(x: str, y: str) -> dict[str, Any]:
    return {
        "title": f"{y} against {x}",
        "width": 300,
        "height": 240,
        "params": [{"name": "brush", "select": "interval"}],
        "mark": {"type": "point", "filled": True, "size": 18},
        "encoding": {
            "x": {"field": x, "type": "quantitative", "scale": {"zero": False}},
            "y": {"field": y, "type": "quantitative", "scale": {"zero": False}},
            "color": {"condition": {"param": "brush", "value": "#1976d2"}, "value": "#9e9e9e"},
            "tooltip": [{"field": "run"}, {"field": x}, {"field": y}],
        },
    }


def runs_charts(
    names: Sequence[str], columns: Mapping[str, Sequence[Any]], x: str | None, y: str | None
) -> dict[str, Any]:
    """A display bundle: parallel coordinates over the numeric columns and a scatter of y on x.

    Parameters
    ----------
    names : sequence of str
        Run names, in the order of the column values.
    columns : mapping
        ``{"metrics.acc": [...], "params.lr": [...]}``; non-numeric ones are left out.
    x, y : str, optional
        Scatter axes (numeric columns); no scatter when either is missing.
    """
    fields = field_names(list(columns))
    numbers = {fields[c]: v for c, v in numeric_columns(columns).items()}
    axes = list(numbers)
    x, y = fields.get(x or ""), fields.get(y or "")
    views: list[dict[str, Any]] = []
    if len(axes) >= 2:
        views.append(_parallel(axes))
    if x in numbers and y in numbers and x != y:
        views.append(_scatter(x, y))
    if not views:
        text = "Pick two or more numeric columns to draw charts."
        return {"text/plain": text}
    spec = {"$schema": _SCHEMA, "data": {"values": _records(names, numbers)}, "hconcat": views}
    shown = min(len(names), MAX_CHART_RUNS)
    return {VEGA_LITE: spec, "text/plain": f"{shown} runs over {', '.join(axes)}"}
