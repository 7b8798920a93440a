"""A searched step's trials, fed to the executor as slots free up (ask and tell).

The orchestrator asks :class:`StudyFeed` for a task whenever a slot is free;
the feed asks the study for the next parameters then (no batch rounds), so
each trial is sampled knowing every result told so far. While trials run,
:meth:`StudyFeed.watch` reads the metric's intermediate values as the kernels
flush them to MLflow, reports them to the trial and, when the pruner says so,
has the executor interrupt that kernel. A failed trial is told failed and the
others go on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...tracking.writing.log_buffer import FLUSH_ENV
from ..feed import Feed
from ..sweep import member_label
from .engine import import_optuna
from .space import fixed_params, parse_space
from .study import RUN_ATTR, finished_trials, stored_trials

if TYPE_CHECKING:  # pragma: no cover
    from ...config import Settings
    from ..executors import Executor, UnitOutcome, UnitTask
    from ..spec import StepSpec
    from ..units import Unit

__all__ = ["PRUNED_STEP_TAG", "PRUNED_TAG", "StudyFeed", "plan_trials", "trial_label"]

STUDY_TAG = "mlops.sweep.study"
TRIAL_TAG = "mlops.sweep.trial"
METRIC_TAG = "mlops.sweep.metric"
DIRECTION_TAG = "mlops.sweep.direction"
PRUNED_TAG = "mlops.sweep.pruned"
PRUNED_STEP_TAG = "mlops.sweep.pruned_step"
#: seconds between two reads of the running trials' intermediate values
_WATCH_EVERY_S = 0.2
#: seconds between a pruned study's trial kernels writing what they logged (default 1 s):
#: the pruner sees a value this much sooner
_TRIAL_FLUSH_S = "0.2"


def trial_label(step: str, number: int, params: dict[str, Any], swept: list[str]) -> str:
    """``tune#3[lr=0.01,depth=4]``: the step, the trial number and its sampled values."""
    short = {k: float(f"{v:.4g}") if isinstance(v, float) else v for k, v in params.items()}
    return f"{step}#{number}[{member_label(short, swept)}]"


def plan_trials(settings: Settings, step: StepSpec, units: list[Unit], key: str) -> int:
    """Fill ``units`` with the trials study ``key`` already holds; return how many."""
    done = stored_trials(settings, key)[: len(units)]
    swept = list(parse_space(step.params)[0])
    fixed = fixed_params(step.params)
    for unit, trial in zip(units, done, strict=False):
        unit.params = {**fixed, **trial.params}
        unit.label = trial_label(step.name, trial.number, unit.params, swept)
        unit.run_id = trial.user_attrs.get(RUN_ATTR)
    return len(done)


