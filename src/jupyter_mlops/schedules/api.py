"""Public schedule functions, used by every interface and re-exported as ``jupyter_mlops.*``.

Examples
--------
>>> import jupyter_mlops as mlops
>>> mlops.schedule("nightly", "train.ipynb", cron="0 3 * * *")  # doctest: +SKIP
>>> mlops.schedules.list()                                            # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Any

from ..config import Settings, load_settings
from . import clock
from .cron import iso, next_tick, zone
from .executions import Execution, ExecutionHandle, execute
from .notify import notifier
from .spec import Schedule, new_schedule
from .store import ScheduleStore

__all__ = [
    "add_schedule",
    "get_schedule",
    "list_schedules",
    "pause_schedule",
    "remove_schedule",
    "resume_schedule",
    "run_now",
    "run_schedule",
    "schedule_history",
]

#: executions started by :func:`run_now` in this process, by run id
_BACKGROUND: dict[str, ExecutionHandle] = {}


def _store(settings: Settings | None) -> ScheduleStore:
    return ScheduleStore(settings or load_settings())


def add_schedule(
    name: str,
    target: str | os.PathLike[str],
    cron: str | None = None,
    *,
    settings: Settings | None = None,
    **options: Any,
) -> Schedule:
    """Check and store a schedule; no tick or event before now will run.

    ``options``: ``timezone`` (IANA name, default UTC), ``params`` (mapping),
    ``experiment``, ``on_failure`` and ``on_success`` (URLs), ``overlap``
    (``skip`` or ``queue``), ``grace_s`` (seconds, default 3600) and the
    triggers ``on_snapshot`` (snapshot names), ``on_promotion`` (``MODEL@ALIAS``)
    and ``on_alert`` (model names), as
    :func:`~jupyter_mlops.schedules.spec.new_schedule` takes them. ``cron`` may be
    omitted when a trigger is given.

    Raises :class:`~jupyter_mlops.errors.InvalidInput` naming the bad cron field,
    an unknown parameter, a missing target, a bad URL or trigger, and
    :class:`~jupyter_mlops.errors.Conflict` when the name is taken.
    """
    store = _store(settings)
    created = iso(clock.now().astimezone(zone(options.get("timezone"))))
    schedule = new_schedule(
        store.settings, name, os.fspath(target), cron, created=created, **options
    )
    return store.add(schedule)


def get_schedule(name: str, *, settings: Settings | None = None) -> Schedule:
    """The schedule called ``name`` (:class:`~jupyter_mlops.errors.NotFound` if none)."""
    return _store(settings).get(name)


def next_run(schedule: Schedule) -> str | None:
    """When ``schedule`` runs next (ISO 8601 in its timezone); ``None`` when paused."""
    if schedule.paused or not schedule.cron:
        return None
    tick = next_tick(schedule.cron, zone(schedule.timezone), clock.now())
    return iso(tick) if tick else None


def describe_schedule(store: ScheduleStore, schedule: Schedule) -> dict[str, Any]:
    """A schedule as listed: definition, cron in words, next run, last run id and status."""
    return {**store.summary(schedule), "next_run": next_run(schedule)}


def list_schedules(*, settings: Settings | None = None) -> list[dict[str, Any]]:
    """Every schedule as :func:`describe_schedule` shows it, by name."""
    store = _store(settings)
    return [describe_schedule(store, s) for s in store.all()]


def pause_schedule(name: str, *, settings: Settings | None = None) -> Schedule:
    """Stop claiming ticks of ``name`` until resumed (ticks meanwhile do not run)."""
    return _store(settings).set_paused(name, True)


def resume_schedule(name: str, *, settings: Settings | None = None) -> Schedule:
    """Resume ``name`` from now on: ticks and events while it was paused are not caught up."""
    store = _store(settings)
    schedule = store.set_paused(name, False)
    now = iso(clock.now().astimezone(zone(schedule.timezone)))
    store.advance(schedule, now)
    if schedule.triggers:  # events while paused are not caught up either
        store.advance_events(schedule, now)
    return schedule.with_state(last_tick=now, last_event=now if schedule.triggers else None)


def remove_schedule(name: str, *, settings: Settings | None = None) -> Schedule:
    """Delete ``name``; its past executions stay as ordinary runs."""
    return _store(settings).remove(name)


def run_schedule(name: str, *, settings: Settings | None = None) -> Execution:
    """Execute ``name`` once, now, in the foreground; notifications are sent before returning."""
    store = _store(settings)
    schedule = store.get(name)
    now = clock.now().astimezone(zone(schedule.timezone))
    run = execute(store.settings, schedule, Execution(name, schedule.target, iso(now), "manual"))
    notifier().flush(timeout=30.0)
    return run


def run_now(name: str, *, settings: Settings | None = None) -> str:
    """Start the named schedule's execution now, in the background; return its run id.

    The id is the MLflow run of the execution (for a pipeline schedule, the
    pipeline's parent run). The run is tagged ``mlops.schedule`` and
    ``mlops.schedule.tick`` (the time of the request) with
    ``mlops.schedule.trigger=manual``, and notifies like a scheduled execution.

    Raises
    ------
    NotFound
        No schedule has this name.
    MlopsError
        The execution could not start (e.g. its notebook was deleted).

    Examples
    --------
    >>> from jupyter_mlops.schedules import run_now
    >>> run_id = run_now("nightly-retrain")  # doctest: +SKIP
    """
    store = _store(settings)
    schedule = store.get(name)
    now = clock.now().astimezone(zone(schedule.timezone))
    handle = ExecutionHandle(store.settings, schedule, now, "manual")
    run_id = handle.run_id()
    if run_id is None:
        from ..errors import MlopsError

        raise MlopsError(f"schedule {name!r} could not start: {handle.wait().message}")
    _BACKGROUND[run_id] = handle
    return run_id


def schedule_history(
    name: str, *, max_results: int = 20, settings: Settings | None = None
) -> dict[str, Any]:
    """The schedule, its latest executions (runs) and its recorded ticks, newest first."""
    store = _store(settings)
    schedule = store.get(name)
    runs = [
        {
            "run_id": r.info.run_id,
            "experiment_id": r.info.experiment_id,
            "status": r.info.status,
            "start_time": r.info.start_time,
            "end_time": r.info.end_time,
            "tick": r.data.tags.get("mlops.schedule.tick"),
            "trigger": r.data.tags.get("mlops.schedule.trigger"),
        }
        for r in store.executions(name, max_results)
    ]
    ticks = [c.__dict__ for c in store.claims(name)[:max_results]]
    return {"schedule": describe_schedule(store, schedule), "runs": runs, "ticks": ticks}


def preview_cron(cron: str, timezone: str | None = None, count: int = 3) -> dict[str, Any]:
    """A cron expression checked, in words, with its next ``count`` ticks (for forms).

    Raises :class:`~jupyter_mlops.errors.InvalidInput` naming the bad field or timezone.
    """
    from .cron import check_cron, describe

    expr = check_cron(cron)
    tz = zone(timezone)
    ticks: list[str] = []
    moment = clock.now()
    for _ in range(count):
        tick = next_tick(expr, tz, moment)
        if tick is None:
            break
        ticks.append(iso(tick))
        moment = tick
    return {"cron": expr, "timezone": timezone or "UTC", "text": describe(expr), "next": ticks}
