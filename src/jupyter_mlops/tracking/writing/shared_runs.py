"""The tracker's side of sharing runs with MLflow's fluent API (``mlflow_bridge.fluent``).

MLflow may start, end and write to the runs we log to. This keeps the tracker's
run stack and its knowledge of params right when it does:

- a run MLflow starts in the thread of our innermost run becomes our innermost run;
- a run MLflow ends gets our pending values first, then leaves our stack, so the
  next ``mlops.log`` starts a new run;
- before MLflow writes to our innermost run, our buffered params are written, so
  a param logged both ways with different values fails for the second caller;
- autolog's params for a run that already has other values keep the first values
  instead of failing the whole batch (MLflow issue 7947).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any, Protocol

from ...errors import StoreError
from ..mlflow_bridge import fluent as mlflow_link
from ..mlflow_bridge.store import mlflow_errors
from .run_stack import RUN_ID_ENV, RunStack, RunState

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient
    from mlflow.entities import Run

__all__ = ["MLFLOW_RUN_ENV", "SharedRuns"]

log = logging.getLogger("jupyter_mlops")

#: MLflow's own variable naming a run to resume; set beside ``MLOPS_RUN_ID`` for kernels
MLFLOW_RUN_ENV = "MLFLOW_RUN_ID"
#: seconds MLflow's call waits for our pending values before going ahead anyway
_WAIT_S = 15.0


class Tracker(Protocol):
    """What this needs of ``session.Tracker``."""

    runs: RunStack

    @property
    def client(self) -> MlflowClient: ...
    def flush(self, timeout: float | None = ...) -> None: ...
    def shutdown(self) -> None: ...
    def mark_attached(self) -> None: ...


class SharedRuns:
    """Keeps one ``Tracker`` and MLflow's active runs in step."""

    def __init__(self, tracker: Tracker) -> None:
        self._tracker = tracker
        self._params_queued = False
        self._warned: set[str] = set()

    # -- the tracker's runs, shown to MLflow ------------------------------------------
    def started(self, run: Run) -> None:
        """Our new innermost run becomes MLflow's active run in this thread."""
        if mlflow_link.is_bound(self):
            mlflow_link.use_experiment(run.info.experiment_id)
            mlflow_link.push_run(run)
            if os.environ.get(MLFLOW_RUN_ENV) == run.info.run_id:
                del os.environ[MLFLOW_RUN_ENV]  # consumed, as MLflow's start_run does

    def experiment_selected(self, experiment_id: str) -> None:
        """MLflow's runs go to the experiment chosen with ``mlops.experiment`` too."""
        if mlflow_link.is_bound(self):
            mlflow_link.use_experiment(experiment_id)

    def ended(self, run_id: str) -> None:
        """Our run ended: MLflow's stack drops it too."""
        if mlflow_link.is_bound(self):
            mlflow_link.pop_run(run_id)

    def params_queued(self) -> None:
        """Params wait in the buffer; MLflow's next write to the run flushes them first."""
        self._params_queued = True

    def refresh_params(self, run: RunState) -> None:
        """Read back params MLflow's API may have logged on ``run`` (best effort)."""
        if not run.params_stale:
            return
        try:
            with mlflow_errors(f"read params of run {run.run_id}"):
                stored = self._tracker.client.get_run(run.run_id).data.params
        except StoreError:
            return  # the store is away: our own values still get checked
        run.params.update(stored)
        run.params_stale = False

    # -- MLflow's runs, reported by the link -----------------------------------------
    def mlflow_started(self, active: Any, below: str | None) -> None:
        """MLflow pushed ``active``; adopt it when it nests under our innermost run."""
        runs = self._tracker.runs
        run_id = active.info.run_id
        top = runs.top
        if runs.find(run_id) is not None or (top is not None and top.run_id != below):
            return  # known already, or another thread's own MLflow run
        attached = run_id == os.environ.get(RUN_ID_ENV)
        runs.push(RunState.of(active, owned=not attached, parent_id=below))
        if attached:
            self._tracker.mark_attached()

    def mlflow_ended(self, run_id: str) -> None:
        """MLflow is ending ``run_id``: write what we hold for it, then forget it."""
        if self._tracker.runs.find(run_id) is None:
            return
        self._flush_quietly()
        self._tracker.runs.remove(run_id)

    def mlflow_touched(self, run_id: str) -> None:
        """MLflow is about to use our innermost run: write buffered params first."""
        top = self._tracker.runs.top
        if top is None or top.run_id != run_id:
            return
        top.params_stale = True
        if self._params_queued:
            self._params_queued = False
            self._flush_quietly()

    def autolog_params(self, run_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """The params autolog may still log on ``run_id``: new keys, or unchanged values."""
        run = self._tracker.runs.find(run_id)
        if run is None:
            return params
        self.refresh_params(run)
        kept = {k: v for k, v in params.items() if run.params.get(k, str(v)) == str(v)}
        for key, value in kept.items():
            run.params.setdefault(key, str(value))
        changed = sorted(set(params) - set(kept))
        if changed and run_id not in self._warned:
            self._warned.add(run_id)
            log.warning(
                "jupyter-mlops: a later fit in run %s has other values for %s; the run keeps "
                "the first ones (MLflow params cannot change). Fit each model in its own "
                "%%%%mlops run cell to record each one's params.",
                run.name or run_id,
                ", ".join(changed[:5]) + (", ..." if len(changed) > 5 else ""),
            )
        return kept

    def release(self) -> None:
        """Stop sharing (the tracker is replaced): MLflow forgets the runs it showed."""
        if mlflow_link.is_bound(self):
            for run in self._tracker.runs.snapshot():
                mlflow_link.pop_run(run.run_id)
            mlflow_link.unbind(self)

    def shutdown(self) -> None:
        """End our runs (at interpreter exit, before MLflow ends its own)."""
        self._tracker.shutdown()

    def _flush_quietly(self) -> None:
        try:
            self._tracker.flush(_WAIT_S)
        except StoreError as exc:
            log.debug("values stay buffered while MLflow ends a run: %s", exc)