class StudyFeed(Feed):
    """The trials of one searched step: reused from the study, asked, watched, told.

    Parameters
    ----------
    step : StepSpec
        The step; ``step.search`` holds method, trials, metric, direction, pruner and seed.
    units : list of Unit
        One placeholder per trial (``trials`` of them).
    study : optuna.Study
        The stored study (named after the step's key).
    client : MlflowClient
        Reads the trials' runs.
    experiment_id : str
    make_task : callable
        ``make_task(unit) -> UnitTask`` once ``unit.params`` are set.
    set_status : callable
        ``set_status(unit, status, message)``: records a unit's state and tells listeners.
    """

    def __init__(
        self,
        step: StepSpec,
        units: list[Unit],
        study: Any,
        client: Any,
        experiment_id: str,
        make_task: Callable[[Unit], UnitTask],
        set_status: Callable[[Unit, str, str], None],
    ) -> None:
        if step.search is None:
            raise ValueError(f"step {step.name!r} has no search to drive")
        self.step, self.config, self.units, self.study = step, step.search, units, study
        self._client, self._experiment_id = client, experiment_id
        self._make_task, self._set_status = make_task, set_status
        self._space = parse_space(step.params)[0]
        self._fixed = fixed_params(step.params)
        self._running: dict[str, Any] = {}  # unit id -> optuna trial
        self._reported: dict[str, int] = {}  # unit id -> last step told
        self._pruning: dict[str, int] = {}  # unit id -> step at which it was pruned
        self._last_watch = 0.0
        self._next = self._reuse()

    @property
    def name(self) -> str:
        """The study's name: the step's key."""
        return str(self.study.study_name)

    def _reuse(self) -> int:
        done = finished_trials(self.study)[: len(self.units)]
        TrialState = import_optuna().trial.TrialState

        for unit, trial in zip(self.units, done, strict=False):
            unit.params = {**self._fixed, **trial.params}
            unit.label = trial_label(self.step.name, trial.number, unit.params, list(self._space))
            unit.run_id = trial.user_attrs.get(RUN_ATTR)
            pruned = trial.state == TrialState.PRUNED
            note = f"trial #{trial.number} of the stored study" + (" (pruned)" if pruned else "")
            self._set_status(unit, "pruned" if pruned else "cached", note)
        return len(done)

    @property
    def has_more(self) -> bool:
        """Whether trials remain to be asked."""
        return self._next < len(self.units)

    def skip_all(self, message: str) -> None:
        """Mark the trials not yet asked as failed with ``message`` (step out of scope)."""
        while self.has_more:
            self._set_status(self.units[self._next], "failed", message)
            self._next += 1

    def next_task(self) -> tuple[Unit, UnitTask] | None:
        """Ask the study for the next trial's parameters; ``None`` when the budget is used."""
        if not self.has_more:
            return None
        unit = self.units[self._next]
        self._next += 1
        trial = self.study.ask({name: dim.distribution() for name, dim in self._space.items()})
        self._running[unit.id] = trial
        unit.params = {**self._fixed, **trial.params}
        unit.label = trial_label(self.step.name, trial.number, unit.params, list(self._space))
        task = self._make_task(unit)
        tags = {
            STUDY_TAG: self.name,
            TRIAL_TAG: str(trial.number),
            METRIC_TAG: self.config.metric,
            DIRECTION_TAG: self.config.direction,
            "mlops.sweep.method": self.config.method,
        }
        if self.config.pruner == "none":
            return unit, dataclasses.replace(task, tags={**task.tags, **tags})
        # the pruner reads the values from the store: the kernel writes them sooner, and a
        # pruned one is killed, its values up to the pruned step being written already
        env = {**task.env, FLUSH_ENV: _TRIAL_FLUSH_S}
        pruned = dataclasses.replace(task, tags={**task.tags, **tags}, env=env)
        return unit, dataclasses.replace(pruned, kill_when_cancelled=True)

    def watch(self, executor: Executor) -> None:
        """Report new intermediate values of running trials; interrupt the ones to prune."""
        now = time.monotonic()
        if (
            self.config.pruner == "none"
            or not self._running
            or now - self._last_watch < _WATCH_EVERY_S
        ):
            return
        self._last_watch = now
        try:
            runs = self._running_runs()
        except Exception:  # a busy store: the values are read at the next poll
            return
        for run in runs:
            unit_id = self._unit_of_trial(run.data.tags.get(TRIAL_TAG))
            if unit_id is None or unit_id in self._pruning:
                continue
            with contextlib.suppress(Exception):  # likewise
                if self._report(unit_id, run.info.run_id):
                    self._pruning[unit_id] = self._reported[unit_id]
                    executor.cancel(unit_id)

    def _running_runs(self) -> list[Any]:
        where = f"tags.`{STUDY_TAG}` = '{self.name}' and attributes.status = 'RUNNING'"
        return list(
            self._client.search_runs([self._experiment_id], filter_string=where, max_results=500)
        )

    def _unit_of_trial(self, number: str | None) -> str | None:
        for unit_id, trial in self._running.items():
            if str(trial.number) == number:
                return unit_id
        return None

    def _report(self, unit_id: str, run_id: str) -> bool:
        """Tell the trial its new intermediate values; whether it should be pruned now."""
        trial = self._running[unit_id]
        history = self._client.get_metric_history(run_id, self.config.metric)
        last = self._reported.get(unit_id, -1)
        fresh = {m.step: m.value for m in history if m.step > last}
        for step in sorted(fresh):
            trial.report(fresh[step], step)
            self._reported[unit_id] = step
        return bool(fresh) and bool(trial.should_prune())

    def settle(
        self, unit: Unit, outcome: UnitOutcome, status: str, message: str
    ) -> tuple[str, str]:
        """Tell the study how the trial of ``unit`` ended; return the unit's status and message."""
        trial = self._running.pop(unit.id, None)
        if trial is None:
            return status, message
        TrialState = import_optuna().trial.TrialState
        if outcome.run_id:
            trial.set_user_attr(RUN_ATTR, outcome.run_id)
        pruned_at = self._pruning.pop(unit.id, None)
        if pruned_at is not None and outcome.status == "KILLED":
            self.study.tell(trial, state=TrialState.PRUNED)
            self._tag_pruned(outcome.run_id, pruned_at)
            return "pruned", f"pruned at step {pruned_at}"
        if status != "ran":
            self.study.tell(trial, state=TrialState.FAIL)
            return status, message
        value = self._final_value(unit, outcome.run_id)
        if value is None:
            self.study.tell(trial, state=TrialState.FAIL)
            return "failed", f"the trial's run logged no finite {self.config.metric!r}"
        self.study.tell(trial, value)
        return status, f"{self.config.metric} = {value:.6g}"

    def _final_value(self, unit: Unit, run_id: str | None) -> float | None:
        if not run_id:
            return None
        metrics = unit.metrics or self._client.get_run(run_id).data.metrics  # read with the run
        value = metrics.get(self.config.metric)
        return float(value) if value is not None and math.isfinite(value) else None

    def _tag_pruned(self, run_id: str | None, step: int) -> None:
        if run_id:
            from mlflow.entities import RunTag

            tags = [RunTag(PRUNED_TAG, "true"), RunTag(PRUNED_STEP_TAG, str(step))]
            self._client.log_batch(run_id, tags=tags)
