"""Schedules kept in the tracking store, and atomic claims of their ticks.

Each schedule is a *ledger run* in the experiment ``mlops-schedules`` of the
project's MLflow store (the embedded SQLite file, or the team's tracking
server): its tags hold the definition and state (paused, the latest tick dealt
with), its **params** hold the claims. MLflow params are write-once: logging a
param again with another value fails in the store itself (a primary key on
run and key), so the scheduler that logs ``tick.<UTC time>`` first owns that
tick and every other scheduler, on this machine or another one using the same
tracking store, sees its claim refused. A retry with the *same* value succeeds,
so a claim whose reply was lost can be repeated safely.

The claims are bounded: each UTC ISO week's claims live in a *segment run* of the
ledger experiment, named by a write-once param ``claims.<year>W<week>`` of the
schedule's ledger run (so every scheduler agrees on one segment per week, the same
way it agrees on a tick), and only the :data:`KEPT_SEGMENTS` newest segments are
kept: a schedule ticking every minute holds two weeks of claims, not every tick
since it was added. A tick older than the kept segments cannot be claimed any more.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..errors import Conflict, NotFound
from ..tracking.mlflow_bridge.store import mlflow_errors, open_client
from .spec import Schedule

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient
    from mlflow.entities import Run

__all__ = [
    "KEPT_SEGMENTS",
    "LEDGER_EXPERIMENT",
    "SCHEDULE_TAG",
    "TICK_TAG",
    "TRIGGER_TAG",
    "Claim",
    "ScheduleStore",
    "scheduler_id",
    "tick_key",
]

LEDGER_EXPERIMENT = "mlops-schedules"
#: tags of every execution
SCHEDULE_TAG = "mlops.schedule"
TICK_TAG = "mlops.schedule.tick"
TRIGGER_TAG = "mlops.schedule.trigger"
#: tags of a ledger run
_LEDGER_TAG = "mlops.schedule.ledger"
_DEFINITION_TAG = "mlops.schedule.definition"
_PAUSED_TAG = "mlops.schedule.paused"
_LAST_TICK_TAG = "mlops.schedule.last_tick"
_LAST_EVENT_TAG = "mlops.schedule.last_event"
_CLAIM_PREFIX = "tick."
#: claims of trigger events (``event.snapshot_customers_v7``), ruled as ticks are
_EVENT_PREFIX = "event."
#: ledger-run param naming the segment run holding one week's claims
_SEGMENT_PREFIX = "claims."
#: tag of a segment run: the schedule whose claims it holds
_SEGMENT_TAG = "mlops.schedule.claims"
#: segments kept: the newest week's and the one before it
KEPT_SEGMENTS = 2


def scheduler_id() -> str:
    """A name for this scheduler, unique across machines: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def segment_key(tick: datetime) -> str:
    """The ledger param naming the segment of ``tick``: ``claims.2026W01`` (UTC ISO week)."""
    year, week, _ = tick.astimezone(timezone.utc).isocalendar()
    return f"{_SEGMENT_PREFIX}{year}W{week:02d}"


def tick_key(tick: datetime) -> str:
    """The param key claiming ``tick``: ``tick.20261201T030000Z`` (UTC, to the second)."""
    return _CLAIM_PREFIX + tick.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


@dataclass(frozen=True)
class Claim:
    """What a scheduler decided for a tick, as recorded in the ledger."""

    tick: str
    outcome: str
    by: str
    note: str = ""
    #: the trigger event's identity (``snapshot:customers:v7``); empty for a cron tick
    event: str = ""

    def value(self) -> str:
        """The param value (at most MLflow's 6000 characters)."""
        body = {"tick": self.tick, "outcome": self.outcome, "by": self.by, "note": self.note}
        if self.event:
            body["event"] = self.event
        return json.dumps(body, sort_keys=True)[:6000]

    @classmethod
    def parse(cls, text: str) -> Claim | None:
        """Read a param value back; ``None`` if it is not a claim."""
        try:
            body = json.loads(text)
            return cls(
                str(body["tick"]),
                str(body["outcome"]),
                str(body["by"]),
                body["note"],
                str(body.get("event") or ""),
            )
        except (ValueError, KeyError, TypeError):
            return None


