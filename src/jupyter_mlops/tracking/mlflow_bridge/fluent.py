"""One store, one active run: MLflow's fluent API (autolog included) lands where we log.

Once the process-wide tracker is bound (:func:`bind`), MLflow's tracking and
registry URIs are the tracker's store, the tracker's active run is MLflow's
active run, and runs MLflow starts or ends are seen by the tracker.

MLflow internals relied on (checked by :func:`supported`; a test pins them on the
installed MLflow, so an upgrade that changes them fails loudly there):

- ``mlflow.tracking.fluent._active_run_stack``: a ``ThreadLocalVariable``
  (``get``, ``set``, ``default_factory``) holding each thread's list of
  ``ActiveRun``. ``start_run`` appends to it, ``end_run`` pops it before marking
  the run terminated, and every fluent call reads ``[-1]``. We give each thread a
  list subclass that reports those three events.
- ``mlflow.utils.autologging_utils.client.MlflowAutologgingQueueingClient.log_params``:
  how every autolog flavor logs params. Wrapped so a re-fit inside one run does
  not hit "Changing param values is not allowed" (MLflow issue 7947).

Everything else is public: ``mlflow.set_tracking_uri``, ``mlflow.set_registry_uri``
and ``mlflow.ActiveRun``. When a check fails the URIs are still shared and one
warning says that ``mlflow.*`` calls start their own runs.

This module imports only the standard library at import time: ``import
jupyter_mlops`` installs :func:`link_on_import` and stays cheap.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # pragma: no cover
    from mlflow.entities import Run

__all__ = [
    "LinkedTracker",
    "bind",
    "is_bound",
    "link_on_import",
    "pop_run",
    "push_run",
    "supported",
    "unbind",
    "use_experiment",
]


def _log() -> Any:
    import logging  # lazily: ``logging`` would add ~20 ms to ``import jupyter_mlops``

    return logging.getLogger("jupyter_mlops")


_TRACKING_ENV = "MLFLOW_TRACKING_URI"
_REGISTRY_ENV = "MLFLOW_REGISTRY_URI"
_EXPERIMENT_ENV = "MLFLOW_EXPERIMENT_ID"


class LinkedTracker(Protocol):
    """What the link needs from the tracker (see ``session.Tracker``)."""

    def mlflow_started(self, run: Any, stack_top: str | None) -> None: ...
    def mlflow_ended(self, run_id: str) -> None: ...
    def mlflow_touched(self, run_id: str) -> None: ...
    def autolog_params(self, run_id: str, params: dict[str, Any]) -> dict[str, Any]: ...
    def shutdown(self) -> None: ...


class _State:
    tracker: LinkedTracker | None = None
    runs_linked = False
    exit_hook = False
    warned = False
    experiment_id: str | None = None


_state = _State()
_quiet = threading.local()


@contextmanager
def _ours() -> Iterator[None]:
    """Changes to MLflow's stacks made by us: not reported back to the tracker."""
    previous = getattr(_quiet, "on", False)
    _quiet.on = True
    try:
        yield
    finally:
        _quiet.on = previous


def _listener() -> LinkedTracker | None:
    """The tracker to tell about MLflow's stack changes, unless we are making them."""
    return None if getattr(_quiet, "on", False) else _state.tracker


class _LinkedStack(list[Any]):
    """One thread's MLflow run stack, reporting pushes, pops and reads to the tracker."""

    def append(self, active_run: Any) -> None:
        below = list.__getitem__(self, -1).info.run_id if len(self) else None
        super().append(active_run)
        tracker = _listener()
        if tracker is not None:
            with _ours():
                tracker.mlflow_started(active_run, below)

    def pop(self, index: Any = -1) -> Any:
        tracker = _listener()
        if tracker is not None and len(self):
            # end_run pops before marking the run terminated: flush our values first
            run_id = list.__getitem__(self, index).info.run_id
            with _ours():
                tracker.mlflow_ended(run_id)
        return super().pop(index)

    def __getitem__(self, index: Any) -> Any:
        item = super().__getitem__(index)
        tracker = _listener() if index == -1 else None
        if tracker is not None:
            with _ours():
                tracker.mlflow_touched(item.info.run_id)
        return item


def _fluent() -> Any:
    from mlflow.tracking import fluent

    return fluent


def supported() -> bool:
    """Whether MLflow's run stack has the shape this module relies on."""
    try:
        variable = _fluent()._active_run_stack
        names = ("get", "set", "default_factory", "get_all_thread_values")
        ok = all(hasattr(variable, name) for name in names)
        return ok and isinstance(variable.get(), list)
    except Exception:
        return False


def _thread_stack() -> list[Any]:
    """This thread's MLflow run stack, made a :class:`_LinkedStack` if it was not yet."""
    variable = _fluent()._active_run_stack
    stack = variable.get()
    if not isinstance(stack, _LinkedStack):
        stack = _LinkedStack(stack)
        variable.set(stack)
    return stack


def push_run(run: Run) -> None:
    """Make ``run`` MLflow's active run in this thread (no-op when runs are not linked)."""
    if not _state.runs_linked:
        return
    from mlflow import ActiveRun

    stack = _thread_stack()
    if stack and stack[-1].info.run_id == run.info.run_id:
        return
    with _ours():
        stack.append(ActiveRun(run))


