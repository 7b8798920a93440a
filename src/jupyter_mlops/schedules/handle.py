"""``mlops.schedule(...)`` and ``mlops.schedules.list()``: schedules from a notebook.

Examples
--------
>>> import jupyter_mlops as mlops
>>> nightly = mlops.schedule("nightly", "train.ipynb", cron="0 3 * * *", params={"lr": 0.05})
... # doctest: +SKIP
>>> nightly.run_now()          # doctest: +SKIP
>>> mlops.schedules.list()          # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..config import Settings, load_settings
from . import api
from .executions import Execution
from .spec import Schedule

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["ScheduleHandle", "schedule", "schedules"]


class ScheduleHandle:
    """A stored schedule with what can be done to it; its fields read like attributes."""

    def __init__(self, stored: Schedule, settings: Settings) -> None:
        self._schedule = stored
        self._settings = settings

    def __getattr__(self, name: str) -> Any:
        return getattr(self._schedule, name)

    def pause(self) -> ScheduleHandle:
        """Claim no tick until :meth:`resume`."""
        self._schedule = api.pause_schedule(self.name, settings=self._settings)
        return self

    def resume(self) -> ScheduleHandle:
        """Run again from the next tick."""
        self._schedule = api.resume_schedule(self.name, settings=self._settings)
        return self

    def remove(self) -> None:
        """Delete the schedule (its runs stay)."""
        api.remove_schedule(self.name, settings=self._settings)

    def run(self) -> Execution:
        """Execute once now and wait for the outcome."""
        return api.run_schedule(self.name, settings=self._settings)

    def run_now(self) -> str:
        """Start an execution now in the background; return its run id."""
        return api.run_now(self.name, settings=self._settings)

    def history(self, max_results: int = 20) -> dict[str, Any]:
        """Latest executions (runs) and recorded ticks, newest first."""
        return api.schedule_history(self.name, max_results=max_results, settings=self._settings)

    def __repr__(self) -> str:
        state = "paused" if self._schedule.paused else f"next {api.next_run(self._schedule)}"
        return f"<Schedule {self.name}: {self.target} {self._schedule.describe()}; {state}>"


def schedule(
    name: str,
    target: str | os.PathLike[str] | None = None,
    *,
    cron: str | None = None,
    **options: Any,
) -> ScheduleHandle:
    """Add a schedule (with ``target`` and ``cron``) or get the one called ``name``.

    ``options``: ``timezone``, ``params``, ``experiment``, ``on_failure``,
    ``on_success``, ``overlap`` (``skip`` or ``queue``), ``grace_s`` and the
    triggers ``on_snapshot``, ``on_promotion`` (``MODEL@ALIAS``), ``on_alert``
    (lists of names; ``cron`` may then be omitted).
    Each execution is a headless run of the notebook (or a pipeline run of a
    ``pipeline.yaml``) tagged ``mlops.schedule=NAME`` and ``mlops.schedule.tick``.
    A scheduler runs the ticks: ``jupyter mlops scheduler``, or a Lab server with
    ``c.MlopsSchedulerApp.enabled = True``.

    Examples
    --------
    >>> s = mlops.schedule("nightly", "train.ipynb", cron="0 3 * * *", params={"lr": 0.05})
    ... # doctest: +SKIP
    >>> s.pause(); s.resume(); s.run_now()  # doctest: +SKIP
    """
    settings = load_settings()
    if target is None and cron is None and not options:
        return ScheduleHandle(api.get_schedule(name, settings=settings), settings)
    triggered = any(options.get(k) for k in ("on_snapshot", "on_promotion", "on_alert"))
    if target is None or (cron is None and not triggered):
        from ..errors import InvalidInput

        raise InvalidInput(
            "give a target and cron (or an on_* trigger) to add a schedule, e.g. "
            'mlops.schedule("nightly", "train.ipynb", cron="0 3 * * *"); only a name gets one'
        )
    added = api.add_schedule(name, target, cron, settings=settings, **options)
    return ScheduleHandle(added, settings)


def schedules() -> pd.DataFrame:
    """Every schedule: target, cron and its words, timezone, paused, next run, last run.

    Examples
    --------
    >>> mlops.schedules.list()[["target", "cron_text", "next_run", "last_status"]]  # doctest: +SKIP
    """
    import pandas as pd

    rows = api.list_schedules(settings=load_settings())
    columns = [
        "name",
        "target",
        "kind",
        "cron",
        "cron_text",
        "trigger_text",
        "timezone",
        "paused",
        "next_run",
        "last_run_id",
        "last_status",
        "params",
        "overlap",
    ]
    return pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=columns).set_index(
        "name"
    )
