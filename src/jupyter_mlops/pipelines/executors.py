"""Where notebook executions run: a registry of executors keyed by URL scheme.

``local`` runs each unit in a thread of this process, each with its own fresh
kernel (papermill through :func:`~.headless.execute_notebook`), at most
``jobs`` at once. ``dask://HOST:PORT`` submits the very same units to an
existing Dask distributed scheduler; its workers must see the same files and
store. A new executor is a new class registered with :func:`register_executor`.

Examples
--------
>>> with open_executor("local", jobs=2) as ex:      # doctest: +SKIP
...     outcome = ex.submit(task).result()
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .. import warm_imports
from ..config import Settings
from ..errors import InvalidInput, MlopsError, StoreError

__all__ = [
    "EXECUTORS",
    "Executor",
    "UnitOutcome",
    "UnitTask",
    "open_executor",
    "register_executor",
    "run_unit",
]

#: receives ``(unit_id, text)`` while a unit runs, e.g. ``"3/7 cells, 2.1 s"``
UnitProgress = Callable[[str, str], None]


@dataclass(frozen=True)
class UnitTask:
    """Everything one execution needs, picklable so it can travel to another machine."""

    unit_id: str
    notebook: str
    params: dict[str, Any]
    experiment: str
    run_name: str
    parent_run_id: str | None
    settings: Settings
    tags: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    kernel_name: str | None = None
    timeout: float | None = None
    #: a cancel kills the kernel once the cell is interrupted (see ``ExecutionControl``)
    kill_when_cancelled: bool = False


@dataclass(frozen=True)
class UnitOutcome:
    """What came back: the run, its status and a message (one line, or a failure paragraph)."""

    unit_id: str
    run_id: str | None
    status: str
    duration_s: float
    message: str
    output_path: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the notebook ran to the end."""
        return self.status == "FINISHED"


def run_unit(
    task: UnitTask, progress: UnitProgress | None = None, control: Any = None
) -> UnitOutcome:
    """Execute one unit in a fresh kernel; never raises for a failure of the notebook itself."""
    from ..headless.execution import execute_notebook

    started = time.monotonic()
    if control is not None:
        control.kill_when_cancelled = task.kill_when_cancelled
    callback = None
    if progress is not None:

        def callback(event: Any) -> None:
            progress(task.unit_id, event.describe())

    try:
        result = execute_notebook(
            task.notebook,
            task.params,
            experiment=task.experiment,
            run_name=task.run_name,
            parent_run_id=task.parent_run_id,
            env=task.env,
            kernel_name=task.kernel_name,
            tags=task.tags,
            progress=callback,
            control=control,
            timeout=task.timeout,
            settings=task.settings,
        )
    except MlopsError as exc:
        run_id = getattr(control, "run_id", None)
        return UnitOutcome(task.unit_id, run_id, "FAILED", time.monotonic() - started, str(exc))
    message = result.message() if not result.ok else ""
    return UnitOutcome(
        task.unit_id,
        result.run_id,
        result.status,
        result.duration_s,
        message,
        str(result.output_path),
    )


class Executor:
    """Runs :class:`UnitTask` s; ``slots`` is how many the scheduler keeps in flight."""

    name = "executor"
    slots = 1

    def submit(self, task: UnitTask, progress: UnitProgress | None = None) -> Future[UnitOutcome]:
        """Start ``task``; the future's result is its :class:`UnitOutcome`."""
        raise NotImplementedError

    def cancel(self, unit_id: str) -> None:
        """Interrupt the kernel of one running unit; its run ends KILLED (best effort)."""

    def cancel_all(self) -> None:
        """Interrupt what is running (best effort)."""

    def close(self) -> None:
        """Release workers and connections."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalExecutor(Executor):
    """Threads of this process, each driving its own kernel process."""

    name = "local"

    def __init__(self, jobs: int) -> None:
        self.slots = jobs
        self._pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="mlops-pipeline")
        self._controls: dict[str, Any] = {}
        self._lock = threading.Lock()

    def submit(self, task: UnitTask, progress: UnitProgress | None = None) -> Future[UnitOutcome]:
        from ..headless.execution import ExecutionControl

        control = ExecutionControl()
        with self._lock:
            self._controls[task.unit_id] = control
        return self._pool.submit(self._run, task, progress, control)

    def _run(self, task: UnitTask, progress: UnitProgress | None, control: Any) -> UnitOutcome:
        try:
            return run_unit(task, progress, control)
        finally:
            with self._lock:
                self._controls.pop(task.unit_id, None)

    def cancel(self, unit_id: str) -> None:
        with self._lock:
            control = self._controls.get(unit_id)
        if control is not None:
            control.cancel()

    def cancel_all(self) -> None:
        with self._lock:
            controls = list(self._controls.values())
        for control in controls:
            control.cancel()

    def close(self) -> None:
        from ..headless.kernel_launch import wait_stopped

        self._pool.shutdown(wait=True, cancel_futures=True)
        wait_stopped()  # cancelled units' kernels


class DaskExecutor(Executor):
    """An existing Dask distributed cluster, reached at ``dask://HOST:PORT``."""

    name = "dask"

    def __init__(self, address: str, jobs: int | None) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise InvalidInput(
                "the dask executor needs the distributed package: pip install 'jupyter-mlops[dask]'"
            ) from None
        try:
            self._client = Client(address, timeout=10, set_as_default=False)
        except OSError as exc:
            raise StoreError(
                f"cannot reach the Dask scheduler at {address} ({exc}); "
                "start one (dask scheduler) or check --executor dask://HOST:PORT"
            ) from None
        self._remote: list[Any] = []
        self._keys: dict[str, str] = {}  # unit id -> the name of its cancel event
        # Workers import MLflow and papermill (seconds each) while units are being
        # planned, instead of inside the first unit each of them runs.
        self._client.run(_warm_worker_imports, wait=False)
        threads = sum(self._client.nthreads().values()) or 1
        self.slots = min(jobs, threads) if jobs else threads

    def submit(self, task: UnitTask, progress: UnitProgress | None = None) -> Future[UnitOutcome]:
        out: Future[UnitOutcome] = Future()
        out.set_running_or_notify_cancel()
        key = f"mlops-{task.unit_id}-{uuid.uuid4().hex[:8]}"
        remote = self._client.submit(_run_remote, task, key, pure=False, key=key)
        self._remote.append(remote)
        self._keys[task.unit_id] = key

        def transfer(done: Any) -> None:
            try:
                out.set_result(done.result())
            except BaseException as exc:  # a worker lost or the task cancelled
                why = f"dask: {type(exc).__name__}: {exc}"
                out.set_result(UnitOutcome(task.unit_id, None, "FAILED", 0.0, why))

        remote.add_done_callback(transfer)
        return out

    def cancel(self, unit_id: str) -> None:
        key = self._keys.get(unit_id)
        if key is not None:
            _dask_event(key, self._client).set()

    def cancel_all(self) -> None:
        self._client.cancel([f for f in self._remote if not f.done()])

    def close(self) -> None:
        self._client.close()


