"""The Table tab: every run of the panel's experiment, grouped, with parallel coordinates.

Rows come from :func:`jupyter_mlops.tracking.reading.columns.runs_columns` (the runs index):
nested runs are indented under their parent, the first :data:`MAX_TABLE_ROWS` are
shown as escaped HTML, and the charts are Vega-Lite drawn by the frontend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ..errors import MlopsError
from ..tracking.reading.columns import nested_order, runs_columns
from .charts import output_of
from .table_charts import numeric_columns, runs_charts
from .tables import CELL_STYLE, esc, format_value, message, status_html, time_html

__all__ = ["TableTab"]

#: rows drawn in the HTML table (the charts take up to 5,000 runs)
MAX_TABLE_ROWS = 200
_ORDER_DEFAULT = "attributes.start_time DESC"


class TableTab:
    """Runs of one experiment as a grouped table, parallel coordinates and a scatter.

    Parameters
    ----------
    client : MlflowClient
    tracking_uri : str
    experiment_id : callable
        Returns the experiment to show (the Runs tab's choice).
    """

    def __init__(self, client: Any, tracking_uri: str, experiment_id: Callable[[], str]) -> None:
        self._client, self._uri, self._experiment_id = client, tracking_uri, experiment_id
        self.loaded = False
        self.data: dict[str, Any] = {}
        self.filter_box = w.Text(
            placeholder="metrics.acc > 0.8 and params.model = 'rf'",
            description="Filter",
            continuous_update=False,
            layout=w.Layout(width="420px"),
        )
        self.columns = w.SelectMultiple(description="Columns", rows=5)
        self.order = w.Dropdown(description="Sort by", options=[_ORDER_DEFAULT])
        self.x = w.Dropdown(description="x")
        self.y = w.Dropdown(description="y")
        self.message = w.HTML()
        self.table = w.HTML()
        self.charts = w.Output()
        #: set while the tab changes its own controls (their observers stay quiet)
        self._quiet = False
        for control in (self.filter_box, self.order, self.columns):
            control.observe(self._user_changed, "value")
        for axis in (self.x, self.y):
            axis.observe(self._axis_changed, "value")
        self.widget = w.VBox(
            [
                w.HBox([self.filter_box, self.order]),
                w.HBox([self.columns, w.VBox([self.x, self.y])]),
                self.message,
                self.charts,
                self.table,
            ]
        )

    def _user_changed(self, _: Any) -> None:
        if not self._quiet:
            self.load()

    def _axis_changed(self, _: Any) -> None:
        if not self._quiet:
            self._draw_charts()

    def load(self) -> None:
        """(Re)read the runs for the filter, order and columns."""
        self.loaded = True
        try:
            self.data = self._fetch()
            if self._offer_columns():
                self.data = self._fetch()
        except MlopsError as exc:
            self.message.value = message(str(exc))
            return
        total, shown = self.data["total"], len(self.data["runs"]["run_id"])
        self.message.value = message(
            f"{total} runs"
            + (f", first {MAX_TABLE_ROWS} in the table" if shown > MAX_TABLE_ROWS else ""),
            "info",
        )
        self.table.value = self._table_html()
        self._draw_charts()

    def _fetch(self) -> dict[str, Any]:
        return runs_columns(
            self._uri,
            [self._experiment_id()],
            self._client,
            self.filter_box.value,
            [self.order.value],
            list(self.columns.value),
        )

    def _offer_columns(self) -> bool:
        """Offer the keys present as columns; return whether the picked columns changed."""
        keys = self.data["keys"]
        choices = [f"{k}.{key}" for k in ("metrics", "params", "tags") for key in keys[k]]
        if list(self.columns.options) == choices:
            return False
        before = self.columns.value
        picked = [c for c in before if c in choices]
        if not self.columns.options:  # first load: the first metrics and params
            picked = [c for c in choices if c.startswith("metrics.")][:4]
            picked += [c for c in choices if c.startswith("params.")][:4]
        sortable = [c for c in choices if not c.startswith("tags.")]
        order = self.order.value
        self._quiet = True
        try:
            self.columns.options = choices
            self.columns.value = tuple(picked)
            self.order.options = [_ORDER_DEFAULT, *(f"{c} DESC" for c in sortable),
                                  *(f"{c} ASC" for c in sortable)]  # fmt: skip
            self.order.value = order if order in self.order.options else _ORDER_DEFAULT
        finally:
            self._quiet = False
        return tuple(picked) != before

    def _table_html(self) -> str:
        runs, cols = self.data["runs"], self.data["columns"]
        th, td = f'<th style="{CELL_STYLE}"', f'<td style="{CELL_STYLE}"'
        header = "".join(f'{th} title="{esc(c)}">{esc(c.partition(".")[2])}</th>' for c in cols)
        body = []
        for i, depth in nested_order(runs["run_id"], runs["parent_id"])[:MAX_TABLE_ROWS]:
            name = runs["name"][i] or runs["run_id"][i][:8]
            indent = f"{CELL_STYLE};padding-left:{4 + 16 * depth}px"
            values = "".join(f"{td}>{esc(format_value(cols[c][i]))}</td>" for c in cols)
            body.append(
                f'<tr data-depth="{depth}"><td style="{indent}" title="{esc(runs["run_id"][i])}">'
                f"{'↳ ' if depth else ''}{esc(name)}</td>{td}>{status_html(runs['status'][i])}</td>"
                f"{td}>{time_html(runs['start_time'][i])}</td>{values}</tr>"
            )
        return (
            f'<table style="border-collapse:collapse"><thead><tr>{th}>run</th>{th}>status</th>'
            f"{th}>start</th>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        )

    def _draw_charts(self) -> None:
        if not self.data:
            return
        numeric = list(numeric_columns(self.data["columns"]))
        metrics = [c for c in numeric if c.startswith("metrics.")]
        others = [c for c in numeric if c not in metrics]
        self._quiet = True
        try:
            for axis, default in ((self.x, [*others, *numeric]), (self.y, [*metrics, *numeric])):
                if list(axis.options) != numeric:
                    axis.options = numeric
                    axis.value = default[0] if default else None
        finally:
            self._quiet = False
        bundle = runs_charts(
            self.data["runs"]["name"], self.data["columns"], self.x.value, self.y.value
        )
        self.charts.outputs = output_of(bundle)
