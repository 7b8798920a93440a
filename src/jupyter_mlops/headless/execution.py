"""Run a notebook headless with papermill as exactly one MLflow run.

The run is created here, before the kernel starts, and handed to the kernel in
``MLOPS_RUN_ID``: every ``%mlops`` / ``mlops.*`` call in the notebook attaches
to it. This process owns the run's status; the kernel only logs to it.

Recorded on the run: parameters (as params, and typed in ``headless.json``),
the input notebook as read (``notebook/``), the executed notebook and its HTML
rendering (``output/``), kernel and papermill metadata, duration and status.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Settings, load_settings
from ..errors import InvalidInput, MlopsError
from ..tracking.mlflow_bridge.store import mlflow_errors
from ..tracking.mlflow_tables.run_writes import experiment_for, open_run_writer
from ..tracking.writing.experiments import check_experiment_name
from ..tracking.writing.owned_run import CreatedRun, RunWriter
from ..tracking.writing.run_context import NOTEBOOK_ENV, context_tags
from ..tracking.writing.shared_runs import MLFLOW_RUN_ENV
from ..tracking.writing.tracker import HEARTBEAT_EVERY_S, HEARTBEAT_TAG, RUN_ID_ENV
from .control import ExecutionControl
from .outcome import CellFailure, HeadlessResult
from .preflight import Plan, prepare
from .progress import Progress, ProgressCallback
from .recording import PINNED_ENV, record_outcome

__all__ = [
    "PINNED_ENV",
    "CellFailure",
    "ExecutionControl",
    "HeadlessResult",
    "KernelSource",
    "Plan",
    "execute_notebook",
    "prepare",
]

log = logging.getLogger("jupyter_mlops")

#: ``(kernel_name, env, cwd, log_path) -> started kernel manager``
KernelSource = Callable[[str, Mapping[str, str], str, str], Any]


def _create_run(
    plan: Plan,
    settings: Settings,
    experiment: str | None,
    run_name: str | None,
    tags: Mapping[str, str],
) -> tuple[RunWriter, CreatedRun]:
    """Create the run (straight into an embedded store: no MLflow import)."""
    name = check_experiment_name(experiment or settings.experiment or plan.notebook.stem)
    extra = {
        "mlops.headless": "papermill",
        "mlops.kernel": plan.kernel_name,
        HEARTBEAT_TAG: str(int(time.time())),
        **tags,
    }
    all_tags = context_tags(settings.root, plan.notebook, extra)
    writer = open_run_writer(settings)
    experiment_id = experiment_for(settings, name)
    with mlflow_errors("start a run"):
        run_name = run_name or plan.notebook.stem
        run = writer.create_run(experiment_id, run_name, all_tags, plan.param_text)
    return writer, run


#: variables that belong to this process, not to the kernels it starts
_PROCESS_ONLY = frozenset({"PROMETHEUS_MULTIPROC_DIR"})


def kernel_env(
    settings: Settings,
    run_id: str,
    notebook: Path,
    extra: Mapping[str, str] | None,
    *,
    inherit: bool = True,
) -> dict[str, str]:
    """Environment of the kernel: ours (unless ``inherit`` is false), the caller's, where to log.

    Variables of this process's own machinery are not passed on: a notebook that a serving
    process starts (a schedule an alert runs) must not count its metrics in the server's
    Prometheus multiprocess folder.
    """
    ours = {k: v for k, v in os.environ.items() if k not in _PROCESS_ONLY} if inherit else {}
    env = {**ours, **(extra or {})}
    env.update(
        {
            RUN_ID_ENV: run_id,
            MLFLOW_RUN_ENV: run_id,  # plain mlflow.* in the notebook resumes it too
            NOTEBOOK_ENV: str(notebook),
            "MLOPS_HOME": str(settings.root),
            "MLFLOW_TRACKING_URI": settings.tracking_uri,
            "MLOPS_DATA_URI": settings.data_uri,
        }
    )
    return env


class _Heartbeat:
    """Refresh the run's heartbeat tag so no sweeper takes a long execution for dead."""

    def __init__(self, client: RunWriter, run_id: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, args=(client, run_id), name="mlops-headless-heartbeat", daemon=True
        )

    def _beat(self, client: RunWriter, run_id: str) -> None:
        while not self._stop.wait(HEARTBEAT_EVERY_S):
            try:
                client.set_tag(run_id, HEARTBEAT_TAG, str(int(time.time())))
            except Exception:
                continue

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _run_papermill(
    plan: Plan,
    output: Path,
    kernel: _Kernel,
    progress: ProgressCallback | None,
    control: ExecutionControl,
) -> tuple[CellFailure | None, str | None]:
    """Execute; return the failing cell or a kernel-level error (both ``None`` on success)."""
    from .kernel_launch import kernel_interpreter, kernel_manager, start_kernel

    log_path = output.with_name(output.stem + ".kernel.log")
    if kernel.source is None:
        control._km = kernel_manager(
            plan.kernel_name, kernel.env, str(plan.cwd), str(log_path), kernel.dirs
        )
    try:
        if kernel.source is None:
            start_kernel(control._km)
        else:
            control._km = kernel.source(plan.kernel_name, kernel.env, str(plan.cwd), str(log_path))
        control.interpreter = kernel_interpreter(control._km)
        return _papermill(plan, output, progress, control, kernel.timeout)
    except Exception as exc:
        from nbclient.exceptions import DeadKernelError

        control.kernel_died = isinstance(exc, DeadKernelError)
        first = (str(exc).strip().splitlines() or [""])[0]
        return None, f"execution stopped: {type(exc).__name__}: {first}"
    finally:
        control.over.set()  # no cell runs any more: a cancel stops interrupting
        _stop(control)


def _stop(control: ExecutionControl) -> None:
    """End the kernel nbclient leaves running (it did not create it).

    A graceful shutdown lets the kernel write what it buffered before the run is ended (the
    outcome is recorded meanwhile, and the run ended once it is gone). A cancelled run's
    kernel writes its last values while the run already ends KILLED, or is killed.
    """
    from .kernel_launch import kill_kernel, stop_kernel, stop_kernel_soon

    if not control.cancelled.is_set():
        control.stop_kernel(stop_kernel)
    elif control.kill_when_cancelled:
        kill_kernel(control._km)
    else:
        stop_kernel_soon(control._km)


def _papermill(
    plan: Plan,
    output: Path,
    progress: ProgressCallback | None,
    control: ExecutionControl,
    timeout: float | None,
) -> tuple[CellFailure | None, str | None]:
    # Imported only now: the kernel process boots meanwhile.
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from .kernel_launch import ENGINE_NAME, register_engine

    register_engine()
    try:
        papermill.execute_notebook(
            str(plan.notebook),
            str(output),
            parameters=plan.params,
            engine_name=ENGINE_NAME,
            kernel_name=plan.kernel_name,
            progress_bar=False,
            km=control._km,
            progress=progress,
            execution_timeout=timeout,
        )
    except PapermillExecutionError as exc:
        return CellFailure(exc.cell_index, exc.exec_count, exc.ename, exc.evalue), None
    return None, None


def execute_notebook(
    path: str | os.PathLike[str],
    params: Mapping[str, Any] | None = None,
    *,
    experiment: str | None = None,
    run_name: str | None = None,
    parent_run_id: str | None = None,
    output_path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    kernel_name: str | None = None,
    tags: Mapping[str, str] | None = None,
    progress: ProgressCallback | None = None,
    control: ExecutionControl | None = None,
    timeout: float | None = None,
    settings: Settings | None = None,
    inherit_env: bool = True,
    kernels: KernelSource | None = None,
    kernel_dirs: Sequence[str] = (),
) -> HeadlessResult:
    """Execute ``path`` with papermill in a fresh kernel, as one MLflow run.

    Parameters
    ----------
    path : path-like
        The notebook (``.ipynb``).
    params : mapping, optional
        Values injected after the cell tagged ``parameters``; names must be defined there.
    experiment : str, optional
        Experiment of the run; default the configured one, else the notebook's stem.
    run_name, parent_run_id, tags : optional
        Run name, parent run (makes this a nested run) and extra tags.
    output_path : path-like, optional
        Where the executed notebook goes; default ``<root>/.mlops/outputs/<run id>/``.
    env : mapping, optional
        Extra environment variables for the kernel.
    cwd : path-like, optional
        Working folder of the kernel; default the notebook's folder.
    kernel_name : str, optional
        Kernel to use instead of the one in the notebook's metadata.
    progress : callable, optional
        Called with a :class:`~.progress.Progress` as cells start and finish.
    control : ExecutionControl, optional
        Filled with the run id once created; ``control.cancel()`` interrupts.
    timeout : float, optional
        Seconds a single cell may run.
    settings : Settings, optional
        Store to log to; default the notebook's project.
    inherit_env : bool
        Whether the kernel starts from this process's environment plus ``env`` (default)
        or from ``env`` alone (a worker running on behalf of another process).
    kernels : callable, optional
        ``kernels(kernel_name, env, cwd, log_path)`` returns a started kernel manager
        for exactly that environment and folder; default a fresh kernel.
    kernel_dirs : sequence of str
        Kernel spec folders searched before Jupyter's own (an isolated environment's).

    Returns
    -------
    HeadlessResult
        Status FINISHED, FAILED (a cell raised) or KILLED (cancelled, or the kernel died).

    Raises
    ------
    InvalidInput, NotFound
        Before any run or kernel exists: bad path, unknown parameter, missing kernel.
    """
    control = control or ExecutionControl()
    try:
        plan = prepare(path, params, kernel_name, cwd, output_path, kernel_dirs)
        settings = settings or load_settings(plan.notebook.parent)
        run_tags = {
            **(tags or {}),
            **({"mlflow.parentRunId": parent_run_id} if parent_run_id else {}),
        }
        writer, run = _create_run(plan, settings, experiment, run_name, run_tags)
        try:
            output = _output_path(plan, settings, run.run_id)
            control.run_id, control.output_path = run.run_id, output
            control.created.set()
            kernel = _Kernel(
                kernel_env(settings, run.run_id, plan.notebook, env, inherit=inherit_env),
                timeout,
                kernels,
                tuple(kernel_dirs),
            )
            result = _execute(writer, run, plan, output, kernel, progress, control)
        except BaseException as exc:
            control.wait_kernel_stopped()
            end_after_error(writer, run.run_id, exc)
            raise
        try:
            record_outcome(
                writer,
                result,
                plan.kernel_name,
                env,
                control.wait_kernel_stopped,
                kernel=(control.interpreter, kernel.env),
            )
        finally:
            control.wait_kernel_stopped()
        if progress is not None:
            progress(Progress("finished", 0, 0, elapsed_s=result.duration_s))
        return result
    finally:
        control.over.set()  # ends the interrupts of a cancel, whatever happened


@dataclass(frozen=True)
class _Kernel:
    """How the notebook's kernel is started: its environment, cell timeout, and source."""

    env: dict[str, str]
    timeout: float | None
    source: KernelSource | None
    dirs: tuple[str, ...] = ()


def _execute(
    writer: RunWriter,
    run: CreatedRun,
    plan: Plan,
    output: Path,
    kernel: _Kernel,
    progress: ProgressCallback | None,
    control: ExecutionControl,
) -> HeadlessResult:
    """Run the notebook under the run's heartbeat; the outcome, not yet recorded."""
    run_id = run.run_id
    started = time.monotonic()
    failure: CellFailure | None = None
    error: str | None = None
    if control.cancelled.is_set():
        error = "cancelled before the kernel started"
    else:
        with _Heartbeat(writer, run_id):
            failure, error = _run_papermill(plan, output, kernel, progress, control)
    status = _status(control, failure, error)
    duration = time.monotonic() - started
    return HeadlessResult(
        run_id,
        run.experiment_id,
        status,
        plan.notebook,
        output,
        plan.params,
        duration,
        failure,
        error,
        run_name=run.run_name,
    )


def _status(control: ExecutionControl, failure: CellFailure | None, error: str | None) -> str:
    if control.cancelled.is_set() or control.kernel_died:
        return "KILLED"
    return "FAILED" if failure or error else "FINISHED"


#: a folder of executed notebooks beside the sources (Lab's runs, ``make demo``): git ignores it
OUTPUTS_FOLDER = "mlops-outputs"


def _output_path(plan: Plan, settings: Settings, run_id: str) -> Path:
    out = plan.output or settings.store_dir / "outputs" / run_id / plan.notebook.name
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        ignore = out.parent / ".gitignore"
        if out.parent.name == OUTPUTS_FOLDER and not ignore.exists():
            ignore.write_text("# executed notebooks of jupyter-mlops runs (kept in MLflow)\n*\n")
    except OSError as exc:
        raise InvalidInput(
            f"cannot write the output notebook to {out.parent}: {exc.strerror or exc}; "
            "give --output in a folder you can write, e.g. --output out.ipynb"
        ) from None
    return out


def end_after_error(client: RunWriter, run_id: str, exc: BaseException) -> None:
    """End a run whose execution raised: KILLED when interrupted, else FAILED, with the reason.

    When the store cannot take even that, say so: the run stays RUNNING until its
    stopped heartbeat gets it reaped (KILLED) by the next ``%load_ext jupyter_mlops``.
    """
    interrupted = isinstance(exc, (KeyboardInterrupt, SystemExit))
    status = "KILLED" if interrupted else "FAILED"
    reason = "interrupted" if interrupted else f"{type(exc).__name__}: {exc}".splitlines()[0]
    try:
        with mlflow_errors(f"end run {run_id}"):
            client.set_tag(run_id, "mlops.error", reason[:500])
            client.set_terminated(run_id, status=status)
    except MlopsError as problem:
        log.warning(
            "jupyter-mlops: run %s could not be ended %s after %s (%s); it stays RUNNING until "
            "its stopped heartbeat gets it marked KILLED",
            run_id,
            status,
            reason,
            problem,
        )