def use_experiment(experiment_id: str) -> None:
    """Make ``experiment_id`` MLflow's active experiment (where its new runs go)."""
    if _state.tracker is None or _state.experiment_id == experiment_id:
        return
    import mlflow

    user_value = os.environ.get(_EXPERIMENT_ENV)
    mlflow.set_experiment(experiment_id=experiment_id)
    if user_value is None:
        os.environ.pop(_EXPERIMENT_ENV, None)  # exported for subprocesses: keep ours apart
    _state.experiment_id = experiment_id


def pop_run(run_id: str) -> None:
    """Take ``run_id`` off every thread's MLflow run stack, without ending it there."""
    if not _state.runs_linked:
        return
    variable = _fluent()._active_run_stack
    with _ours():
        for stack in variable.get_all_thread_values().values():
            for i in range(len(stack) - 1, -1, -1):
                if list.__getitem__(stack, i).info.run_id == run_id:
                    list.pop(stack, i)


def _share_uri(uri: str) -> None:
    """Point MLflow's tracking and registry URIs at ``uri``; a user's environment wins.

    ``mlflow.set_*_uri`` also export the value to the environment (for
    subprocesses); we take that back so our own settings keep telling a
    user's ``MLFLOW_TRACKING_URI`` from a value we chose.
    """
    import mlflow

    _set_keeping_env(mlflow.set_tracking_uri, _TRACKING_ENV, uri)
    _set_keeping_env(mlflow.set_registry_uri, _REGISTRY_ENV, uri)


def _set_keeping_env(setter: Callable[[str], None], env: str, uri: str) -> None:
    user_value = os.environ.get(env)
    setter(user_value or uri)
    if user_value is None:
        os.environ.pop(env, None)


def _link_runs() -> bool:
    if _state.runs_linked:
        return True
    if not supported():
        if not _state.warned:
            _state.warned = True
            _log().warning(
                "jupyter-mlops: this MLflow version's run stack is not the one expected; "
                "mlflow.* calls log to the same store but start their own runs"
            )
        return False
    variable = _fluent()._active_run_stack
    variable.default_factory = _LinkedStack
    _thread_stack()
    _guard_autolog_params()
    _state.runs_linked = True
    return True


def bind(tracker: LinkedTracker, tracking_uri: str) -> None:
    """Make MLflow's fluent API share ``tracker``'s store and active run.

    When the user's ``MLFLOW_TRACKING_URI`` names another store than the tracker's
    (an explicit argument won), only the URIs are set: MLflow keeps its own runs.
    """
    _share_uri(tracking_uri)
    _state.experiment_id = None  # another store: its experiments are others
    user_uri = os.environ.get(_TRACKING_ENV)
    if user_uri and user_uri != tracking_uri:
        _state.tracker = None
        return
    if _link_runs():
        _state.tracker = tracker
        _adopt_thread_runs(tracker)
        _end_ours_first()


def is_bound(tracker: object) -> bool:
    """Whether ``tracker``'s runs are MLflow's active runs."""
    return _state.tracker is tracker


def unbind(tracker: LinkedTracker) -> None:
    """Stop reporting MLflow's runs to ``tracker`` (it is being replaced)."""
    if _state.tracker is tracker:
        _state.tracker = None


def _adopt_thread_runs(tracker: LinkedTracker) -> None:
    """Runs MLflow started in this thread before the link count as the tracker's."""
    below = None
    for active in list.__iter__(_thread_stack()):
        with _ours():
            tracker.mlflow_started(active, below)
        below = active.info.run_id


def _end_ours_first() -> None:
    """At exit end our runs (status from the last cell) before MLflow's own atexit does."""
    if not _state.exit_hook:
        _state.exit_hook = True
        atexit.register(_shutdown_at_exit)


def _shutdown_at_exit() -> None:
    if _state.tracker is not None:
        _state.tracker.shutdown()


def _guard_autolog_params() -> None:
    try:
        from mlflow.utils.autologging_utils.client import MlflowAutologgingQueueingClient
    except ImportError:  # pragma: no cover - autologging moved: plain MLflow behaviour
        return
    original = MlflowAutologgingQueueingClient.log_params
    if getattr(original, "_mlops_guard", False):
        return

    def log_params(self: Any, run_id: Any, params: dict[str, Any]) -> None:
        tracker = _state.tracker
        if tracker is not None and isinstance(run_id, str):
            with _ours():
                params = tracker.autolog_params(run_id, params)
        original(self, run_id, params)

    log_params._mlops_guard = True  # type: ignore[attr-defined]
    MlflowAutologgingQueueingClient.log_params = log_params  # type: ignore[method-assign]


# -- binding when MLflow is imported -------------------------------------------------
class _AfterImport:
    """Run ``callback`` right after the top-level ``mlflow`` package finished importing.

    A ``sys.meta_path`` finder (``importlib.abc.MetaPathFinder``'s protocol; not
    subclassed, importing ``importlib.abc`` would cost ``import jupyter_mlops`` ~50 ms).
    """

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "mlflow":
            return None
        import importlib.util

        sys.meta_path.remove(self)  # once; and so the lookup below does not find us
        spec = importlib.util.find_spec(name)
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def exec_then_link(module: Any) -> None:
            exec_module(module)
            _run_quietly(self.callback)

        loader.exec_module = exec_then_link
        return spec


def _run_quietly(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception as exc:  # the user's ``import mlflow`` must never fail because of us
        _log().debug("jupyter-mlops could not link MLflow: %s", exc)


def link_on_import(callback: Callable[[], None]) -> None:
    """Call ``callback`` now if MLflow is imported, else once right after it is."""
    if "mlflow" in sys.modules:
        _run_quietly(callback)
    elif not any(isinstance(f, _AfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport(callback))
