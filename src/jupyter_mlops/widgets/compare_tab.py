"""The Compare tab: 2–10 runs side by side, differing params highlighted, overlaid curves.

For two runs it also shows their run diff: code cell by cell, input data, environment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as w

from ..errors import InvalidInput, MlopsError
from ..tracking.diff.api import diff_runs
from ..tracking.reading import browse
from .charts import history_chart, output_of
from .tables import html_table, message

__all__ = ["MAX_RUNS", "MIN_RUNS", "CompareTab"]

MIN_RUNS, MAX_RUNS = 2, 10


def _label(run: dict[str, Any]) -> str:
    return f"{run['name'] or '(unnamed)'} ({run['run_id'][:8]})"


def _side_by_side(
    runs: list[dict[str, Any]], field: str
) -> tuple[list[tuple[Any, ...]], list[int]]:
    """Rows ``(key, value per run...)`` over the union of keys, and which rows differ."""
    keys = sorted({k for r in runs for k in r[field]})
    rows, differ = [], []
    for n, key in enumerate(keys):
        values = [r[field].get(key) for r in runs]
        rows.append((key, *values))
        if len({repr(v) for v in values}) > 1:
            differ.append(n)
    return rows, differ


class CompareTab:
    """Compare the runs ticked in the Runs tab (or given to :meth:`compare`).

    Parameters
    ----------
    client : MlflowClient
    ticked : callable
        Returns the run ids ticked in the Runs tab.
    """

    def __init__(self, client: Any, ticked: Callable[[], list[str]]) -> None:
        self._client = client
        self._ticked = ticked
        self.run_ids: list[str] = []
        self.runs: list[dict[str, Any]] = []
        self.differing_params: list[str] = []
        self.compare_button = w.Button(description="Compare ticked runs", button_style="primary")
        self.compare_button.layout = w.Layout(width="auto")
        self.compare_button.on_click(lambda _: self.compare(self._ticked()))
        self.message = w.HTML(
            message(f"Tick {MIN_RUNS}–{MAX_RUNS} runs in the Runs tab, then Compare.", "info")
        )
        self.params_html = w.HTML()
        self.metrics_html = w.HTML()
        self.chart = w.Output()
        #: the run diff of exactly two runs (code, data, environment), else empty
        self.diff_html = w.HTML()
        self.widget = w.VBox(
            [
                w.HBox([self.compare_button, self.message]),
                w.HTML("<b>Params</b> (differing values highlighted)"),
                self.params_html,
                w.HTML("<b>Metrics</b> (latest values)"),
                self.metrics_html,
                self.chart,
                self.diff_html,
            ]
        )

    def compare(self, run_ids: Sequence[str]) -> bool:
        """Show ``run_ids`` side by side; a wrong count shows a message. Returns success."""
        ids = list(dict.fromkeys(run_ids))
        try:
            if not MIN_RUNS <= len(ids) <= MAX_RUNS:
                raise InvalidInput(
                    f"pick {MIN_RUNS} to {MAX_RUNS} runs to compare, got {len(ids)}; "
                    "tick them in the Runs tab"
                )
            runs = [browse.run_detail(self._client, rid) for rid in ids]
            curves = {_label(r): browse.metric_history(self._client, r["run_id"], []) for r in runs}
            pair = len(ids) == 2
            diff = diff_runs(*ids, only="code,data,env", client=self._client) if pair else None
        except MlopsError as exc:
            self.message.value = message(str(exc))
            return False
        self.run_ids, self.runs = ids, runs
        self.diff_html.value = diff.to_html() if diff is not None else ""
        self._render(curves)
        return True

    def _render(self, curves: dict[str, Any]) -> None:
        header = ["", *(_label(r) for r in self.runs)]
        params, differ = _side_by_side(self.runs, "params")
        self.differing_params = [params[n][0] for n in differ]
        self.params_html.value = html_table(header, params, highlight=differ)
        metrics, metric_differ = _side_by_side(self.runs, "metrics")
        self.metrics_html.value = html_table(header, metrics, highlight=metric_differ)
        self.message.value = message(
            f"{len(self.runs)} runs; {len(differ)} of {len(params)} params differ", "ok"
        )
        title = "Metric curves"
        self.chart.outputs = output_of(history_chart(curves, title)) if curves else ()