def _dask_event(name: str, client: Any = None) -> Any:
    """The cluster-wide Dask event ``name`` (one per unit: set it to interrupt that unit)."""
    try:
        from distributed import Event
    except ImportError:  # only reached with a Dask client, so distributed is there
        raise InvalidInput("pip install 'jupyter-mlops[dask]' for the dask executor") from None
    return Event(name, client=client)


def _run_remote(task: UnitTask, event_name: str) -> UnitOutcome:
    """:func:`run_unit` on a Dask worker; setting the Dask event ``event_name`` interrupts it."""
    from ..headless.execution import ExecutionControl

    _unit_imports()  # after the worker's warm-up, or in its place
    control = ExecutionControl()
    cancel = _dask_event(event_name)

    def follow() -> None:
        while not control.over.is_set():
            if cancel.wait(timeout=0.5):
                control.cancel()
                return

    threading.Thread(target=follow, name="mlops-dask-cancel", daemon=True).start()
    try:
        return run_unit(task, None, control)
    finally:
        control.over.set()  # whatever happened, stop following the event with the task


def _unit_imports() -> None:
    """Import what every unit needs, once per process, one thread at a time."""
    import sys

    with warm_imports.importing():  # one importing thread at a time (see warm_imports)
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # see cli
        import mlflow  # noqa: F401
        import papermill  # noqa: F401


async def _warm_worker_imports() -> None:
    """Start importing what every unit needs, in a thread of each worker process.

    A coroutine (Dask runs it on the worker's event loop without waiting) that hands the
    imports to a thread, so the worker keeps answering its scheduler meanwhile; a unit
    arriving meanwhile waits for them (:func:`_unit_imports`).
    """
    threading.Thread(target=_unit_imports, name="mlops-warm-imports", daemon=True).start()


#: URL scheme -> factory ``(address, jobs) -> Executor``
EXECUTORS: dict[str, Callable[[str, int | None], Executor]] = {
    "local": lambda address, jobs: LocalExecutor(jobs or os.cpu_count() or 1),
    "dask": lambda address, jobs: DaskExecutor("tcp://" + address, jobs),
}


def register_executor(scheme: str, factory: Callable[[str, int | None], Executor]) -> None:
    """Make ``--executor SCHEME://ADDRESS`` use ``factory(address, jobs)``."""
    EXECUTORS[scheme] = factory


def open_executor(spec: str = "local", jobs: int | None = None) -> Executor:
    """Return the executor named by ``spec``: ``local`` or ``dask://HOST:PORT``."""
    if jobs is not None and jobs < 1:
        raise InvalidInput(f"--jobs must be 1 or more, got {jobs}")
    scheme, sep, address = spec.partition("://")
    factory = EXECUTORS.get(scheme)
    valid = ", ".join(f"{s}" if s == "local" else f"{s}://HOST:PORT" for s in EXECUTORS)
    if factory is None or (scheme == "local" and sep) or (scheme != "local" and not address):
        raise InvalidInput(f"unknown executor {spec!r}; use one of: {valid}")
    return factory(address, jobs)
