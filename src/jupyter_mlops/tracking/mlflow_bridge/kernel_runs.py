"""The notebook file for runs that MLflow's own API starts in a Jupyter kernel.

A plain ``mlflow.start_run()`` (or an autolog run) in a kernel gets its notebook's path and
git context from the run-context provider (``run_context_provider.py``). The notebook file
itself can only be logged once the run is over, and MLflow has no plugin point at a run's
end. So the provider, which MLflow calls as every run starts, arms :class:`KernelRuns`, and it
looks at the points a kernel passes anyway:

- after each cell (IPython's ``post_run_cell`` event): a run that ended in the cell;
- at the next ``start_run`` (the provider again): the previous run of a loop in one cell;
- at the interpreter's exit, before MLflow's own exit hook ends a run left active.

It finds runs through MLflow's public ``mlflow.active_run()`` and ``mlflow.last_active_run()``
and logs the notebook, once, to each top-level run this process started (the process tags
the provider set on it) with :func:`~..writing.run_context.log_notebook`, as the tracker does
for its own runs. Nothing is looked up until a run was started, so a kernel without runs pays
nothing; a failure is one warning and never fails the user's cell.
"""

from __future__ import annotations

import atexit
import logging
import sys
from pathlib import Path
from typing import Any

from ..writing.run_context import log_notebook, process_identity

__all__ = ["KernelRuns", "kernel_runs"]

log = logging.getLogger("jupyter_mlops")

_PARENT_TAG = "mlflow.parentRunId"
_NOTEBOOK_TAG = "mlops.notebook.path"


class KernelRuns:
    """Log the notebook to the runs MLflow's fluent API starts in this kernel, as they end."""

    def __init__(self) -> None:
        self._armed = False
        self._hooked = False
        self._done: set[str] = set()
        self._warned = False
        self._identity = process_identity()

    def run_starting(self) -> None:
        """MLflow is starting a run in this kernel (the run-context provider says so)."""
        self.check()  # a run ended since the last check (a loop of runs in one cell)
        self._armed = True
        if not self._hooked:
            self._hooked = True
            try:
                shell = sys.modules["IPython"].get_ipython()
                shell.events.register("post_run_cell", self._after_cell)
            except Exception as exc:  # pragma: no cover - an IPython without events
                self._warn(exc)
            atexit.register(self._at_exit)  # after MLflow's own exit hook: runs before it

    def check(self, *, exiting: bool = False) -> None:
        """Log the notebook to a run that ended (or, ``exiting``, to the one still active)."""
        if not self._armed:
            return
        try:
            self._check(exiting)
        except Exception as exc:  # the user's cell or exit must never fail because of us
            self._warn(exc)

    def _warn(self, exc: Exception) -> None:
        if not self._warned:
            self._warned = True
            log.warning("jupyter-mlops: could not log the notebook of an MLflow run: %s", exc)

    def _check(self, exiting: bool) -> None:
        import mlflow

        active = mlflow.active_run()
        if active is not None:
            if exiting:  # MLflow's exit hook ends it right after this
                self._log(self._top_level(active))
            return  # still going: checked again after the next cell
        self._armed = False
        last = mlflow.last_active_run()
        if last is not None:
            self._log(last)

    def _top_level(self, run: Any) -> Any:
        from mlflow import MlflowClient

        client = MlflowClient()
        for _ in range(100):  # a parent chain, bounded
            parent = run.data.tags.get(_PARENT_TAG)
            if not parent:
                break
            run = client.get_run(parent)
        return run

    def _log(self, run: Any) -> None:
        from mlflow import MlflowClient

        tags = run.data.tags
        run_id = run.info.run_id
        if run_id in self._done or _PARENT_TAG in tags or _NOTEBOOK_TAG not in tags:
            return
        if any(tags.get(key) != value for key, value in self._identity.items()):
            return  # started by another process (a resumed run, the headless runner's run)
        self._done.add(run_id)
        log_notebook(MlflowClient(), run_id, Path(tags[_NOTEBOOK_TAG]))

    def _after_cell(self, result: Any = None) -> None:
        self.check()

    def _at_exit(self) -> None:
        self.check(exiting=True)


_kernel_runs: KernelRuns | None = None


def kernel_runs() -> KernelRuns:
    """This kernel's :class:`KernelRuns` (created on first use)."""
    global _kernel_runs
    if _kernel_runs is None:
        _kernel_runs = KernelRuns()
    return _kernel_runs
