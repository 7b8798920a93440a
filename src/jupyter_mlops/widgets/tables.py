"""Escaped HTML for tables, key/value lists and messages shown in the panel."""

from __future__ import annotations

import datetime as dt
import html
import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "esc",
    "format_value",
    "html_table",
    "message",
    "relative_time",
    "time_html",
]

#: colours of run statuses (JupyterLab's palette variables with fallbacks)
STATUS_COLOURS = {
    "RUNNING": "var(--jp-info-color1, #0b7ad1)",
    "FINISHED": "var(--jp-success-color1, #388e3c)",
    "FAILED": "var(--jp-error-color1, #d32f2f)",
    "KILLED": "var(--jp-warn-color1, #f57c00)",
    "SCHEDULED": "var(--jp-ui-font-color2, #757575)",
}
CELL_STYLE = "padding:2px 8px;text-align:left;border-bottom:1px solid var(--jp-border-color2,#ddd)"
DIFF_STYLE = "background:var(--jp-warn-color3,#fff3cd)"


def esc(value: Any) -> str:
    """``value`` as text safe inside HTML (quotes escaped too, so safe in attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def format_value(value: Any) -> str:
    """Short display form: 4 significant digits for floats, ``-`` for missing."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _moment(value: Any) -> dt.datetime | None:
    """``value`` (epoch ms, ISO 8601 text, a datetime or pandas Timestamp) as an aware time.

    Times without an offset are UTC, as the services give them.
    """
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):  # numpy's integers too
        ms = float(value)
        if not math.isfinite(ms) or ms <= 0:
            return None
        return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc)
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    to_datetime = getattr(value, "to_pydatetime", None)
    if to_datetime is not None:  # pandas Timestamp; NaT has no time
        if value != value:
            return None
        value = to_datetime()
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def relative_time(moment: dt.datetime, now: dt.datetime | None = None) -> str:
    """``moment`` relative to ``now``: ``just now``, ``5 min ago``, ``3 h ago``, ``in 2 d``.

    Older or further than 30 days: the date (``Dec 6, 2026``), as the JupyterLab views say it.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    delta = (moment - now).total_seconds()
    span = abs(delta)
    if span < 45:
        return "just now"
    if span < 3600:
        amount = f"{round(span / 60)} min"
    elif span < 86400:
        amount = f"{round(span / 3600)} h"
    elif span < 30 * 86400:
        amount = f"{round(span / 86400)} d"
    else:
        local = moment.astimezone()
        return f"{local:%b} {local.day}, {local.year}"
    return f"{amount} ago" if delta < 0 else f"in {amount}"


def time_html(value: Any, now: dt.datetime | None = None) -> str:
    """A moment shown relative to now with the absolute local time as its tooltip (``-`` if none).

    ``value``: epoch milliseconds, ISO 8601 text, a datetime or a pandas Timestamp.
    """
    moment = _moment(value)
    if moment is None:
        return "-"
    absolute = moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    return (
        f'<time datetime="{esc(moment.isoformat())}" title="{esc(absolute)}">'
        f"{esc(relative_time(moment, now))}</time>"
    )


def status_html(status: str) -> str:
    """A run status, coloured."""
    colour = STATUS_COLOURS.get(status, "inherit")
    return f'<span style="color:{colour};font-weight:600">{esc(status)}</span>'


def html_table(
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    highlight: Iterable[int] = (),
    raw_columns: Iterable[int] = (),
) -> str:
    """An HTML table; every cell is escaped unless its column is in ``raw_columns``.

    Parameters
    ----------
    header : sequence of str
    rows : iterable of sequences
    highlight : iterable of int
        Row numbers drawn with the "differs" background.
    raw_columns : iterable of int
        Columns whose cells are already HTML built by this module.
    """
    marked, raw = set(highlight), set(raw_columns)
    head = "".join(f'<th style="{CELL_STYLE}">{esc(h)}</th>' for h in header)
    body = []
    for n, row in enumerate(rows):
        style = f' style="{DIFF_STYLE}"' if n in marked else ""
        cells = "".join(
            f'<td style="{CELL_STYLE}">{c if i in raw else esc(format_value(c))}</td>'
            for i, c in enumerate(row)
        )
        body.append(f"<tr{style}>{cells}</tr>")
    return (
        '<table style="border-collapse:collapse;font-size:var(--jp-ui-font-size1,13px)">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def message(text: str, kind: str = "error") -> str:
    """One line of feedback (``error``, ``info`` or ``ok``), escaped."""
    colours = {
        "error": "var(--jp-error-color1,#d32f2f)",
        "info": "var(--jp-ui-font-color2,#616161)",
        "ok": "var(--jp-success-color1,#388e3c)",
    }
    return f'<span style="color:{colours[kind]}">{esc(text)}</span>'
