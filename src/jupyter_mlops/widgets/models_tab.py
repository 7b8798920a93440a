"""The Models tab: registered models, versions, aliases, audit history and gated promotion.

Calls :mod:`jupyter_mlops.models.api` (``models``, ``history``, ``promote``);
loaded when the tab is first opened so the panel opens fast.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ..errors import InvalidInput, MlopsError
from .charts import output_of, performance_chart
from .frames import frame_html
from .tables import esc, format_value, html_table, message, time_html

__all__ = ["ModelsTab"]


def _models_api() -> Any:
    try:
        from ..models import api
    except ImportError as exc:  # pragma: no cover - only in a partial install
        raise InvalidInput(
            f"the model registry service is unavailable ({exc}); reinstall jupyter-mlops"
        ) from None
    return api


def report_html(report: Any) -> str:
    """A gate report as a table: check, value, threshold, result."""
    rows = [(c.check, c.value, c.threshold, "pass" if c.passed else "FAIL") for c in report.checks]
    failed = [n for n, c in enumerate(report.checks) if not c.passed]
    return html_table(["check", "value", "threshold", "result"], rows, highlight=failed)


def performance_table(report: Any) -> str:
    """Each version and role: requests, labels, label coverage, metrics over the window."""
    names = sorted({k for v in report["versions"] for k in v["metrics"]})
    rows = [
        (v["version"], v["role"], v["requests"], v["labels"], _percent(v["coverage"]),
         *(v["metrics"].get(k) for k in names))
        for v in report["versions"]
    ]  # fmt: skip
    header = ["version", "role", "requests", "labels", "coverage", *names]
    note = f"<div>metrics over the last {esc(format_value(report['window']))} labelled rows</div>"
    return html_table(header, rows) + note


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.0%}"


class ModelsTab:
    """Browse registered models and promote a version through its gates."""

    def __init__(self) -> None:
        self.loaded = False
        self.models_frame: Any = None
        self.report: Any = None
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.refresh_button.on_click(lambda _: self.load())
        self.message = w.HTML()
        self.models_html = w.HTML()
        self.model = w.Dropdown(description="Model", options=[])
        self.model.observe(lambda c: self.show_history(c["new"]), "value")
        self.history_html = w.HTML()
        self.monitoring_html = w.HTML()
        self.performance_html = w.HTML()
        self.performance_chart = w.Output()
        self.version = w.Text(
            description="Version", placeholder="3", layout=w.Layout(width="160px")
        )
        self.alias = w.Text(description="Alias", placeholder="production")
        self.require = w.Text(description="Require", placeholder="accuracy>=0.9, f1>=0.8")
        self.beat = w.Text(description="Beat alias", placeholder="production")
        self.on = w.Text(description="On metric", placeholder="accuracy")
        self.lower = w.Checkbox(description="lower is better", indent=False)
        self.promote_button = w.Button(description="Run gates & promote", button_style="warning")
        self.promote_button.layout = w.Layout(width="auto")
        self.promote_button.on_click(lambda _: self.promote())
        self.report_html = w.HTML()
        form = w.VBox(
            [
                w.HBox([self.version, self.alias]),
                w.HBox([self.require]),
                w.HBox([self.beat, self.on, self.lower]),
                self.promote_button,
            ]
        )
        self.widget = w.VBox(
            [
                w.HBox([self.refresh_button, self.message]),
                self.models_html,
                w.HTML("<b>History</b>"),
                self.model,
                self.history_html,
                w.HTML("<b>Monitoring</b> (latest runs and alerts of each version)"),
                self.monitoring_html,
                w.HTML(
                    "<b>Live performance</b> (from the prediction log: each version and role, "
                    "labelled predictions over time)"
                ),
                self.performance_html,
                self.performance_chart,
                w.HTML("<b>Promote</b> (gates run first; the alias moves only if all pass)"),
                form,
                self.report_html,
            ]
        )

    def load(self) -> None:
        """(Re)read the registry."""
        self.loaded = True
        try:
            frame = _models_api().models()
        except MlopsError as exc:
            self.message.value = message(str(exc))
            return
        self.models_frame = frame
        self.models_html.value = frame_html(frame) if len(frame) else ""
        names = sorted(set(frame["name"])) if len(frame) else []
        self.message.value = message(
            f"{len(names)} registered models, {len(frame)} versions"
            if names
            else "No registered models yet: register one with mlops.register_model(...)",
            "info",
        )
        current = self.model.value
        self.model.options = names
        if names:
            self.model.value = current if current in names else names[0]

    def show_history(self, name: str | None) -> None:
        """Show the audit trail (promotions and refusals), monitoring and live performance."""
        self.show_monitoring(name)
        self.show_performance(name)
        if not name:
            self.history_html.value = ""
            return
        try:
            frame = _models_api().history(name)
        except MlopsError as exc:
            self.history_html.value = message(str(exc))
            return
        self.history_html.value = (
            frame_html(frame) if len(frame) else message("no promotions yet", "info")
        )

    def show_monitoring(self, name: str | None) -> None:
        """Show each version's latest monitoring runs; alert rows are highlighted."""
        if not name:
            self.monitoring_html.value = ""
            return
        try:
            frame = _models_api().monitoring(name)
        except MlopsError as exc:
            self.monitoring_html.value = message(str(exc))
            return
        if not len(frame):
            self.monitoring_html.value = message(
                "not monitored yet: mlops.models.monitor(...) or jupyter mlops serve --monitor",
                "info",
            )
            return
        rows = [
            (r.version, time_html(r.time), r.run_id, r.rows, r.share_drifted, r.alert or "",
             r.value)
            for r in frame.itertuples()
        ]  # fmt: skip
        alerts = [n for n, row in enumerate(rows) if row[5]]
        header = ["version", "time", "run", "rows", "share drifted", "alert", "value"]
        self.monitoring_html.value = html_table(header, rows, highlight=alerts, raw_columns=[1])

    def show_performance(self, name: str | None) -> None:
        """Show each version and role's live performance: a table and charts over time."""
        self.performance_chart.outputs = ()
        if not name:
            self.performance_html.value = ""
            return
        from ..models.live_performance import performance_over_time

        try:
            report = performance_over_time(name)
        except MlopsError as exc:
            self.performance_html.value = message(str(exc))
            return
        if not report["versions"]:
            self.performance_html.value = message(
                "no predictions logged yet: jupyter mlops serve or predict logs them", "info"
            )
            return
        self.performance_html.value = performance_table(report)
        self.performance_chart.outputs = output_of(performance_chart(report))

    def promote(self) -> bool:
        """Run the gates for the form's version and move the alias if they pass."""
        from ..models.gates import PromotionRefused

        name = self.model.value
        require = [r.strip() for r in self.require.value.split(",") if r.strip()]
        try:
            if not name:
                raise InvalidInput("pick a model first (register one with mlops.register_model)")
            self.report = _models_api().promote(
                name,
                self.version.value.strip(),
                self.alias.value.strip(),
                require=require or None,
                beat=self.beat.value.strip() or None,
                on=self.on.value.strip() or None,
                lower_is_better=self.lower.value,
            )
        except PromotionRefused as exc:
            self.report = exc.report
            self.report_html.value = message(str(exc)) + report_html(exc.report)
            self.show_history(name)
            return False
        except MlopsError as exc:
            self.report_html.value = message(str(exc))
            return False
        self.report_html.value = message(
            f"{name} version {self.report.version} is now {self.alias.value!r}", "ok"
        ) + report_html(self.report)
        self.load()
        return True
