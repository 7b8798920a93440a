"""Alert expressions over the served metrics and their episodes.

``--alert "drift_share_drifted > 0.3"`` names a metric of ``GET /metrics``
without its ``mlops_`` prefix (or one of the request-window figures below),
an operator and a number. An alert fires once when its expression becomes true
and re-arms only after it has been false again: one alert per episode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ...errors import InvalidInput
from ..gates import OPERATORS, parse_requirement

__all__ = ["METRICS", "Alert", "AlertState", "parse_alerts"]

#: metric name -> what it measures; ``drift_*`` needs ``--monitor``
METRICS: dict[str, str] = {
    "drift_share_drifted": "share of features drifted over the window",
    "drift_psi_max": "largest population stability index of a feature over the window",
    "prediction_mean": "mean prediction over the window",
    "request_duration_p50": "median request duration (s) of the last requests",
    "request_duration_p95": "95th percentile request duration (s) of the last requests",
    "request_duration_p99": "99th percentile request duration (s) of the last requests",
    "error_rate": "share of the last requests that failed (status >= 400)",
    "requests_total": "requests answered since start",
    "rows_scored_total": "rows scored since start",
}
_FORM = 'METRIC OP NUMBER, e.g. --alert "drift_share_drifted > 0.3"'


@dataclass(frozen=True)
class Alert:
    """One ``--alert`` expression."""

    metric: str
    op: str
    value: float
    text: str

    def holds(self, observed: float) -> bool:
        """Whether the expression is true for ``observed``."""
        return bool(OPERATORS[self.op](observed, self.value))


def parse_alerts(texts: Sequence[str], *, monitor: bool) -> list[Alert]:
    """Parse every ``--alert``; refuse unknown metrics and drift without ``--monitor``.

    Examples
    --------
    >>> parse_alerts(["error_rate > 0.05"], monitor=False)[0].metric
    'error_rate'
    """
    alerts = []
    for text in texts:
        try:
            parsed = parse_requirement(text)
        except InvalidInput:
            raise InvalidInput(f"cannot parse alert {text!r}; use {_FORM}") from None
        metric = parsed.metric.removeprefix("mlops_")
        if metric not in METRICS:
            raise InvalidInput(
                f"alert {text!r} uses unknown metric {parsed.metric!r}; known: {', '.join(METRICS)}"
            )
        if metric.startswith("drift_") and not monitor:
            raise InvalidInput(f"alert {text!r} needs drift: add --monitor")
        alerts.append(
            Alert(metric, parsed.op, parsed.value, f"{metric} {parsed.op} {parsed.value:g}")
        )
    return alerts


@dataclass
class AlertState:
    """Which alerts are in an episode; :meth:`update` returns those that start one."""

    alerts: list[Alert]
    active: set[str] = field(default_factory=set)

    def update(self, observed: Mapping[str, float]) -> list[tuple[Alert, float]]:
        """Evaluate every alert on ``observed``; a metric not known yet changes nothing."""
        fired = []
        for alert in self.alerts:
            value = observed.get(alert.metric)
            if value is None:
                continue
            if not alert.holds(value):
                self.active.discard(alert.text)
            elif alert.text not in self.active:
                self.active.add(alert.text)
                fired.append((alert, value))
        return fired
