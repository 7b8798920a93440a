"""The Runs tab: experiment picker, MLflow filter box, sortable paged table, run selection.

Pages come from a :class:`~jupyter_mlops.tracking.reading.index.RunsIndex`, so any sort
(metrics included) or filter answers in milliseconds on 10,000 runs. The grid
of cell widgets is built once per page size and column set; a page change only
updates cell values.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as w
from ipywidgets.widgets.widget_string import HTMLStyle

from ..errors import InvalidInput, MlopsError
from ..tracking.reading.index import RunRow, RunsIndex, shared_index
from .tables import esc, format_value, message, status_html, time_html

__all__ = ["PAGE_SIZES", "RunsTab"]

PAGE_SIZES = (10, 25, 50, 100)
#: fixed columns: key -> (title, order key)
_FIXED = {
    "status": ("status", "attributes.status"),
    "start": ("start", "attributes.start_time"),
    "duration": ("duration", "duration"),
}
#: metric/param columns shown by default
DEFAULT_METRICS, DEFAULT_PARAMS = 4, 3


def _duration_text(row: RunRow) -> str:
    seconds = row.duration_s
    if seconds is None:
        return "running" if row.status == "RUNNING" else "-"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def _cell(row: RunRow, column: str) -> str:
    if column == "status":
        return status_html(row.status)
    if column == "start":
        return time_html(row.start_time)
    if column == "duration":
        return esc(_duration_text(row))
    kind, _, key = column.partition(".")
    value = row.metrics.get(key) if kind == "metrics" else row.params.get(key)
    return f'<span title="{esc(value)}">{esc(format_value(value))}</span>'


class RunsTab:
    """Browse the runs of one experiment.

    Parameters
    ----------
    client : MlflowClient
    tracking_uri : str
    experiments : list of (name, id)
        Choices for the experiment picker.
    experiment_id : str
        The experiment shown first.
    filter_string : str
        Initial MLflow filter.
    page_size : int
        Rows per page, one of :data:`PAGE_SIZES`.
    """

    def __init__(
        self,
        client: Any,
        tracking_uri: str,
        experiments: list[tuple[str, str]],
        experiment_id: str,
        filter_string: str = "",
        page_size: int = 25,
    ) -> None:
        if page_size not in PAGE_SIZES:
            raise InvalidInput(
                f"page size must be one of {', '.join(map(str, PAGE_SIZES))}, got {page_size}"
            )
        self._client, self._uri = client, tracking_uri
        self._lock = threading.RLock()
        self._on_select: list[Callable[[RunRow | None], None]] = []
        self.filter_string, self.order_by, self.offset = "", ["attributes.start_time DESC"], 0
        self.rows: list[RunRow] = []
        self.total = 0
        self.selected: str | None = None
        #: run ids ticked for comparison, in ticking order
        self.compare_ids: list[str] = []
        self._build_controls(experiments, experiment_id, page_size, filter_string)
        self.index = self._open_index(experiment_id)
        self.columns.options = self._column_choices()
        self.columns.value = self._default_columns()
        self.columns.observe(lambda _: self._rebuild_grid(), "value")
        self._rebuild_grid()
        self.set_filter(filter_string)

    # -- widgets ------------------------------------------------------------------------
    def _build_controls(
        self, experiments: list[tuple[str, str]], experiment_id: str, page_size: int, text: str
    ) -> None:
        self.experiment = w.Dropdown(
            options=experiments, value=experiment_id, description="Experiment"
        )
        self.filter_box = w.Text(
            value=text,
            placeholder="metrics.acc > 0.8 and params.model = 'rf'",
            description="Filter",
            continuous_update=False,
            layout=w.Layout(width="420px"),
        )
        self.message = w.HTML()
        self.columns = w.SelectMultiple(description="Columns", rows=4)
        self.page_size = w.Dropdown(options=PAGE_SIZES, value=page_size, description="Rows")
        self.prev_button = w.Button(description="◀ Prev", layout=w.Layout(width="80px"))
        self.next_button = w.Button(description="Next ▶", layout=w.Layout(width="80px"))
        self.page_label = w.HTML()
        self.grid = w.GridBox()
        self.experiment.observe(lambda c: self.set_experiment(c["new"]), "value")
        self.filter_box.observe(lambda c: self.set_filter(c["new"]), "value")
        self.page_size.observe(lambda _: self._rebuild_grid(), "value")
        self.prev_button.on_click(lambda _: self.go_to_page(self.page_number - 1))
        self.next_button.on_click(lambda _: self.go_to_page(self.page_number + 1))
        pager = w.HBox([self.prev_button, self.page_label, self.next_button, self.page_size])
        top = w.HBox([self.experiment, self.filter_box])
        self.widget = w.VBox([top, self.message, self.columns, self.grid, pager])

    def _open_index(self, experiment_id: str) -> RunsIndex:
        index = shared_index(self._uri, [experiment_id], self._client)
        index.refresh()
        return index

    def _column_choices(self) -> list[str]:
        keys = self.index.keys()
        return [f"metrics.{k}" for k in keys["metrics"]] + [f"params.{k}" for k in keys["params"]]

    def _default_columns(self) -> tuple[str, ...]:
        options = list(self.columns.options)
        metrics = [c for c in options if c.startswith("metrics.")][:DEFAULT_METRICS]
        params = [c for c in options if c.startswith("params.")][:DEFAULT_PARAMS]
        return tuple(metrics + params)

    @property
    def shown_columns(self) -> list[str]:
        """Columns after the run name, in display order."""
        return [*_FIXED, *self.columns.value]

    def _rebuild_grid(self) -> None:
        with self._lock:
            cols = self.shown_columns
            self.header_buttons = {c: self._header_button(c) for c in ["name", *cols]}
            size = self.page_size.value
            self.tick_boxes = [
                w.Checkbox(indent=False, layout=w.Layout(width="24px")) for _ in range(size)
            ]
            for n, box in enumerate(self.tick_boxes):
                box.observe(lambda c, n=n: self._ticked(n, c["new"]), "value")
            self.name_buttons = [self._name_button(n) for n in range(size)]
            # one Layout and style shared by every cell: a third of the widgets to create
            layout, style = w.Layout(), HTMLStyle()
            self.cells = [[w.HTML(layout=layout, style=style) for _ in cols] for _ in range(size)]
            children: list[w.Widget] = [w.HTML("<b>⇄</b>"), *self.header_buttons.values()]
            for n in range(size):
                children += [self.tick_boxes[n], self.name_buttons[n], *self.cells[n]]
            self.grid.children = children
            self.grid.layout = w.Layout(
                # max-content: a header button is as wide as its name, never cut to "metric…"
                grid_template_columns=(
                    f"28px minmax(120px, max-content) "
                    f"repeat({len(cols)}, minmax(80px, max-content))"
                ),
                grid_gap="0px 6px",
            )
            self._render()

    def _header_button(self, column: str) -> w.Button:
        title = _FIXED[column][0] if column in _FIXED else column
        button = w.Button(description=title, tooltip=f"sort by {title}")
        button.layout = w.Layout(width="max-content", min_width="100%")
        button.on_click(lambda _, c=column: self.sort_by(c))
        return button

    def _name_button(self, n: int) -> w.Button:
        # a run name reads as a link (it opens the run), not as one more button
        button = w.Button(layout=w.Layout(width="auto", justify_content="flex-start"))
        button.style.button_color = "transparent"
        button.style.text_color = "var(--jp-content-link-color, #1976d2)"
        button.add_class("jp-mlops-run-link")
        button.on_click(lambda _, n=n: self._clicked(n))
        return button

    # -- actions ------------------------------------------------------------------------
    @property
    def page_number(self) -> int:
        """1-based number of the page shown."""
        return self.offset // self.page_size.value + 1

    @property
    def page_count(self) -> int:
        """Pages the current filter gives (at least 1)."""
        return max(1, -(-self.total // self.page_size.value))

    def set_experiment(self, experiment_id: str) -> None:
        """Show the runs of another experiment (filter kept, sort and page reset)."""
        with self._lock:
            self.index = self._open_index(experiment_id)
            if self.experiment.value != experiment_id:
                self.experiment.value = experiment_id
            self.columns.options = self._column_choices()
            self.columns.value = self._default_columns()
            self.order_by, self.offset = ["attributes.start_time DESC"], 0
            self._render()

    def set_filter(self, text: str) -> bool:
        """Apply an MLflow filter; a bad one shows a message and keeps the last good view."""
        with self._lock:
            if self.filter_box.value != text:
                self.filter_box.value = text  # observer calls back here
                return self.filter_string == text.strip()
            old = self.filter_string
            self.filter_string, self.offset = text.strip(), 0
            if not self._render():
                self.filter_string = old
                return False
            return True

    def sort_by(self, column: str) -> None:
        """Sort by ``column`` (``name``, ``status``, ``start``, ``duration``, ``metrics.k``,
        ``params.k``); the same column again flips the direction. Metrics start descending.
        """
        with self._lock:
            key = self._order_key(column)
            current = self.order_by[0] if self.order_by else ""
            if current.startswith(key + " "):
                direction = "ASC" if current.endswith("DESC") else "DESC"
            else:
                direction = "DESC" if column.startswith("metrics.") or column == "start" else "ASC"
            self.order_by, self.offset = [f"{key} {direction}"], 0
            self._render()

    @staticmethod
    def _order_key(column: str) -> str:
        if column == "name":
            return "attributes.run_name"
        if column in _FIXED:
            return _FIXED[column][1]
        kind, _, key = column.partition(".")
        if kind not in ("metrics", "params") or not key:
            raise InvalidInput(
                f"cannot sort by {column!r}; use name, status, start, duration, "
                "metrics.KEY or params.KEY"
            )
        return f"{kind}.`{key}`"

    def go_to_page(self, number: int) -> None:
        """Show page ``number`` (1-based, clamped to the pages there are)."""
        with self._lock:
            number = min(max(1, number), self.page_count)
            self.offset = (number - 1) * self.page_size.value
            self._render()

    def select(self, run_id: str | None) -> None:
        """Select run ``run_id`` (``None`` clears) and tell listeners (the detail view)."""
        with self._lock:
            self.selected = run_id
            row = self.index.get(run_id) if run_id else None
            self._paint_selection()
        for callback in self._on_select:
            callback(row)

    def on_select(self, callback: Callable[[RunRow | None], None]) -> None:
        """Call ``callback(row)`` whenever a run is selected."""
        self._on_select.append(callback)

    def refresh(self) -> bool:
        """Re-read the store; redraw the page if anything changed. Returns whether it did."""
        with self._lock:
            if not self.index.refresh():
                return False
            choices = self._column_choices()
            if list(self.columns.options) != choices:
                chosen = self.columns.value
                self.columns.options = choices
                self.columns.value = tuple(c for c in chosen if c in choices) or (
                    self._default_columns()
                )
            self._render()
            return True

    # -- rendering ---------------------------------------------------------------------
    def _render(self) -> bool:
        try:
            page = self.index.page(
                self.filter_string, self.order_by, self.offset, self.page_size.value
            )
        except MlopsError as exc:
            self.message.value = message(str(exc))
            return False
        self.rows, self.total = page.rows, page.total
        self.message.value = ""
        self._paint()
        return True

    def _paint(self) -> None:
        cols = self.shown_columns
        for n, name_button in enumerate(self.name_buttons):
            row = self.rows[n] if n < len(self.rows) else None
            name_button.description = (row.name or row.run_id[:8]) if row else ""
            name_button.tooltip = f"{row.name} ({row.run_id})" if row else ""
            name_button.disabled = row is None
            name_button.layout.visibility = "visible" if row else "hidden"
            self.tick_boxes[n].layout.visibility = "visible" if row else "hidden"
            self.tick_boxes[n].value = bool(row and row.run_id in self.compare_ids)
            for cell, column in zip(self.cells[n], cols, strict=True):
                cell.value = _cell(row, column) if row else ""
        self._paint_header()
        self._paint_selection()
        first = self.offset + 1 if self.rows else 0
        last = self.offset + len(self.rows)
        self.page_label.value = (
            f"&nbsp;{first:,}–{last:,} of {self.total:,} "
            f"(page {self.page_number} of {self.page_count})&nbsp;"
        )
        self.prev_button.disabled = self.page_number <= 1
        self.next_button.disabled = self.page_number >= self.page_count

    def _paint_header(self) -> None:
        current = self.order_by[0] if self.order_by else ""
        for column, button in self.header_buttons.items():
            title = _FIXED[column][0] if column in _FIXED else column
            key = self._order_key(column)
            arrow = ""
            if current.startswith(key + " "):
                arrow = " ▼" if current.endswith("DESC") else " ▲"
            button.description = title + arrow

    def _paint_selection(self) -> None:
        for n, button in enumerate(self.name_buttons):
            chosen = n < len(self.rows) and self.rows[n].run_id == self.selected
            button.button_style = "info" if chosen else ""

    def _clicked(self, n: int) -> None:
        if n < len(self.rows):
            self.select(self.rows[n].run_id)

    def _ticked(self, n: int, on: bool) -> None:
        if n >= len(self.rows):
            return
        rid = self.rows[n].run_id
        if on and rid not in self.compare_ids:
            self.compare_ids.append(rid)
        elif not on and rid in self.compare_ids:
            self.compare_ids.remove(rid)
