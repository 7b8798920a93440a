"""Public tracking functions, re-exported as ``jupyter_mlops.*``.

Examples
--------
>>> import jupyter_mlops as mlops
>>> mlops.experiment("churn")                        # doctest: +SKIP
>>> with mlops.start_run(name="baseline"):           # doctest: +SKIP
...     mlops.log(lr=0.01, model="rf")               # numbers -> metrics, text -> params
...     mlops.log(acc=0.91, step=3)
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..errors import InvalidInput, NotFound
from .mlflow_bridge.store import sqlite_path
from .mlflow_tables.run_reads import read_runs
from .reading.frames import check_max_results, experiment_ids, records_frame, runs_frame
from .writing.journal import ReplayResult
from .writing.log_buffer import interval_from_env
from .writing.tracker import RunState, Tracker

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "Run",
    "active_run",
    "artifact",
    "autolog",
    "end_run",
    "experiment",
    "flush",
    "log",
    "log_metrics",
    "log_params",
    "runs",
    "set_tags",
    "start_run",
    "status",
    "sync",
    "tracker",
]

_tracker: Tracker | None = None
_tracker_lock = threading.Lock()


def tracker() -> Tracker:
    """Return the process-wide :class:`Tracker` (created on first use)."""
    global _tracker
    with _tracker_lock:
        if _tracker is not None:
            return _tracker
        _tracker = Tracker(share_mlflow=True, flush_interval=interval_from_env())
        import atexit

        atexit.register(_shutdown)
    return _tracker


def reset(settings: Settings | None = None) -> Tracker:
    """Shut the current tracker down and start a fresh one (tests, store switches)."""
    global _tracker
    _shutdown()
    with _tracker_lock:
        if _tracker is not None:
            _tracker.shared.release()
        _tracker = Tracker(settings, share_mlflow=True, flush_interval=interval_from_env())
    if settings is not None and "mlflow" in sys.modules:
        link_mlflow()
    return _tracker


def link_mlflow() -> None:
    """Make MLflow's fluent API use the process-wide tracker's store and active run.

    Called when MLflow is imported (``import jupyter_mlops`` arranges it) and when
    the tracker is replaced; see :mod:`~jupyter_mlops.tracking.mlflow_bridge.fluent`.
    """
    tracker().link_mlflow(open_store=True)


def _shutdown() -> None:
    if _tracker is not None:
        _tracker.shutdown()


@dataclass(frozen=True)
class Run:
    """A run started through the API; a context manager that ends it.

    Leaving the ``with`` block ends the run FINISHED, or FAILED when the block raised.
    """

    run_id: str
    name: str
    experiment_id: str

    @classmethod
    def _of(cls, state: RunState) -> Run:
        return cls(state.run_id, state.name, state.experiment_id)

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        active = tracker().active
        if active is not None and active.run_id == self.run_id:
            end_run("FAILED" if exc_type is not None else "FINISHED")


def experiment(name: str) -> str:
    """Select experiment ``name`` for new runs, creating it when missing; return its id.

    Examples
    --------
    >>> mlops.experiment("churn")  # doctest: +SKIP
    '1'
    """
    return tracker().set_experiment(name)


def start_run(name: str | None = None, tags: dict[str, Any] | None = None) -> Run:
    """Start a run (nested under the active run, if any).

    Examples
    --------
    >>> with mlops.start_run(name="baseline", tags={"team": "growth"}):  # doctest: +SKIP
    ...     mlops.log(acc=0.9)
    """
    return Run._of(tracker().start_run(name, tags))


def end_run(status: str = "FINISHED") -> Run | None:
    """Flush and end the active run with ``status`` (FINISHED, FAILED or KILLED)."""
    state = tracker().end_run(status)
    return Run._of(state) if state else None


def active_run() -> Run | None:
    """The run values go to now, or ``None``."""
    state = tracker().active
    return Run._of(state) if state else None


def log(step: int | None = None, **values: Any) -> None:
    """Log numbers as metrics and other values as params, starting a run if needed.

    A number whose name is a setting is a param: assigned in the notebook's cell tagged
    ``parameters``, or already a param of the run. A value logged with ``step`` is a metric.

    Examples
    --------
    >>> mlops.log(lr=0.01, model="rf")  # doctest: +SKIP
    >>> mlops.log(acc=0.91, step=3)     # doctest: +SKIP
    """
    tracker().log(values, step)


def log_metrics(values: dict[str, Any] | None = None, step: int | None = None, **kw: Any) -> None:
    """Log metrics; every value must be a number."""
    tracker().log_metrics({**(values or {}), **kw}, step)


def log_params(values: dict[str, Any] | None = None, **kw: Any) -> None:
    """Log params; a key already logged with another value is refused."""
    tracker().log_params({**(values or {}), **kw})


def set_tags(values: dict[str, Any] | None = None, **kw: Any) -> None:
    """Set tags on the active run."""
    tracker().set_tags({**(values or {}), **kw})


def artifact(path: str | os.PathLike[str], dir: str | None = None) -> str:
    """Upload a file or folder to the active run, under folder ``dir`` if given."""
    return tracker().log_artifact(path, dir)


#: ``%mlops autolog`` flavors: every library MLflow can autolog, or scikit-learn only
AUTOLOG_FLAVORS = ("all", "sklearn")


def autolog(flavor: str = "all", log_models: bool = True) -> str:
    """Turn on MLflow autologging into the active run (the cell's or the notebook's).

    Every ``fit`` then logs into the run that is active: one run per
    ``%%mlops run`` cell however many fits it makes, search-CV candidates as its
    child runs. With no run active MLflow starts one per fit, as it always does.

    Examples
    --------
    >>> mlops.autolog("sklearn", log_models=False)  # doctest: +SKIP
    'sklearn'
    """
    if flavor not in AUTOLOG_FLAVORS:
        raise InvalidInput(
            f"unknown autolog flavor {flavor!r}; use one of {', '.join(AUTOLOG_FLAVORS)}, "
            "e.g. %mlops autolog sklearn"
        )
    link_mlflow()
    if flavor == "all":
        import mlflow

        mlflow.autolog(log_models=log_models)
    else:
        _sklearn_autolog(log_models)
    return flavor


def _sklearn_autolog(log_models: bool) -> None:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise InvalidInput(
            "scikit-learn is not installed; pip install 'jupyter-mlops[examples]' "
            "(or scikit-learn), or use %mlops autolog all"
        ) from None
    import mlflow.sklearn

    mlflow.sklearn.autolog(log_models=log_models)


def flush(timeout: float | None = 120.0) -> None:
    """Block until every logged value is written to the store."""
    tracker().flush(timeout)


def runs(
    experiment: str | list[str] | None = None,
    filter: str = "",
    order_by: str | list[str] | None = None,
    max: int = 100,
) -> pd.DataFrame:
    """Return runs as a DataFrame (newest first), searching with MLflow's filter syntax.

    Examples
    --------
    >>> mlops.runs(filter="metrics.acc > 0.8", order_by="metrics.acc DESC")  # doctest: +SKIP
    """
    t = tracker()
    t.flush()
    names = [experiment] if isinstance(experiment, str) else list(experiment or [])
    orders = [order_by] if isinstance(order_by, str) else order_by
    db = sqlite_path(t.settings.tracking_uri)
    if db is not None and not db.exists():  # a read creates nothing, not even the store
        check_max_results(max)
        if names:
            raise NotFound(f"no experiment named {names[0]!r}; known: (none yet)")
        return records_frame([])
    if "mlflow" not in sys.modules:  # a cold process: skip MLflow's import when SQLite can answer
        check_max_results(max)
        records = read_runs(
            t.settings,
            names or [t.experiment_name],
            filter_string=filter,
            order_by=orders,
            max_results=max,
        )
        if records is not None:
            return records_frame(records)
    if names:
        return runs_frame(t.client, experiment_ids(t.client, names), filter, orders, max)
    default = t.existing_experiment_id()
    if default is None:  # the default experiment does not exist yet: nothing to list
        check_max_results(max)
        return records_frame([])
    return runs_frame(t.client, [default], filter, orders, max)


def sync() -> ReplayResult:
    """Replay values journaled while the tracking store was unreachable.

    Examples
    --------
    >>> mlops.sync()  # doctest: +SKIP
    ReplayResult(files=1, values=2000, runs_ended=1, remaining=0, rejected=0, problems=())
    """
    return tracker().sync()


def status() -> dict[str, Any]:
    """Describe where values go: store, root, experiment, active run, pending values."""
    t = tracker()
    s = t.settings
    run = t.active
    info: dict[str, Any] = {
        "tracking_uri": s.tracking_uri,
        "root": str(s.root),
        "data_uri": s.data_uri,
        "experiment": t.experiment_name,
        "notebook": str(t.notebook) if t.notebook else None,
        "active_run": None,
        "pending": t.pending,
        "journaled_files": len(t.journal.files()),
        "sources": dict(s.sources),
    }
    if run is not None:
        with_status = _run_status(t, run.run_id)
        info["active_run"] = {"id": run.run_id, "name": run.name, "status": with_status}
    return info


def _run_status(t: Tracker, run_id: str) -> str:
    from .mlflow_bridge.store import mlflow_errors

    with mlflow_errors(f"read run {run_id}"):
        return str(t.client.get_run(run_id).info.status)
