"""One execution of a schedule: a headless or pipeline run, tagged, then notified.

The runs are made by the headless and pipeline services exactly as ``jupyter
mlops run`` / ``pipeline run`` make them; this module adds the tags
``mlops.schedule``, ``mlops.schedule.tick`` and ``mlops.schedule.trigger`` (``cron``,
``manual`` or the identity of the event, e.g. ``snapshot:customers:v7``, with the
event's ``mlops.schedule.trigger_*`` tags) and sends the notifications. An event is
handed to a notebook as ``MLOPS_TRIGGER`` in its kernel's environment (to each step's
kernel for a pipeline) and as the ``trigger_*`` parameters its parameters cell declares.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..config import Settings
from ..errors import MlopsError
from .cron import iso
from .notify import notifier
from .spec import Schedule
from .store import SCHEDULE_TAG, TICK_TAG, TRIGGER_TAG
from .triggers import TRIGGER_ENV, Event

__all__ = ["Control", "Execution", "ExecutionHandle", "execute", "notification", "run_tags"]

log = logging.getLogger("jupyter_mlops.schedules")


@dataclass
class Execution:
    """Outcome of one execution.

    ``status`` is the run's (FINISHED, FAILED, KILLED), or ERROR when no run could
    be made (the target vanished, a parameter no longer fits). ``event`` holds the
    trigger event's parameters (``trigger_snapshot`` ...), empty for a cron tick.
    """

    schedule: str
    target: str
    tick: str
    trigger: str
    event: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None
    experiment_id: str | None = None
    status: str = "RUNNING"
    message: str = ""

    @property
    def ok(self) -> bool:
        """Whether it ran to the end."""
        return self.status == "FINISHED"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return dict(self.__dict__)


def run_tags(
    schedule: Schedule, tick: datetime, trigger: str, event: dict[str, str] | None = None
) -> dict[str, str]:
    """The tags every execution of ``schedule`` for ``tick`` carries (and its event's)."""
    tags = {SCHEDULE_TAG: schedule.name, TICK_TAG: iso(tick), TRIGGER_TAG: trigger}
    tags.update({f"{SCHEDULE_TAG}.{k}": v for k, v in (event or {}).items() if v})
    return tags


def _declared_trigger_params(
    settings: Settings, schedule: Schedule, run: Execution
) -> dict[str, str]:
    """The event's ``trigger_*`` values the notebook's parameters cell declares."""
    if not run.event:
        return {}
    from ..headless.parameters import declared_params, load_notebook_json, parameters_cell

    source = parameters_cell(load_notebook_json(schedule.path(settings)))
    names = {p.name for p in declared_params(source) or []} if source else set()
    return {k: v for k, v in run.event.items() if k in names}


@dataclass
class Control:
    """Lets the caller learn the run id and cancel."""

    created: threading.Event = field(default_factory=threading.Event)
    cancelled: threading.Event = field(default_factory=threading.Event)
    cancel_notebook: Any = None


def _run_notebook(
    settings: Settings, schedule: Schedule, tags: dict[str, str], run: Execution, control: Control
) -> None:
    from ..headless.execution import ExecutionControl, execute_notebook

    headless = ExecutionControl()
    control.cancel_notebook = headless.cancel
    watcher = threading.Thread(target=_forward_created, args=(headless, run, control), daemon=True)
    watcher.start()
    params = {**schedule.params, **_declared_trigger_params(settings, schedule, run)}
    result = execute_notebook(
        schedule.path(settings),
        params,
        experiment=schedule.experiment,
        env={TRIGGER_ENV: run.trigger},
        tags=tags,
        control=headless,
        settings=settings,
    )
    run.run_id, run.experiment_id = result.run_id, result.experiment_id
    run.status, run.message = result.status, result.message()


def _forward_created(headless: Any, run: Execution, control: Control) -> None:
    headless.created.wait()
    run.run_id = headless.run_id
    control.created.set()


class _PipelineListener:
    """Tags the parent run as soon as it exists."""

    def __init__(
        self, settings: Settings, tags: dict[str, str], run: Execution, control: Control
    ) -> None:
        self.settings, self.tags, self.run, self.control = settings, tags, run, control

    def started(self, units: Any, parent_run_id: str) -> None:
        from mlflow.entities import RunTag

        from ..tracking.mlflow_bridge.store import open_client

        tags = [RunTag(k, v) for k, v in self.tags.items()]
        open_client(self.settings).log_batch(parent_run_id, tags=tags)
        self.run.run_id = parent_run_id
        self.control.created.set()

    def update(self, unit: Any) -> None:
        return

    def finished(self, result: Any) -> None:
        return


def _run_pipeline(
    settings: Settings, schedule: Schedule, tags: dict[str, str], run: Execution, control: Control
) -> None:
    from ..pipelines.api import run_pipeline

    result = run_pipeline(
        schedule.path(settings),
        listener=_PipelineListener(settings, tags, run, control),  # type: ignore[arg-type]
        settings=settings,
        env={TRIGGER_ENV: run.trigger},
    )
    run.run_id, run.experiment_id = result.parent_run_id, result.experiment_id
    run.status = "FINISHED" if result.ok else "FAILED"
    failures = [f"{u.label}: {u.message}" for u in result.failures()]
    run.message = "\n".join(failures) or f"pipeline run {result.parent_run_id} FINISHED"


_RUNNERS = {"notebook": _run_notebook, "pipeline": _run_pipeline}


def execute(
    settings: Settings,
    schedule: Schedule,
    run: Execution,
    control: Control | None = None,
) -> Execution:
    """Run ``schedule`` once as ``run`` (blocking, filled in place), then queue notifications."""
    control = control or Control()
    tick = datetime.fromisoformat(run.tick)
    try:
        runner = _RUNNERS[schedule.kind]
        tags = run_tags(schedule, tick, run.trigger, run.event)
        runner(settings, schedule, tags, run, control)
    except MlopsError as exc:
        run.status, run.message = "ERROR", str(exc)
    except Exception as exc:  # a scheduler thread must report, never die silently
        log.exception("schedule %s: execution for %s crashed", schedule.name, run.tick)
        run.status, run.message = "ERROR", f"{type(exc).__name__}: {exc}"
    finally:
        control.created.set()
    log.info("schedule %s tick %s: run %s %s", schedule.name, run.tick, run.run_id, run.status)
    notify(settings, schedule, run)
    return run


def notify(settings: Settings, schedule: Schedule, run: Execution) -> None:
    """Queue the POSTs ``schedule`` asks for after ``run``."""
    urls = schedule.on_success if run.ok else schedule.on_failure
    if urls:
        notifier().send(urls, notification(settings, schedule, run))


def run_link(settings: Settings, run: Execution) -> str | None:
    """Where a person can see the run: the tracking server's page for it, if there is one."""
    uri = settings.tracking_uri.rstrip("/")
    if not run.run_id or not uri.startswith(("http://", "https://")):
        return None
    return f"{uri}/#/experiments/{run.experiment_id}/runs/{run.run_id}"


def notification(settings: Settings, schedule: Schedule, run: Execution) -> dict[str, Any]:
    """The JSON body of a notification; ``text`` is a readable summary."""
    link = run_link(settings, run)
    verdict = "finished" if run.ok else f"ended {run.status}"
    lines = [f"Schedule {schedule.name}: {schedule.target} {verdict} (tick {run.tick})."]
    if run.run_id:
        lines.append(f"Run {run.run_id}" + (f": {link}" if link else ""))
    error = "" if run.ok else run.message
    if error:
        lines.append(error)
    return {
        "text": "\n".join(lines),
        "schedule": schedule.name,
        "target": schedule.target,
        "kind": schedule.kind,
        "tick": run.tick,
        "trigger": run.trigger,
        "event": run.event or None,
        "run_id": run.run_id,
        "status": run.status,
        "error": error or None,
        "link": link,
        "run_uri": f"runs:/{run.run_id}" if run.run_id else None,
    }


class ExecutionHandle:
    """An execution running in a thread of this process."""

    def __init__(
        self,
        settings: Settings,
        schedule: Schedule,
        tick: datetime,
        trigger: str,
        event: Event | None = None,
    ) -> None:
        self.schedule = schedule
        self.control = Control()
        self.execution = Execution(
            schedule.name,
            schedule.target,
            iso(tick),
            event.identity if event else trigger,
            dict(event.params) if event else {},
        )
        self._thread = threading.Thread(
            target=execute,
            args=(settings, schedule, self.execution, self.control),
            name=f"mlops-schedule-{schedule.name}",
            daemon=True,
        )
        self._thread.start()

    def run_id(self, timeout: float | None = None) -> str | None:
        """The run, once created (``None`` when none could be)."""
        self.control.created.wait(timeout)
        return self.execution.run_id

    def done(self) -> bool:
        """Whether the execution is over."""
        return not self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> Execution:
        """Block until it is over (or ``timeout``); return its outcome so far."""
        self._thread.join(timeout)
        return self.execution

    def cancel(self) -> None:
        """Interrupt a notebook execution (its run ends KILLED)."""
        self.control.cancelled.set()
        if self.control.cancel_notebook is not None:
            self.control.cancel_notebook()
