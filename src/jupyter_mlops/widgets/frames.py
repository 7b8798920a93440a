"""Rendering service results (pandas DataFrames) as escaped HTML tables."""

from __future__ import annotations

from typing import Any

from .tables import html_table, time_html

__all__ = ["frame_html"]

#: rows shown from one frame (the panel is for browsing, not export)
MAX_ROWS = 500
#: columns holding moments, shown relative to now ("3 min ago") with the absolute time on hover
TIME_COLUMNS = frozenset({"time", "created", "start_time", "end_time", "next_run", "tick"})


def frame_html(frame: Any, highlight: list[int] | None = None) -> str:
    """An escaped HTML table of a DataFrame's first :data:`MAX_ROWS` rows.

    Moments (datetime columns, and the columns named in :data:`TIME_COLUMNS`) read
    relative to now, with the absolute time as a tooltip.
    """
    columns = [str(c) for c in frame.columns]
    times = {
        i
        for i, (name, dtype) in enumerate(zip(columns, frame.dtypes, strict=True))
        if name in TIME_COLUMNS or str(dtype).startswith("datetime64")
    }
    rows = [
        [time_html(v) if i in times else (None if _missing(v) else v) for i, v in enumerate(record)]
        for record in frame.head(MAX_ROWS).itertuples(index=False, name=None)
    ]
    table = html_table(columns, rows, highlight=highlight or (), raw_columns=times)
    if len(frame) > MAX_ROWS:
        table += f"<div>… {len(frame) - MAX_ROWS:,} more rows</div>"
    return table


def _missing(value: Any) -> bool:
    try:
        return bool(value != value)  # NaN and NaT
    except (TypeError, ValueError):
        return False
