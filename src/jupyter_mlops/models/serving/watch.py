"""The background thread: window statistics, drift, alerts and following the alias.

Every ``interval`` seconds it reads the window (only when new rows arrived),
publishes prediction statistics and, with ``--monitor``, the drift of the
window against the training snapshot (``data.drift.compute_drift``, the
statistics of ``mlops.drift``); then it evaluates the alerts and, with
``--follow-alias``, switches to the version the alias points at now.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from ...errors import MlopsError
from ...tracking.api import tracker
from ..monitor import prediction_stats, shared_columns
from .alerts import AlertState
from .app import ServeState
from .loaded import freeze_heap, load
from .notify import AlertContext, fire

__all__ = ["Watcher"]


class Watcher(threading.Thread):
    """Runs :meth:`tick` every ``interval`` seconds until :meth:`stop`."""

    def __init__(
        self, state: ServeState, alerts: AlertState, ctx: AlertContext, *,
        interval: float, monitor: bool, follow: bool, threshold: float = 0.05,
    ) -> None:  # fmt: skip
        super().__init__(name="mlops-serve-watch", daemon=True)
        self.state, self.alerts, self.ctx = state, alerts, ctx
        self.interval, self.monitor, self.follow, self.threshold = (
            interval,
            monitor,
            follow,
            threshold,
        )
        self._stop_event = threading.Event()
        self._seen = -1
        self._figures: dict[str, float] = {}
        self._window: tuple[Any, Any, Any] = (None, [], None)

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            try:
                self.tick()
            except Exception as exc:  # keep serving whatever happens here
                _print(f"monitoring: {type(exc).__name__}: {exc}")

    def stop(self) -> None:
        """Ask the thread to end after its current tick."""
        self._stop_event.set()

    def tick(self) -> None:
        """One round: follow the alias, refresh the window figures, evaluate alerts."""
        if self.follow:
            self._follow()
        self._refresh_window()
        figures = {**self._figures, **self.state.metrics.request_figures()}
        figures.update(self.state.metrics.totals())
        for alert, value in self.alerts.update(figures):
            self.state.metrics.set_alert(alert.text, True, fired=True)
            fire(self.ctx, self.state.current, alert, value, self._window, figures)
        for alert in self.alerts.alerts:
            self.state.metrics.set_alert(alert.text, alert.text in self.alerts.active)

    def _refresh_window(self) -> None:
        window = self.state.window
        if window.generation == self._seen:
            return
        self._seen = window.generation
        rows, predictions = window.frame()
        figures: dict[str, float] = {}
        report = None
        if len(predictions):
            stats = prediction_stats(predictions)
            self.state.metrics.set_predictions(stats)
            if "prediction.mean" in stats:
                figures["prediction_mean"] = stats["prediction.mean"]
        if self.monitor and rows is not None and len(rows) >= min(window.size, MIN_DRIFT_ROWS):
            report = self._drift(rows)
            if report is not None:
                figures["drift_share_drifted"] = float(report.share_drifted)
                figures["drift_psi_max"] = (
                    float(report.table["psi"].max()) if len(report.table) else 0.0
                )
        self._figures, self._window = figures, (rows, predictions, report)

    def _drift(self, rows: Any) -> Any:
        from ...data.drift import compute_drift

        loaded = self.state.current
        try:
            columns = shared_columns(loaded.reference, rows)
        except MlopsError as exc:
            _print(f"monitoring: no drift: {exc}")
            return None
        report = compute_drift(loaded.reference, rows, threshold=self.threshold, columns=columns)
        self.state.metrics.set_drift(report)
        return report

    def _follow(self) -> None:
        current = self.state.current
        name = current.version.name
        client = tracker().client
        latest = client.get_model_version_by_alias(name, self.state.alias)
        if str(latest.version) == current.number:
            return
        loaded = load(latest, monitor=self.monitor)  # in this thread: requests keep going
        self.state.current = loaded
        self.state.window.clear()
        self.state.metrics.serving(name, self.state.alias, loaded.number)
        freeze_heap()  # the new version out of later collections, the old one's cycles freed
        _print(f"{self.state.alias} moved: now serving {name} version {loaded.number}")


#: fewest window rows drift is computed on (or the whole window when it is smaller)
MIN_DRIFT_ROWS = 30


def _print(line: str) -> None:
    print(f"jupyter mlops serve: {line}", file=sys.stderr, flush=True)
