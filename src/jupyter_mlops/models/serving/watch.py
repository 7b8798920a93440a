"""The background thread: window statistics, drift, alerts and following the alias.

Every ``interval`` seconds it reads the window (only when new rows arrived),
publishes prediction statistics and, with ``--monitor``, the drift of the
window against the training snapshot (``data.drift_report.compute_drift``, the
statistics of ``mlops.data.drift``); then it evaluates the alerts and, with
``--follow-alias``, switches to the version the alias points at now.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...errors import MlopsError
from ...tracking.api import tracker
from ..live_metrics import task_from_schema
from ..monitoring_runs import features, prediction_stats, shared_columns
from .alerts import AlertState
from .app import ServeState
from .live_runs import LiveRuns
from .loaded import Loaded, freeze_heap, load
from .notify import AlertContext, fire
from .rollout import Rollout

__all__ = ["Watcher"]


class Watcher(threading.Thread):
    """Runs :meth:`tick` every ``interval`` seconds until :meth:`stop`."""

    def __init__(
        self, state: ServeState, alerts: AlertState, ctx: AlertContext, *,
        interval: float, monitor: bool, follow: bool, threshold: float = 0.05,
        feedback_window: int = 1000, rollout: Rollout | None = None,
        keep_in: Path | None = None, on_switch: Callable[[], None] | None = None,
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
        self.feedback_window = feedback_window
        self._feedback_seen: tuple[int, int] | None = None
        #: (version, role) -> the latest live performance
        self.performance: dict[tuple[str, str], Any] = {}
        self.live_runs = LiveRuns(state.current.version.name, ctx.ref)
        self.rollout = rollout
        #: with workers: where a followed version's model folder is kept for them to load,
        #: and how they are told (``workers.write_decision``)
        self.keep_in, self.on_switch = keep_in, on_switch

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            try:
                self.tick()
            except Exception as exc:  # keep serving whatever happens here
                _print(f"monitoring: {type(exc).__name__}: {exc}")

    def stop(self) -> None:
        """Ask the thread to end after its current tick."""
        self._stop_event.set()

    def finish(self) -> None:
        """After :meth:`stop`: one last refresh of live performance, then end the live runs."""
        self.join(timeout=60)
        try:
            self._refresh_feedback()
        except Exception as exc:
            _print(f"feedback: {type(exc).__name__}: {exc}")
        self.live_runs.end()

    def tick(self) -> None:
        """One round: follow the alias, refresh the window figures, evaluate alerts."""
        if self.follow:
            self._follow()
        self._refresh_window()
        self._refresh_feedback()
        figures = {**self._figures, **self.state.metrics.request_figures()}
        figures.update(self.state.metrics.totals())
        for alert, value in self.alerts.update(figures):
            self.state.metrics.set_alert(alert.text, True, fired=True)
            fire(self.ctx, self.state.current, alert, value, self._window, figures)
        for alert in self.alerts.alerts:
            self.state.metrics.set_alert(alert.text, alert.text in self.alerts.active)
        if self.rollout is not None:
            self.rollout.tick(self.performance, self._figures, self._window)

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

    def _refresh_feedback(self) -> None:
        """Join the labels that came back into live performance per version (when anything new)."""
        log = self.state.log
        if log is None:
            return
        marker = (log.counter("labels_received"), log.last_seq())
        if marker == self._feedback_seen:
            return
        self._feedback_seen = marker
        current = self.state.current
        task = task_from_schema(current.model.metadata.get_output_schema())
        found = log.performance(self.feedback_window, task=task, probabilities=self._probabilities)
        self.state.metrics.set_feedback(log.model, found, log.counter("unknown_labels"))
        changed = [p for p in found if self.performance.get((p.version, p.role)) != p]
        self.performance = {(p.version, p.role): p for p in found}
        for p in changed:
            loaded = self._loaded(p.version)
            if loaded is not None and p.metrics:
                self.live_runs.log(loaded.version, p.role, p.labels, p.metrics)

    def _loaded(self, version: str) -> Loaded | None:
        for loaded in (self.state.current, self.state.challenger):
            if loaded is not None and loaded.number == version:
                return loaded
        return None

    def _probabilities(self, version: str, rows: Any) -> Any:
        """Class probabilities of a loaded version on ``rows`` (None when it has none)."""
        loaded = self._loaded(version)
        if loaded is None:
            return None
        try:
            raw = loaded.model.get_raw_model()
        except Exception:
            return None
        if not (hasattr(raw, "predict_proba") and hasattr(raw, "classes_")):
            return None
        try:
            return list(raw.classes_), raw.predict_proba(features(raw, rows))
        except Exception:
            return None

    def _drift(self, rows: Any) -> Any:
        from ...data.drift_report import compute_drift

        loaded = self.state.current
        if loaded.reference is None:
            self.state.metrics.drift_unavailable()
            return None
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
        # in this thread: requests keep going; a version without training snapshot is served
        # all the same, drift then says how it is measured (or that it is unavailable)
        loaded = load(latest, monitor=self.monitor, fallback=current, keep_in=self.keep_in)
        if loaded.reference_note:
            _print(loaded.reference_note)
        self.state.current = loaded
        self.state.window.clear()
        self.state.metrics.serving(name, self.state.alias, loaded.number)
        freeze_heap()  # the new version out of later collections, the old one's cycles freed
        if self.on_switch is not None:
            self.on_switch()  # the workers load it too, then serve it
        _print(f"{self.state.alias} moved: now serving {name} version {loaded.number}")


#: fewest window rows drift is computed on (or the whole window when it is smaller)
MIN_DRIFT_ROWS = 30


def _print(line: str) -> None:
    print(f"jupyter mlops serve: {line}", file=sys.stderr, flush=True)
