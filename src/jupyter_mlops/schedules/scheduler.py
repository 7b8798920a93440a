"""The scheduler: claims each due tick in the store, then runs it in a thread.

Any number of schedulers may share a store (a daemon, a Lab server, another
machine using the same tracking server): a tick is executed by the one whose
claim the store accepted (see :mod:`.store`). After a pause in which no
scheduler ran, only the latest due tick runs, and only when it is at most the
schedule's grace period late; the ticks before it are recorded as missed.

Trigger events (:mod:`.triggers`) are claimed by the same rules, each under its
own ledger key: the events since the latest one dealt with are taken oldest
first; one at most the grace period old runs (or is queued or skipped by the
``overlap`` rule), an older one is recorded as missed.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from ..config import Settings
from ..errors import MlopsError
from . import clock
from .cron import iso, next_tick, zone
from .executions import ExecutionHandle
from .spec import Schedule
from .store import Claim, ScheduleStore, scheduler_id
from .triggers import Event, events

__all__ = ["POLL_S", "Scheduler"]

log = logging.getLogger("jupyter_mlops.schedules")

#: seconds between two looks at the store when no tick is due sooner (new or paused schedules)
POLL_S = 10.0
#: missed ticks recorded one by one before the rest are summarised in one claim
_MISSED_LISTED = 100
#: real seconds between two looks at whether a queued execution may start
_QUEUE_POLL_S = 1.0


def _previous_ticks(schedule: Schedule, now: datetime, since: datetime) -> list[datetime]:
    """Ticks ``t`` with ``since < t <= now``, newest first, at most ``_MISSED_LISTED + 1``."""
    from croniter import croniter

    it = croniter(schedule.cron, now.astimezone(zone(schedule.timezone)) + timedelta(seconds=1))
    found: list[datetime] = []
    while len(found) <= _MISSED_LISTED:
        tick: datetime = it.get_prev(datetime)
        if tick <= since:
            break
        found.append(tick)
    return found


class Scheduler:
    """Runs the schedules of one store until :meth:`stop`.

    Parameters
    ----------
    settings : Settings
        The project whose schedules to run.
    poll_s : float
        Seconds between looks at the store when no tick is due sooner.
    """

    def __init__(self, settings: Settings, *, poll_s: float = POLL_S) -> None:
        self.settings = settings
        self.store = ScheduleStore(settings)
        self.id = scheduler_id()
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._seen: dict[str, datetime] = {}
        self._seen_events: dict[str, set[str]] = {}
        self._running: dict[str, list[ExecutionHandle]] = {}
        self._queued: set[str] = set()
        self._threads: list[threading.Thread] = []

    # -- loop -----------------------------------------------------------------------------
    def run_forever(self) -> None:
        """Check the schedules at each due tick until :meth:`stop` is called."""
        log.info("scheduler %s started for %s", self.id, self.settings.tracking_uri)
        while not self._stop.is_set():
            schedules: list[Schedule] = []
            try:
                schedules = self.check()
            except MlopsError as exc:  # the store is unreachable for a while: keep trying
                log.warning("scheduler: %s", exc)
            self._stop.wait(self._sleep_s(schedules))
        log.info("scheduler %s stopped", self.id)

    def _sleep_s(self, schedules: list[Schedule]) -> float:
        now = clock.now()
        wait = self.poll_s
        for schedule in schedules:
            if schedule.paused or not schedule.cron:
                continue
            tick = next_tick(schedule.cron, zone(schedule.timezone), now)
            if tick is not None:
                wait = min(wait, (tick - now).total_seconds() + 0.05)
        return max(0.05, clock.real_seconds(wait))

    def stop(self, *, cancel: bool = True, timeout: float = 30.0) -> list[ExecutionHandle]:
        """Stop claiming ticks; cancel (or let finish) what runs; return those executions."""
        self._stop.set()
        handles = [h for hs in self._running.values() for h in hs if not h.done()]
        for handle in handles if cancel else []:
            handle.cancel()
        for handle in handles:
            handle.wait(timeout)
        return handles

    @property
    def stopped(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stop.is_set()

    # -- one look at the store ------------------------------------------------------------
    def check(self) -> list[Schedule]:
        """Deal with every due tick now; return the schedules seen."""
        schedules = self.store.all()
        for schedule in schedules:
            if not schedule.paused and not self._stop.is_set():
                if schedule.cron:
                    self._check(schedule, clock.now())
                if schedule.triggers:
                    try:
                        self._check_events(schedule, clock.now())
                    except MlopsError as exc:  # e.g. its model was deleted: the others go on
                        log.warning("schedule %s: events not read: %s", schedule.name, exc)
        return schedules

    def _check_events(self, schedule: Schedule, now: datetime) -> None:
        since = datetime.fromisoformat(schedule.last_event) if schedule.last_event else None
        seen = self._seen_events.setdefault(schedule.id, set())
        won = False
        latest: datetime | None = None
        for event in events(self.settings, schedule.triggers, schedule.baselines, since):
            if self._stop.is_set():
                break
            latest = event.time
            if event.ledger_key() in seen:
                continue
            if (now - event.time).total_seconds() > schedule.grace_s:
                note = f"noticed later than the grace period of {schedule.grace_s:g} s allows"
                won = self._claim(schedule, event.time, "missed", note, event) or won
            else:
                won = self._claim_and_run(schedule, event.time, event) or won
            seen.add(event.ledger_key())
        if won and latest is not None:
            self.store.advance_events(schedule, iso(latest))

    def _since(self, schedule: Schedule) -> datetime:
        stored = datetime.fromisoformat(schedule.last_tick or schedule.created)
        seen = self._seen.get(schedule.id)
        return max(stored, seen) if seen else stored

    def _check(self, schedule: Schedule, now: datetime) -> None:
        ticks = _previous_ticks(schedule, now, self._since(schedule))
        if not ticks:
            return
        latest, earlier = ticks[0], ticks[1:]
        won = self._record_missed(schedule, earlier)
        if (now - latest).total_seconds() > schedule.grace_s:
            note = f"started later than the grace period of {schedule.grace_s:g} s allows"
            won = self._claim(schedule, latest, "missed", note) or won
        else:
            won = self._claim_and_run(schedule, latest) or won
        self._seen[schedule.id] = latest
        if won:
            self.store.advance(schedule, iso(latest))

    def _record_missed(self, schedule: Schedule, earlier: list[datetime]) -> bool:
        won = False
        note = "no scheduler was running at its time"
        for index, tick in enumerate(earlier):
            if index == _MISSED_LISTED - 1 and len(earlier) >= _MISSED_LISTED:
                note += "; earlier ticks since the last one dealt with were missed too"
            won = self._claim(schedule, tick, "missed", note) or won
        return won

    def _claim(
        self,
        schedule: Schedule,
        tick: datetime,
        outcome: str,
        note: str = "",
        event: Event | None = None,
    ) -> bool:
        identity = event.identity if event else ""
        claim = Claim(iso(tick), outcome, self.id, note, identity)
        won = self.store.claim(schedule, tick, claim, event.ledger_key() if event else None)
        if won and outcome != "run":
            what = identity or f"tick {iso(tick)}"
            log.info("schedule %s %s: %s (%s)", schedule.name, what, outcome, note)
        return won

    def _busy(self, schedule: Schedule) -> bool:
        mine = [h for h in self._running.get(schedule.name, []) if not h.done()]
        self._running[schedule.name] = mine
        return bool(mine) or bool(self.store.executions(schedule.name, 1, running=True))

    def _claim_and_run(
        self, schedule: Schedule, tick: datetime, event: Event | None = None
    ) -> bool:
        if not self._busy(schedule):
            won = self._claim(schedule, tick, "run", event=event)
            if won:
                self._start(schedule, tick, event=event)
            return won
        if schedule.overlap == "queue" and schedule.name not in self._queued:
            note = "the previous execution was still running"
            won = self._claim(schedule, tick, "queued", note, event)
            if won:
                self._queue(schedule, tick, event)
            return won
        note = "the previous execution was still running"
        if schedule.overlap == "queue":
            note += " and one execution was already queued"
        return self._claim(schedule, tick, "skipped", note, event)

    def _start(
        self,
        schedule: Schedule,
        tick: datetime,
        trigger: str = "cron",
        event: Event | None = None,
    ) -> ExecutionHandle:
        handle = ExecutionHandle(self.settings, schedule, tick, trigger, event)
        self._running.setdefault(schedule.name, []).append(handle)
        return handle

    def _queue(self, schedule: Schedule, tick: datetime, event: Event | None = None) -> None:
        self._queued.add(schedule.name)
        thread = threading.Thread(
            target=self._run_when_free,
            args=(schedule, tick, event),
            name=f"mlops-queue-{schedule.name}",
            daemon=True,
        )
        self._threads.append(thread)
        thread.start()

    def _run_when_free(
        self, schedule: Schedule, tick: datetime, event: Event | None = None
    ) -> None:
        try:
            while not self._stop.wait(_QUEUE_POLL_S):
                if not self._busy(schedule):
                    self._start(schedule, tick, event=event)
                    return
        except MlopsError as exc:
            log.warning("schedule %s: queued tick %s dropped: %s", schedule.name, iso(tick), exc)
        finally:
            self._queued.discard(schedule.name)

    def status(self) -> dict[str, Any]:
        """What this scheduler is doing: its id and the executions it runs."""
        running = [
            {"schedule": name, **h.execution.to_dict()}
            for name, hs in self._running.items()
            for h in hs
            if not h.done()
        ]
        return {"id": self.id, "running": running, "queued": sorted(self._queued)}
