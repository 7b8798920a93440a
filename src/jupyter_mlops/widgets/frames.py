"""Rendering service results (pandas DataFrames) as escaped HTML tables."""

from __future__ import annotations

from typing import Any

from .tables import html_table

__all__ = ["frame_html"]

#: rows shown from one frame (the panel is for browsing, not export)
MAX_ROWS = 500


def frame_html(frame: Any, highlight: list[int] | None = None) -> str:
    """An escaped HTML table of a DataFrame's first :data:`MAX_ROWS` rows."""
    columns = [str(c) for c in frame.columns]
    rows = [
        [None if _missing(v) else v for v in record]
        for record in frame.head(MAX_ROWS).itertuples(index=False, name=None)
    ]
    table = html_table(columns, rows, highlight=highlight or ())
    if len(frame) > MAX_ROWS:
        table += f"<div>… {len(frame) - MAX_ROWS:,} more rows</div>"
    return table


def _missing(value: Any) -> bool:
    try:
        return bool(value != value)  # NaN and NaT
    except (TypeError, ValueError):
        return False
