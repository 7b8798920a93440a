"""The Prometheus metrics of one served model (official ``prometheus_client``).

Request-path updates (a counter, a histogram observation, a gauge) cost
microseconds; the window figures (prediction statistics, drift) are set by the
background thread. A short ring of recent request durations and statuses
gives the ``request_duration_p*`` and ``error_rate`` figures alerts read.
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE", "MULTIPROC_ENV", "ServeMetrics"]

#: prometheus_client's multiprocess folder variable (set by ``serve --workers``)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

CONTENT_TYPE = CONTENT_TYPE_LATEST
#: requests kept for the percentile and error-rate figures
RECENT_REQUESTS = 1000
#: gauges only the background loop sets: with ``--workers`` (one process runs that loop) the
#: newest value written by any process is the value
_ONE_WRITER: Final = "mostrecent"
_PROCESS_GAUGES = (
    ("process.cpu_seconds", "mlops_process_cpu_seconds", "CPU seconds of each server process"),
    ("process.rss_bytes", "mlops_process_resident_memory_bytes", "Resident memory of each process"),
    ("process.open_connections", "mlops_process_open_connections", "Established TCP connections"),
)
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServeMetrics:
    """Every metric of ``GET /metrics``, in a registry of its own."""

    def __init__(self) -> None:
        #: with ``--workers``: values in multiprocess files, read summed over the processes
        self.multiprocess = MULTIPROC_ENV in os.environ
        disable_created_metrics()  # no ``*_created`` series: dashboards never use them
        r = self.registry = CollectorRegistry()
        self.requests = Counter(
            "mlops_requests",
            "Scoring requests by HTTP status and the version (and role) that answered",
            ["status", "version", "role"],
            registry=r,
        )
        self.duration = Histogram(
            "mlops_request_duration_seconds",
            "Scoring request duration by version and role",
            ["version", "role"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.in_progress = Gauge(
            "mlops_requests_in_progress", "Requests being scored", registry=r,
            multiprocess_mode="livesum",
        )  # fmt: skip
        self.rows = Counter(
            "mlops_rows_scored", "Rows scored by version and role", ["version", "role"], registry=r
        )
        self.prediction_mean = Gauge(
            "mlops_prediction_mean", "Mean prediction over the window", registry=r,
            multiprocess_mode=_ONE_WRITER,
        )  # fmt: skip
        self.prediction_share = Gauge(
            "mlops_prediction_share",
            "Share of each predicted class over the window",
            ["class"],
            registry=r,
            multiprocess_mode=_ONE_WRITER,
        )
        self.window_rows = Gauge(
            "mlops_window_rows", "Rows in the monitoring window", registry=r,
            multiprocess_mode=_ONE_WRITER,
        )  # fmt: skip
        self.share_drifted = Gauge(
            "mlops_drift_share_drifted", "Share of features drifted over the window", registry=r,
            multiprocess_mode=_ONE_WRITER,
        )  # fmt: skip
        self.drift_available = Gauge(
            "mlops_drift_available",
            "1 while the served version has a training snapshot to measure drift against",
            registry=r,
            multiprocess_mode=_ONE_WRITER,
        )
        self.feature_drift = Gauge(
            "mlops_feature_drift", "Per-feature drift over the window (psi, statistic, p_value)",
            ["feature", "stat"], registry=r,
            multiprocess_mode=_ONE_WRITER,
        )  # fmt: skip
        self.version_info = Gauge(
            "mlops_model_version_info",
            "The version being served",
            ["model", "alias", "version"],
            registry=r,
            multiprocess_mode=_ONE_WRITER,
        )
        self.alerts = Counter("mlops_alerts", "Alerts fired", ["expression"], registry=r)
        self.alert_active = Gauge(
            "mlops_alert_active", "1 while an alert's episode lasts", ["expression"], registry=r,
            multiprocess_mode=_ONE_WRITER,
        )  # fmt: skip
        self.feedback_metric = Gauge(
            "mlops_feedback_metric",
            "Live performance over the last labelled rows (accuracy, f1_macro, log_loss, mae, ...)",
            ["model", "version", "role", "metric"],
            registry=r,
            multiprocess_mode=_ONE_WRITER,
        )
        self.feedback_labels = Gauge(
            "mlops_feedback_labels_total",
            "Labelled predictions of a version in a role",
            ["model", "version", "role"],
            registry=r,
            multiprocess_mode=_ONE_WRITER,
        )
        self.feedback_unknown = Gauge(
            "mlops_feedback_unknown_labels_total",
            "Labels received for ids the prediction log does not hold",
            ["model"],
            registry=r,
            multiprocess_mode=_ONE_WRITER,
        )
        self.rollout = Gauge(
            "mlops_rollout_state",
            "1 for the challenger's state: running, promoted, rolled_back or refused",
            ["version", "state"],
            registry=r,
            multiprocess_mode=_ONE_WRITER,
        )
        self.shadow_dropped = Counter(
            "mlops_shadow_dropped",
            "Requests the shadow challenger could not keep up with",
            registry=r,
        )
        ProcessCollector(registry=r)  # process_cpu_seconds_total, process_resident_memory_bytes
        #: with ``--workers`` the process collector sees one process: each process's own
        #: figures instead, labelled by ``pid`` (``liveall``: a stopped worker's disappear)
        self.process: dict[str, Gauge] = {}
        if self.multiprocess:
            for key, name, text in _PROCESS_GAUGES:
                self.process[key] = Gauge(name, text, registry=r, multiprocess_mode="liveall")
        for unknown in (self.prediction_mean, self.share_drifted):
            unknown.set(math.nan)  # NaN, not 0, until the window holds enough rows
        self._recent: dict[str, deque[tuple[float, bool]]] = {}
        self._children: dict[tuple[int, str, str], tuple[Any, Any, Any]] = {}

    def observe_request(
        self, status: int, seconds: float, rows: int, version: str = "", role: str = "champion"
    ) -> None:
        """Count one answered request of ``version`` in ``role`` (called on the request path)."""
        key = (status, version, role)
        children = self._children.get(key)  # labelled children, looked up once per key
        if children is None:
            children = self._children[key] = (
                self.requests.labels(str(status), version, role),
                self.duration.labels(version, role),
                self.rows.labels(version, role),
            )
            self._recent.setdefault(version, deque(maxlen=RECENT_REQUESTS))
        requests, duration, scored = children
        requests.inc()
        duration.observe(seconds)
        if rows:
            scored.inc(rows)
        self._recent[version].append((seconds, status >= 400))

    def serving(self, model: str, alias: str, version: str) -> None:
        """Show ``version`` as the one served (the previous one disappears)."""
        _replace(self.version_info, {(model, alias, version): 1.0})

    def set_predictions(self, stats: Mapping[str, float]) -> None:
        """Publish the window's prediction statistics (see ``monitor.prediction_stats``)."""
        self.window_rows.set(stats.get("rows_scored", 0.0))
        if "prediction.mean" in stats:
            self.prediction_mean.set(stats["prediction.mean"])
        shares = {
            (key.removeprefix("prediction.share."),): share
            for key, share in stats.items()
            if key.startswith("prediction.share.")
        }
        _replace(self.prediction_share, shares)

    def set_drift(self, report: Any) -> None:
        """Publish a drift report of the window (``data.drift_report.DriftReport``)."""
        values = {
            (str(row["column"]), stat): float(row[stat])
            for row in report.table.to_dict(orient="records")
            for stat in ("psi", "statistic", "p_value")
        }
        _replace(self.feature_drift, values)
        self.drift_available.set(1)
        self.share_drifted.set(report.share_drifted)  # last: a scrape seeing it sees the rest

    def drift_unavailable(self) -> None:
        """No snapshot to compare with: drift figures are NaN and ``mlops_drift_available`` 0."""
        self.drift_available.set(0)
        self.share_drifted.set(math.nan)
        _replace(self.feature_drift, {})

    def set_alert(self, expression: str, active: bool, fired: bool = False) -> None:
        """Show whether ``expression`` is in an episode (and count it when it just fired)."""
        self.alert_active.labels(expression).set(1 if active else 0)
        if fired:
            self.alerts.labels(expression).inc()

    def request_figures(self, version: str | None = None) -> dict[str, float]:
        """``request_duration_p50/p95/p99`` and ``error_rate`` of the recent requests.

        ``version`` restricts them to the requests that version answered.
        """
        if self.multiprocess and not self._recent:  # the loop of --workers: no request here
            figures = self._summed_figures(version)
            figures.pop("requests_total", None)
            return figures
        rings = list(self._recent.items())
        recent = [r for v, ring in rings if version in (None, v) for r in list(ring)]
        if not recent:
            return {}
        seconds = np.array([s for s, _ in recent])
        p50, p95, p99 = np.quantile(seconds, [0.5, 0.95, 0.99])
        return {
            "request_duration_p50": float(p50),
            "request_duration_p95": float(p95),
            "request_duration_p99": float(p99),
            "error_rate": sum(1 for _, failed in recent if failed) / len(recent),
        }

    def totals(self, version: str | None = None) -> dict[str, float]:
        """``requests_total`` and ``rows_scored_total`` since start (of ``version``)."""
        if self.multiprocess and not self._recent:
            return self._summed_totals(version)

        def total(metric: Any) -> float:
            return float(
                sum(
                    s.value
                    for m in metric.collect()
                    for s in m.samples
                    if s.name.endswith("_total") and version in (None, s.labels.get("version"))
                )
            )

        return {"requests_total": total(self.requests), "rows_scored_total": total(self.rows)}

    def _summed_totals(self, version: str | None) -> dict[str, float]:
        out = {"requests_total": 0.0, "rows_scored_total": 0.0}
        names = {
            "mlops_requests_total": "requests_total",
            "mlops_rows_scored_total": "rows_scored_total",
        }
        for family in _summed().collect():
            for s in family.samples:
                if s.name in names and version in (None, s.labels.get("version")):
                    out[names[s.name]] += s.value
        return out

    def set_rollout(self, version: str, state: str) -> None:
        """Show the challenger ``version`` in ``state`` (the previous state disappears)."""
        _replace(self.rollout, {(version, state): 1.0})

    def set_feedback(self, model: str, performance: Any, unknown: int) -> None:
        """Publish live performance (``prediction_log.VersionPerformance`` list)."""
        values, counts = {}, {}
        for p in performance:
            counts[(model, p.version, p.role)] = float(p.labels)
            for metric, value in p.metrics.items():
                values[(model, p.version, p.role, metric)] = float(value)
        _replace(self.feedback_metric, values)
        _replace(self.feedback_labels, counts)
        self.feedback_unknown.labels(model).set(unknown)

    def set_process(self, figures: Mapping[str, float]) -> None:
        """Publish this process's figures (``live_runs.process_figures``) with ``--workers``."""
        for key, gauge in self.process.items():
            if key in figures:
                gauge.set(figures[key])

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric (of every worker with ``--workers``)."""
        if self.multiprocess:
            return bytes(generate_latest(_summed()))
        return bytes(generate_latest(self.registry))

    def _summed_figures(self, version: str | None) -> dict[str, float]:
        """Request figures of every worker: from the summed histogram and counters."""
        families = {f.name: f.samples for f in _summed().collect()}
        wanted = [
            s for s in families.get("mlops_request_duration_seconds", [])
            if s.name.endswith("_bucket") and version in (None, s.labels.get("version"))
        ]  # fmt: skip
        cumulative: dict[float, float] = {}
        for s in wanted:
            bound = float(s.labels["le"])
            cumulative[bound] = cumulative.get(bound, 0.0) + s.value
        total, failed = 0.0, 0.0
        for s in families.get("mlops_requests", []):
            if s.name.endswith("_total") and version in (None, s.labels.get("version")):
                total += s.value
                failed += s.value if int(s.labels["status"]) >= 400 else 0.0
        if not total:
            return {}
        bounds = sorted(cumulative)
        count = cumulative[bounds[-1]]

        def quantile(q: float) -> float:  # the bucket's upper bound (the last finite one)
            bound = next(b for b in bounds if cumulative[b] >= q * count)
            return bound if math.isfinite(bound) else _BUCKETS[-1]

        return {
            "request_duration_p50": quantile(0.5),
            "request_duration_p95": quantile(0.95),
            "request_duration_p99": quantile(0.99),
            "error_rate": failed / total,
            "requests_total": total,
        }


def _replace(gauge: Gauge, values: Mapping[Any, float]) -> None:
    """Set ``gauge`` to exactly ``values`` by label set, never showing it empty in between."""
    for labels, value in values.items():
        gauge.labels(*labels).set(value)
    for sample in [s for family in gauge.collect() for s in family.samples]:
        labels = tuple(sample.labels[n] for n in gauge._labelnames)
        if labels not in values:
            # a multiprocess file keeps a removed series: it then reads 0, not its old value
            gauge.labels(*labels).set(0)
            gauge.remove(*labels)


def _summed() -> CollectorRegistry:
    """A registry reading every process's multiprocess files (counters summed)."""
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry
