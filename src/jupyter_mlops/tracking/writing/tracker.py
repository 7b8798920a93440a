"""Run lifecycle for one process: experiment choice, active runs, buffered logging.

A :class:`Tracker` owns a :class:`~.run_stack.RunStack` (a ``%%mlops run`` cell nests a
child under the run that was active) and one :class:`~.log_buffer.LogBuffer`. When
``MLOPS_RUN_ID`` is set, as the headless runner does, the first call attaches
to that run instead of creating another; attached runs are flushed but never
ended here, because the process that created them owns their status.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...config import Settings, load_settings
from ...errors import Conflict, InvalidInput, NotFound, StoreError
from ..mlflow_bridge import fluent as mlflow_link
from ..mlflow_bridge.store import mlflow_errors, open_client
from ..mlflow_tables.run_reads import active_run
from ..mlflow_tables.run_writes import SqliteRunWriter
from .batches import RunEnd, apply_record, journal_batches, send_batch
from .environment_lock import LOCK_ARTIFACT, LOCK_DIGEST_TAG, SOURCES_DIR, run_lock
from .experiments import check_experiment_name, experiment_id_for
from .journal import Journal, ReplayResult
from .log_buffer import Batch, LogBuffer
from .run_context import context_tags, log_notebook, notebook_path
from .run_stack import (
    HEARTBEAT_EVERY_S,
    HEARTBEAT_TAG,
    RUN_ID_ENV,
    STATUSES,
    RunStack,
    RunState,
    heartbeat_now,
)
from .settings_names import declared_names
from .shared_runs import SharedRuns
from .value_checks import check_key, check_tag_value, check_values, is_metric_value

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient

__all__ = ["HEARTBEAT_EVERY_S", "HEARTBEAT_TAG", "RUN_ID_ENV", "RunState", "Tracker"]

#: seconds a run's end waits for an unreachable store before journaling its values
END_FLUSH_TIMEOUT_S = 15.0

log = logging.getLogger("jupyter_mlops")


class Tracker:
    """Process-wide tracking state behind the public API and the magics.

    Parameters
    ----------
    settings : Settings, optional
        Store locations; resolved from the notebook folder or cwd when omitted.
    flush_interval : float
        Seconds between background flushes of non-full batches.
    share_mlflow : bool
        Make MLflow's fluent API use this tracker's store and active run once its
        client opens (the process-wide tracker does; runners' trackers do not).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        flush_interval: float = 1.0,
        share_mlflow: bool = False,
    ) -> None:
        self._settings = settings
        self._share_mlflow = share_mlflow
        self._flush_interval = flush_interval
        self._client: MlflowClient | None = None
        self._experiment_name: str | None = None
        self._experiment_id: str | None = None
        self.runs = RunStack()
        #: keeps MLflow's active run and ours the same once bound (see ``mlflow_link``)
        self.shared = SharedRuns(self)
        self._buffer: LogBuffer | None = None
        self._lock = threading.RLock()
        self._attached_env_run = False
        self._last_beat = 0.0
        #: notebook path reported by a frontend (e.g. VS Code), see ``context.notebook_path``
        self.notebook_hint: str | None = None
        #: set by the interface when the last executed cell raised
        self.last_cell_failed = False
        #: source of the cell now executing, recorded on values' runs by interfaces
        self.cell_source: str | None = None

    # -- configuration -----------------------------------------------------------------
    @property
    def notebook(self) -> Path | None:
        """The notebook this process runs, if known."""
        return notebook_path(self.notebook_hint)

    @property
    def settings(self) -> Settings:
        """Resolved store settings (discovered on first use)."""
        if self._settings is None:
            nb = self.notebook
            self._settings = load_settings(nb.parent if nb else None)
        return self._settings

    @property
    def client(self) -> MlflowClient:
        """The MLflow client for :attr:`settings`."""
        if self._client is None:
            self._client = open_client(self.settings)
            if self._share_mlflow:
                self.link_mlflow()
        return self._client

    def link_mlflow(self, *, open_store: bool = False) -> None:
        """Make MLflow's fluent API log to this tracker's store and active run.

        With ``open_store`` the store is opened first (which links it), so an embedded
        store MLflow writes to exists with our artifact root.
        """
        if open_store and self._client is None:
            self.client  # noqa: B018 - opening links
        else:
            mlflow_link.bind(self.shared, self.settings.tracking_uri)

    @property
    def buffer(self) -> LogBuffer:
        """The log buffer, started on first use."""
        with self._lock:
            if self._buffer is None:
                self._buffer = LogBuffer(
                    self._send,
                    interval=self._flush_interval,
                    on_tick=self._heartbeat,
                    spill=self._journal_batches,
                )
            return self._buffer

    @property
    def journal(self) -> Journal:
        """Where values go when the store cannot take them (see ``jupyter mlops sync``)."""
        return Journal(self.settings.store_dir / "journal")

    # -- experiments -----------------------------------------------------------------
    def default_experiment_name(self) -> str:
        """Experiment used when none was chosen: configured, else the notebook's stem."""
        if self.settings.experiment:
            return self.settings.experiment
        nb = self.notebook
        return nb.stem if nb else "Default"

    def set_experiment(self, name: str) -> str:
        """Select experiment ``name``, creating it when missing; return its id."""
        name = check_experiment_name(name)
        experiment_id = self._experiment_by_name(name)
        with self._lock:
            self._experiment_name, self._experiment_id = name, experiment_id
        self.shared.experiment_selected(experiment_id)
        return experiment_id

    @property
    def experiment_name(self) -> str:
        """Name of the experiment new runs go to."""
        return self._experiment_name or self.default_experiment_name()

    def experiment_id(self) -> str:
        """Id of the experiment new runs go to, created when missing."""
        if self._experiment_id is None:
            self._experiment_id = self._experiment_by_name(self.experiment_name)
        return self._experiment_id

    def existing_experiment_id(self) -> str | None:
        """Id of the experiment new runs go to, or ``None`` when it does not exist yet."""
        if self._experiment_id is not None:
            return self._experiment_id
        try:
            return experiment_id_for(
                self.client, self.experiment_name, self.settings.artifact_root, create=False
            )
        except NotFound:
            return None

    def _experiment_by_name(self, name: str) -> str:
        return experiment_id_for(self.client, name, self.settings.artifact_root, create=True)

    # -- runs --------------------------------------------------------------------------
    @property
    def active(self) -> RunState | None:
        """The innermost active run, attaching to ``MLOPS_RUN_ID`` when set."""
        top = self.runs.top
        if top is None and not self._attached_env_run and os.environ.get(RUN_ID_ENV):
            with self._lock:
                if not self._attached_env_run:
                    self._attach(os.environ[RUN_ID_ENV])
            top = self.runs.top
        return top

    def _attach(self, run_id: str) -> None:
        """Log to run ``run_id`` (not ours to end); read without MLflow when it can be."""
        self._attached_env_run = True
        if not mlflow_link.is_bound(self.shared):
            # MLflow not in use here yet: its own API resumes the run from $MLFLOW_RUN_ID
            found = active_run(self.settings, run_id)
            if found is not None:
                self._experiment_id = found.experiment_id
                self.runs.push(
                    RunState(
                        run_id,
                        found.name,
                        found.experiment_id,
                        owned=False,
                        params=found.params,
                        started_ms=found.start_time or int(time.time() * 1000),
                    )
                )
                return
        with mlflow_errors(f"attach to run {run_id} from ${RUN_ID_ENV}"):
            run = self.client.get_run(run_id)
        state = RunState.of(run, owned=False)
        self._experiment_id = state.experiment_id
        self.runs.push(state)
        self.shared.started(run)

    def mark_attached(self) -> None:
        """The run named by ``MLOPS_RUN_ID`` is on the stack (MLflow resumed it)."""
        self._attached_env_run = True

    def ensure_run(self) -> RunState:
        """Return the active run, starting one when none is active."""
        return self.active or self.start_run()

    def start_run(self, name: str | None = None, tags: Mapping[str, Any] | None = None) -> RunState:
        """Start a run (nested under the active one, if any) and make it active."""
        extra = {check_key(k, "tag"): check_tag_value(k, v) for k, v in (tags or {}).items()}
        if name is not None and (not name.strip() or len(name) > 250):
            raise InvalidInput("run name must be 1-250 characters, e.g. --name baseline")
        parent = self.active
        if parent is not None:
            extra["mlflow.parentRunId"] = parent.run_id
        if self.cell_source:
            extra.setdefault("mlops.cell", self.cell_source[:8000])
        extra[HEARTBEAT_TAG] = heartbeat_now()
        all_tags = context_tags(self.settings.root, self.notebook, extra)
        with mlflow_errors("start a run"):
            run = self.client.create_run(self.experiment_id(), run_name=name, tags=all_tags)
        state = RunState.of(run, owned=True, parent_id=parent.run_id if parent else None)
        self.runs.push(state)
        self.shared.started(run)
        self.buffer  # noqa: B018 - start the flusher (and heartbeats) with the first run
        return state

    def end_run(self, status: str = "FINISHED") -> RunState | None:
        """Flush and end the innermost run; return it (``None`` when no run was active).

        Runs attached from ``MLOPS_RUN_ID`` are only flushed: their creator ends them.
        """
        status = status.upper()
        if status not in STATUSES:
            raise InvalidInput(f"unknown status {status!r}; use one of {', '.join(STATUSES)}")
        top = self.runs.top
        if top is None:
            return None
        run = self.runs.pop_owned_top()
        if run is None:
            self.flush()
            return top
        self._terminate(run, status)
        return run

    def _terminate(self, run: RunState, status: str) -> None:
        """Write ``run``'s values and notebook, then its end; journal them if the store is away."""
        self.shared.ended(run.run_id)
        end = (run.run_id, status, LogBuffer.now_ms())
        if self._flush_or_journal(end):
            return
        try:
            if run.parent_id is None:
                self._log_notebook(run)
            with mlflow_errors(f"end run {run.run_id}"):
                self.client.set_terminated(run.run_id, status=status, end_time=end[2])
        except StoreError:
            self._journal_batches([], end)

    def discard_run(self, run_id: str) -> None:
        """End the innermost run ``run_id`` and delete it: a call that failed leaves no run."""
        top = self.runs.top
        if top is None or top.run_id != run_id or self.runs.pop_owned_top() is None:
            return
        self.shared.ended(run_id)
        self.flush()
        with mlflow_errors(f"discard run {run_id}"):
            self.client.set_terminated(run_id, status="FAILED")
            self.client.delete_run(run_id)

    def _log_notebook(self, run: RunState) -> None:
        nb = self.notebook
        with mlflow_errors(f"log notebook {nb}"):
            log_notebook(self.client, run.run_id, nb)
        self._log_environment(run)

    def _log_environment(self, run: RunState) -> None:
        """Log the environment lock of an owned top-level run (headless runners log their own)."""
        lock, sources = run_lock()
        if lock is None:  # pragma: no cover - this interpreter can always read itself
            return
        with mlflow_errors(f"log the environment of run {run.run_id}"):
            for archive in sources.values():
                self.client.log_artifact(run.run_id, str(archive), artifact_path=SOURCES_DIR)
            self.client.log_text(run.run_id, lock.to_toml(), LOCK_ARTIFACT)
            self.client.set_tag(run.run_id, LOCK_DIGEST_TAG, lock.digest())

    # -- outages -----------------------------------------------------------------------
    def _flush_or_journal(self, end: RunEnd | None) -> bool:
        """Flush; if the store stays unreachable, journal what is pending and ``end``.

        Returns True when the values (and the run's end) went to the journal.
        """
        try:
            self.flush(END_FLUSH_TIMEOUT_S)
            return False
        except StoreError:
            pass
        with self._lock:
            buffer, self._buffer = self._buffer, None
        left = buffer.close(timeout=0) if buffer is not None else []
        self._journal_batches(left, end)
        return True

    def _journal_batches(self, batches: list[Batch], end: RunEnd | None = None) -> None:
        journal_batches(self.journal, self.settings.tracking_uri, batches, end)

    def sync(self) -> ReplayResult:
        """Replay journaled values and run ends into their stores."""
        return self.journal.replay(lambda uri, record: apply_record(self.settings, uri, record))

    # -- logging -----------------------------------------------------------------------
    def log(self, values: Mapping[str, Any], step: int | None = None) -> RunState:
        """Log numbers as metrics and everything else as params, all-or-nothing.

        A number whose name is a setting (declared in the notebook's ``parameters`` cell,
        or already a param of the active run) is a param; see :mod:`.settings_names`.
        """
        settings = declared_names(self.notebook) if step is None else frozenset()
        active = self.active if step is None else None
        if active is not None:
            settings = settings | active.params.keys()
        metrics = {k: v for k, v in values.items() if is_metric_value(v) and k not in settings}
        params = {k: v for k, v in values.items() if k not in metrics}
        return self._log_checked(metrics, params, {}, step)

    def log_metrics(self, values: Mapping[str, Any], step: int | None = None) -> RunState:
        """Log metric values (numbers, or text that parses as one)."""
        return self._log_checked(values, {}, {}, step)

    def log_params(self, values: Mapping[str, Any]) -> RunState:
        """Log params; re-logging a key with a different value is refused."""
        return self._log_checked({}, values, {}, None)

    def set_tags(self, values: Mapping[str, Any]) -> RunState:
        """Set tags on the active run (tags may change)."""
        return self._log_checked({}, {}, values, None)

    def _log_checked(
        self,
        metrics: Mapping[str, Any],
        params: Mapping[str, Any],
        tags: Mapping[str, Any],
        step: int | None,
    ) -> RunState:
        m, p, t, step_value = check_values(metrics, params, tags, step)
        run = self.ensure_run()
        if p:
            self.shared.refresh_params(run)
            self._check_params_unchanged(run, p)
        buf, rid, ts = self.buffer, run.run_id, LogBuffer.now_ms()
        for key, value in m:
            buf.metric(rid, key, value, ts, step_value)
        for key, text in p:
            if key not in run.params:
                run.params[key] = text
                buf.param(rid, key, text)
                self.shared.params_queued()
        for key, text in t:
            buf.tag(rid, key, text)
        return run

    def _check_params_unchanged(self, run: RunState, params: list[tuple[str, str]]) -> None:
        for key, text in params:
            old = run.params.get(key)
            if old is not None and old != text:
                raise Conflict(
                    f"param {key!r} is already {old!r} on this run and MLflow params cannot "
                    f"change; log {text!r} under another name or start a new run (%mlops start)"
                )

    def log_artifact(self, path: str | os.PathLike[str], artifact_path: str | None = None) -> str:
        """Upload a file or folder to the active run; return its artifact path."""
        src = _existing_path(path)
        _check_artifact_dir(artifact_path)
        run = self.ensure_run()
        with mlflow_errors(f"upload {src}"):
            if src.is_dir():
                self.client.log_artifacts(run.run_id, str(src), artifact_path=artifact_path)
            else:
                self.client.log_artifact(run.run_id, str(src), artifact_path=artifact_path)
        return f"{artifact_path}/{src.name}" if artifact_path else src.name

    def log_text(self, text: str, artifact_file: str) -> None:
        """Store ``text`` as an artifact file of the active run."""
        run = self.ensure_run()
        with mlflow_errors(f"log {artifact_file}"):
            self.client.log_text(run.run_id, text, artifact_file)

    def flush(self, timeout: float | None = 120.0) -> None:
        """Write every buffered value now."""
        if self._buffer is not None:
            self._buffer.flush(timeout)

    @property
    def pending(self) -> int:
        """Values logged but not yet written to the store."""
        return self._buffer.pending if self._buffer is not None else 0

    def shutdown(self) -> None:
        """Flush and end every owned run: FAILED if the last cell raised, else FINISHED."""
        status = "FAILED" if self.last_cell_failed else "FINISHED"
        try:
            while (run := self.runs.pop_owned_top()) is not None:
                self._terminate(run, status)
            self._flush_or_journal(None)
        finally:
            with self._lock:
                buffer, self._buffer = self._buffer, None
            if buffer is not None:
                left = buffer.close(timeout=END_FLUSH_TIMEOUT_S)
                if left:
                    self._journal_batches(left)

    # -- background --------------------------------------------------------------------
    @functools.cached_property
    def _direct(self) -> SqliteRunWriter | None:
        """Writes batches straight into an embedded store; ``None`` when MLflow must."""
        return SqliteRunWriter.open(self.settings)

    def _send(self, run_id: str, metrics: list, params: list, tags: list) -> None:
        direct = self._direct
        if direct is not None and direct.log_batch(run_id, metrics, params, tags):
            return
        send_batch(self.client, run_id, metrics, params, tags)

    def _heartbeat(self) -> None:
        now = time.time()
        if now - self._last_beat < HEARTBEAT_EVERY_S:
            return
        self._last_beat = now
        for run in self.runs.snapshot():
            if run.owned:
                self.buffer.tag(run.run_id, HEARTBEAT_TAG, str(int(now)))


def _existing_path(path: str | os.PathLike[str]) -> Path:
    if not str(path).strip():  # Path("") is the working folder: never upload it by accident
        raise InvalidInput("empty path; give a file or folder, e.g. artifact plots/roc.png")
    src = Path(path).expanduser()
    if not src.exists():
        raise InvalidInput(
            f"no file or folder {str(src)!r}; give an existing path, e.g. artifact plots/roc.png"
        )
    return src


def _check_artifact_dir(artifact_path: str | None) -> None:
    if artifact_path is not None and (
        artifact_path.startswith("/") or ".." in Path(artifact_path).parts
    ):
        raise InvalidInput(
            f"--dir {artifact_path!r} must be a relative folder inside the run, e.g. --dir plots"
        )