class ScheduleStore:
    """The schedules of one tracking store."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._experiment_id: str | None = None

    @property
    def client(self) -> MlflowClient:
        """The MLflow client of the store."""
        return open_client(self.settings)

    def experiment_id(self) -> str:
        """The ledger experiment, created on first use (a write)."""
        found = self._existing_experiment_id()
        if found is None:
            self._experiment_id = found = self._create_experiment()
        return found

    def _existing_experiment_id(self) -> str | None:
        """The ledger experiment if one exists (reads create nothing)."""
        if self._experiment_id is None:
            with mlflow_errors("open the schedules ledger"):
                found = self.client.get_experiment_by_name(LEDGER_EXPERIMENT)
            if found is not None:
                self._experiment_id = str(found.experiment_id)
        return self._experiment_id

    def _create_experiment(self) -> str:
        from mlflow.exceptions import MlflowException

        tags = {"mlops.internal": "schedules"}
        location = self.settings.artifact_root
        try:
            return str(
                self.client.create_experiment(LEDGER_EXPERIMENT, location and location, tags)
            )
        except MlflowException:  # created meanwhile by another process
            found = self.client.get_experiment_by_name(LEDGER_EXPERIMENT)
            if found is None:
                raise
            return str(found.experiment_id)

    # -- schedules ----------------------------------------------------------------------
    def _ledgers(self, name: str | None = None) -> list[Run]:
        query = f"tags.`{_LEDGER_TAG}` = '{name}'" if name else f"tags.`{_LEDGER_TAG}` != ''"
        experiment_id = self._existing_experiment_id()
        if experiment_id is None:
            return []  # no schedule was ever added: reading creates nothing
        with mlflow_errors("read the schedules"):
            runs = self.client.search_runs(
                [experiment_id], query, max_results=5000, order_by=["start_time ASC"]
            )
        return sorted(runs, key=lambda r: (r.info.start_time, r.info.run_id))

    @staticmethod
    def _schedule(run: Run) -> Schedule:
        tags = run.data.tags
        return Schedule.from_definition(
            tags[_DEFINITION_TAG],
            paused=tags.get(_PAUSED_TAG) == "true",
            id=run.info.run_id,
            last_tick=tags.get(_LAST_TICK_TAG) or None,
            last_event=tags.get(_LAST_EVENT_TAG) or None,
        )

    def all(self) -> list[Schedule]:
        """Every schedule, by name."""
        first: dict[str, Schedule] = {}
        for run in self._ledgers():
            schedule = self._schedule(run)
            first.setdefault(schedule.name, schedule)
        return sorted(first.values(), key=lambda s: s.name)

    def get(self, name: str) -> Schedule:
        """The schedule called ``name``; :class:`NotFound` lists the known names."""
        runs = self._ledgers(name)
        if not runs:
            known = ", ".join(s.name for s in self.all()) or "(none yet)"
            raise NotFound(f"no schedule named {name!r}; known: {known}")
        return self._schedule(runs[0])

    def add(self, schedule: Schedule) -> Schedule:
        """Store a new schedule; :class:`Conflict` when the name is taken."""
        if self._ledgers(schedule.name):
            raise Conflict(
                f"a schedule named {schedule.name!r} exists; remove it first or pick another name"
            )
        tags = {
            _LEDGER_TAG: schedule.name,
            _DEFINITION_TAG: schedule.definition(),
            _PAUSED_TAG: "false",
            _LAST_TICK_TAG: schedule.created,
        }
        with mlflow_errors("store the schedule"):
            run = self.client.create_run(self.experiment_id(), run_name=schedule.name, tags=tags)
            self.client.set_terminated(run.info.run_id, "FINISHED")
        winner = self._ledgers(schedule.name)[0]
        if winner.info.run_id != run.info.run_id:  # added at the same moment elsewhere
            self.client.delete_run(run.info.run_id)
            raise Conflict(f"a schedule named {schedule.name!r} was just added by someone else")
        return schedule.with_state(id=run.info.run_id, last_tick=schedule.created)

    def set_paused(self, name: str, paused: bool) -> Schedule:
        """Pause or resume ``name``."""
        schedule = self.get(name)
        with mlflow_errors("update the schedule"):
            self.client.set_tag(schedule.id, _PAUSED_TAG, "true" if paused else "false")
        return schedule.with_state(paused=paused)

    def remove(self, name: str) -> Schedule:
        """Delete ``name`` (its executions stay, as ordinary runs)."""
        schedule = self.get(name)
        with mlflow_errors("remove the schedule"):
            segments = self.client.search_runs(
                [self.experiment_id()], f"tags.`{_SEGMENT_TAG}` = '{name}'", max_results=5000
            )
            for run in [*self._ledgers(name), *segments]:
                self.client.delete_run(run.info.run_id)
        return schedule

    # -- ticks --------------------------------------------------------------------------
    def claim(
        self, schedule: Schedule, tick: datetime, claim: Claim, key: str | None = None
    ) -> bool:
        """Record ``claim`` for ``tick``; True only for the one scheduler whose claim stands.

        ``key`` names what is claimed when it is not the cron tick itself (a trigger
        event's :meth:`~.triggers.Event.ledger_key`, in the segment of its time).
        """
        from mlflow.exceptions import MlflowException

        segment = self._segment(schedule, tick)
        if segment is None:
            return False  # older than the kept claims: not claimable any more
        try:
            self.client.log_param(segment, key or tick_key(tick), claim.value())
        except MlflowException as exc:
            if exc.error_code == "INVALID_PARAMETER_VALUE":
                return False  # claimed by another scheduler: the store refused a new value
            raise
        return True

    def _ledger_params(self, schedule: Schedule) -> dict[str, str]:
        with mlflow_errors("read the schedule's claims"):
            return dict(self.client.get_run(schedule.id).data.params)

    def _segment(self, schedule: Schedule, tick: datetime) -> str | None:
        """The run holding the claims of ``tick``'s week, made by whoever needs it first."""
        from mlflow.exceptions import MlflowException

        key = segment_key(tick)
        params = self._ledger_params(schedule)
        if key in params:
            return params[key]
        kept = sorted(k for k in params if k.startswith(_SEGMENT_PREFIX))[-KEPT_SEGMENTS:]
        if len(kept) == KEPT_SEGMENTS and key < kept[0]:
            return None
        with mlflow_errors("store the schedule's claims"):
            run = self.client.create_run(
                self.experiment_id(),
                run_name=f"{schedule.name} claims {key[len(_SEGMENT_PREFIX) :]}",
                tags={_SEGMENT_TAG: schedule.name},
            )
            self.client.set_terminated(run.info.run_id, "FINISHED")
            try:  # write-once: the first scheduler's segment is everyone's
                self.client.log_param(schedule.id, key, run.info.run_id)
            except MlflowException as exc:
                self.client.delete_run(run.info.run_id)
                if exc.error_code != "INVALID_PARAMETER_VALUE":
                    raise
                return self._ledger_params(schedule)[key]
        self._prune({**params, key: run.info.run_id})
        return run.info.run_id

    def _prune(self, params: dict[str, str]) -> None:
        """Delete the segments beyond the newest :data:`KEPT_SEGMENTS`."""
        from mlflow.exceptions import MlflowException

        segments = sorted(k for k in params if k.startswith(_SEGMENT_PREFIX))
        for key in segments[:-KEPT_SEGMENTS]:
            with contextlib.suppress(MlflowException):  # deleted already (another scheduler)
                self.client.delete_run(params[key])

    def advance(self, schedule: Schedule, tick: str) -> None:
        """Remember ``tick`` as the latest dealt with (a hint; the claims decide)."""
        with mlflow_errors("update the schedule"):
            self.client.set_tag(schedule.id, _LAST_TICK_TAG, tick)

    def advance_events(self, schedule: Schedule, moment: str) -> None:
        """Remember ``moment`` as the time of the latest event dealt with (a hint)."""
        with mlflow_errors("update the schedule"):
            self.client.set_tag(schedule.id, _LAST_EVENT_TAG, moment)

    def claims(self, name: str) -> list[Claim]:
        """Every recorded claim of ``name``, newest first."""
        schedule = self.get(name)
        ledger = self._ledger_params(schedule)
        # claims written before segments existed live on the ledger run itself
        prefixes = (_CLAIM_PREFIX, _EVENT_PREFIX)
        params = {k: v for k, v in ledger.items() if k.startswith(_CLAIM_PREFIX)}
        segments = sorted(k for k in ledger if k.startswith(_SEGMENT_PREFIX))[-KEPT_SEGMENTS:]
        with mlflow_errors("read the schedule's claims"):
            for key in segments:
                params.update(self.client.get_run(ledger[key]).data.params)
        found = [(k, Claim.parse(v)) for k, v in params.items() if k.startswith(prefixes)]
        ordered = sorted(
            ((k, c) for k, c in found if c is not None),
            key=lambda kc: (datetime.fromisoformat(kc[1].tick), kc[0]),
        )
        return [c for _k, c in reversed(ordered)]

    # -- executions ---------------------------------------------------------------------
    def executions(self, name: str, max_results: int = 20, running: bool = False) -> list[Run]:
        """The runs executing ``name``, newest first (only RUNNING ones with ``running``)."""
        with mlflow_errors("search the schedule's runs"):
            experiments = [
                e.experiment_id
                for e in self.client.search_experiments()
                if str(e.experiment_id) != self.experiment_id()
            ]
            if not experiments:
                return []
            query = f"tags.`{SCHEDULE_TAG}` = '{name}'"
            if running:
                query += " and attributes.status = 'RUNNING'"
            return list(
                self.client.search_runs(
                    experiments, query, max_results=max_results, order_by=["start_time DESC"]
                )
            )

    def summary(self, schedule: Schedule) -> dict[str, Any]:
        """The schedule with its last execution's run id and status."""
        body = schedule.to_dict()
        last = self.executions(schedule.name, max_results=1)
        body["last_run_id"] = last[0].info.run_id if last else None
        body["last_status"] = last[0].info.status if last else None
        return body
