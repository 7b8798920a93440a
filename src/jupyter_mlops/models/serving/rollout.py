"""A challenger on trial: promoted or rolled back, once, on live evidence.

Every round of the background thread gathers each side's figures (live
performance from the prediction log, request series of its version, drift of
the live window) and evaluates ``--rollback-when`` first, then
``--promote-when``:

- promotion moves the champion's alias to the challenger through the gate path
  (:func:`..promote.run_gates`: the promotion lock, a compare-and-set on the
  alias still holding the champion, an audit record "promoted by live canary:
  <expression and values>"), then the server answers with the challenger as
  champion; requests in flight finish on the version they started with;
- rollback stops the challenger's traffic, records why on the version (an audit
  record) and fires the alert actions (monitoring run, webhook, schedule).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ...tracking.api import tracker
from ..prediction_log import CHALLENGER, CHAMPION
from ..promote import record_rollback, run_gates
from .alerts import Alert
from .app import ServeState
from .loaded import Loaded, freeze_heap
from .notify import AlertContext, fire
from .rollout_rules import Rule

__all__ = ["Rollout"]


@dataclass
class Rollout:
    """The rules of one trial and its outcome (``promoted``, ``rolled back``, ``refused``)."""

    state: ServeState
    ctx: AlertContext
    promote: Rule | None
    rollback: Rule | None
    outcome: str | None = None
    #: called after each decision (``--workers``: tells the workers)
    on_decision: Callable[[], None] | None = None

    def figures(
        self, performance: Mapping[tuple[str, str], Any], window: Mapping[str, float]
    ) -> dict[str, dict[str, float]]:
        """``champion``/``challenger`` -> figure -> value, as the rules see them."""
        out = {CHAMPION: self._side(self.state.current.number, CHAMPION, performance, window)}
        if self.state.challenger is not None:
            number = self.state.challenger.number
            out[CHALLENGER] = self._side(number, CHALLENGER, performance, window)
        return out

    def _side(
        self,
        version: str,
        role: str,
        performance: Mapping[tuple[str, str], Any],
        window: Mapping[str, float],
    ) -> dict[str, float]:
        metrics = self.state.metrics
        figures: dict[str, float] = {"labels": 0.0}
        found = performance.get((version, role))
        if found is not None:
            figures["labels"] = float(found.labels)
            figures.update(found.metrics)
        requests = metrics.request_figures(version)
        if requests:
            figures["error_rate"] = requests["error_rate"]
            figures["p50_ms"] = requests["request_duration_p50"] * 1000
            figures["p99_ms"] = requests["request_duration_p99"] * 1000
        figures["requests"] = metrics.totals(version)["requests_total"]
        figures.update({k: v for k, v in window.items() if k.startswith("drift_")})
        return figures

    def tick(
        self,
        performance: Mapping[tuple[str, str], Any],
        window: Mapping[str, float],
        drift_window: tuple[Any, Any, Any],
    ) -> None:
        """Evaluate the rules once; act at most once over the trial."""
        if self.outcome is not None or self.state.challenger is None:
            return
        figures = self.figures(performance, window)
        if self.rollback is not None and self.rollback.holds(figures):
            self._roll_back(self.rollback, self.state.challenger, figures, drift_window)
        elif self.promote is not None and self.promote.holds(figures):
            self._promote(self.promote, self.state.challenger, figures)

    def _promote(
        self, rule: Rule, challenger: Loaded, figures: Mapping[str, Mapping[str, float]]
    ) -> None:
        state = self.state
        champion = state.current
        name = champion.version.name
        note = f"promoted by live {state.mode}: {rule.describe(figures)}"
        report = run_gates(
            tracker().client, f"{name}/{challenger.number}", promote_to=state.alias,
            action=f"live {state.mode}", expect_from=champion.number, note=note,
        )  # fmt: skip
        if report.promoted_to is None:
            self.outcome = "refused"
            state.metrics.set_rollout(challenger.number, self.outcome)
            _print(
                f"{state.alias} not moved to version {challenger.number}: {report.failure_text()}"
            )
            state.challenger_on = False
            self._decided()
            return
        state.current = challenger  # new requests score with it; requests in flight finish
        state.challenger = None
        state.window.clear()
        state.metrics.serving(name, state.alias, challenger.number)
        self.outcome = "promoted"
        state.metrics.set_rollout(challenger.number, self.outcome)
        freeze_heap()
        self._decided()
        _print(f"{state.alias} -> {name} version {challenger.number}: {note}")

    def _decided(self) -> None:
        if self.on_decision is not None:
            self.on_decision()

    def _roll_back(
        self,
        rule: Rule,
        challenger: Loaded,
        figures: Mapping[str, Mapping[str, float]],
        drift_window: tuple[Any, Any, Any],
    ) -> None:
        state = self.state
        state.challenger_on = False  # no request goes to it from now on
        self._decided()
        reason = f"rolled back by live {state.mode}: {rule.describe(figures)}"
        self.outcome = "rolled back"
        state.metrics.set_rollout(challenger.number, "rolled_back")
        _print(f"challenger {challenger.version.name} version {challenger.number} {reason}")
        try:
            record_rollback(tracker().client, challenger.version, state.alias, reason)
        except Exception as exc:
            _print(f"rollback: could not record it: {type(exc).__name__}: {exc}")
        alert = Alert("rollback", ">", 0.0, f"rollback-when {rule.text}")
        flat = {f"{side}.{k}": v for side, values in figures.items() for k, v in values.items()}
        fire(self.ctx, challenger, alert, 1.0, drift_window, flat)


def _print(line: str) -> None:
    print(f"jupyter mlops serve: {line}", file=sys.stderr, flush=True)
