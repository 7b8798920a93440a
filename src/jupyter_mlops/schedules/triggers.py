"""Event triggers of a schedule: new snapshot versions, alias moves, alert episodes.

A trigger is stored as ``KIND:SUBJECT`` (``snapshot:customers``,
``promotion:churn@production``, ``alert:churn``). Each trigger reads events from
a durable record that every scheduler sharing the store sees alike:

- ``snapshot``: the versions of the snapshot (their manifests' creation time);
- ``promotion``: the promotion audit trail of the model (one entry per alias move
  made by ``jupyter mlops promote`` or the server's canary);
- ``alert``: the monitoring runs the server logs for each alert episode of the model.

An event has an identity (``snapshot:customers:v7``) handed to the target as
``MLOPS_TRIGGER``, a ledger key claimed like a cron tick, and the parameters
``trigger_snapshot`` / ``trigger_version`` / ``trigger_alert``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput

if TYPE_CHECKING:  # pragma: no cover
    from ..config import Settings

__all__ = [
    "KINDS",
    "TRIGGER_ENV",
    "TRIGGER_PARAMS",
    "Event",
    "Trigger",
    "baseline",
    "describe_triggers",
    "events",
    "parse_trigger",
]

KINDS = ("snapshot", "promotion", "alert")
#: environment variable holding the event's identity in the target's kernel
TRIGGER_ENV = "MLOPS_TRIGGER"
#: notebook parameters filled from the event when the notebook declares them
TRIGGER_PARAMS = ("trigger_snapshot", "trigger_version", "trigger_alert")
_KEY_SAFE = re.compile(r"[^A-Za-z0-9_./ -]")
_ALIAS = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,254}$")


@dataclass(frozen=True)
class Trigger:
    """One ``--on-*`` trigger of a schedule."""

    kind: str
    subject: str

    def text(self) -> str:
        """As stored: ``snapshot:customers``."""
        return f"{self.kind}:{self.subject}"

    def describe(self) -> str:
        """In words: ``when a new version of snapshot customers is written``."""
        if self.kind == "snapshot":
            return f"when a new version of snapshot {self.subject} is written"
        if self.kind == "promotion":
            model, _, alias = self.subject.partition("@")
            return f"when alias {alias} of model {model} moves"
        return f"when model {self.subject} raises an alert"


@dataclass(frozen=True)
class Event:
    """One event of a trigger, as the scheduler claims and hands it on."""

    identity: str
    time: datetime
    params: dict[str, str] = field(default_factory=dict)
    key: str = ""
    #: sorts events of one trigger written in the same second
    order: str = ""

    def ledger_key(self) -> str:
        """The ledger param claiming it: ``event.<identity>`` in MLflow's param alphabet."""
        return "event." + _KEY_SAFE.sub("_", self.key or self.identity)[:240]


def parse_trigger(kind: str, subject: str) -> Trigger:
    """Check the form of ``--on-<kind> SUBJECT``; raise saying the right form."""
    subject = str(subject).strip()
    if kind not in KINDS:
        raise InvalidInput(f"trigger {kind!r} is not known; give one of: {', '.join(KINDS)}")
    if kind == "promotion":
        model, at, alias = subject.partition("@")
        if not at or not model or not _ALIAS.match(alias):
            raise InvalidInput(
                f"--on-promotion {subject!r} is not NAME@ALIAS; give e.g. churn@production"
            )
    elif not subject or "@" in subject:
        example = "customers" if kind == "snapshot" else "churn"
        raise InvalidInput(f"--on-{kind} {subject!r} is not a name; give e.g. {example}")
    return Trigger(kind, subject)


def from_text(text: str) -> Trigger:
    """A stored trigger back (``snapshot:customers``)."""
    kind, _, subject = text.partition(":")
    return Trigger(kind, subject)


def describe_triggers(texts: Sequence[str]) -> list[str]:
    """Each stored trigger in words."""
    return [from_text(t).describe() for t in texts]


def check_exists(settings: Settings, trigger: Trigger) -> None:
    """Refuse a trigger whose snapshot or model does not exist (nothing is written)."""
    if trigger.kind == "snapshot":
        from ..data.store import SnapshotStore

        store = SnapshotStore(settings.data_uri)
        if not store.versions(trigger.subject):
            known = ", ".join(store.names()) or "(none yet)"
            raise InvalidInput(
                f"--on-snapshot {trigger.subject!r}: no snapshot of that name; known: {known}"
            )
        return
    from mlflow.exceptions import MlflowException

    from ..tracking.mlflow_bridge.store import open_client

    model = trigger.subject.partition("@")[0]
    try:
        open_client(settings).get_registered_model(model)
    except MlflowException:
        raise InvalidInput(
            f"--on-{trigger.kind} {trigger.subject!r}: no registered model {model!r}; "
            "register it first (jupyter mlops models list shows them)"
        ) from None


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


#: manifests never change once written: (store, name, version) -> creation time
_CREATED: dict[tuple[str, str, int], datetime] = {}


def _snapshot_events(settings: Settings, name: str, after: str, since: datetime) -> list[Event]:
    from ..data.store import SnapshotStore

    store = SnapshotStore(settings.data_uri)
    found = []
    for version in store.versions(name):
        if version <= int(after or 0):
            continue
        key = (settings.data_uri, name, version)
        if key not in _CREATED:
            _CREATED[key] = _utc(str(store.read_manifest(name, version)["created"]))
        if _CREATED[key] >= since:
            params = {"trigger_snapshot": f"{name}@v{version}", "trigger_version": str(version)}
            order = f"{version:012d}"
            found.append(Event(f"snapshot:{name}:v{version}", _CREATED[key], params, "", order))
    return found


def _promotions(settings: Settings, subject: str) -> list[dict[str, Any]]:
    from ..models.promote import audit_trail
    from ..tracking.mlflow_bridge.store import open_client

    model, _, alias = subject.partition("@")
    return [
        e
        for e in audit_trail(open_client(settings), model)
        if e.get("alias") == alias and e.get("result") == "promoted"
    ]


def _promotion_events(settings: Settings, subject: str, after: str, since: datetime) -> list[Event]:
    found = []
    for entry in _promotions(settings, subject):
        moment = _utc(str(entry["time"]))
        if str(entry["key"]) > after and moment >= since:
            version = str(entry["version"])
            identity = f"promotion:{subject}:v{version}"
            params = {"trigger_version": version}
            key = f"{identity}:{entry['key']}"
            found.append(Event(identity, moment, params, key, str(entry["key"])))
    return found


def _alert_runs(settings: Settings, model: str, after_ms: int) -> list[Any]:
    from ..tracking.mlflow_bridge.store import mlflow_errors, open_client

    client = open_client(settings)
    query = f"tags.`mlops.monitor.model` = '{model}' and tags.`mlops.monitor.alert` != ''"
    query += f" and attributes.start_time > {after_ms}"
    with mlflow_errors(f"read the alerts of model {model!r}"):
        ids = [e.experiment_id for e in client.search_experiments()]
        return list(client.search_runs(ids, query, max_results=1000, order_by=["start_time ASC"]))


def _alert_events(settings: Settings, model: str, after: str, since: datetime) -> list[Event]:
    after_ms = max(int(after or 0), int(since.timestamp() * 1000) - 1)
    found = []
    for run in _alert_runs(settings, model, after_ms):
        tags: dict[str, Any] = run.data.tags
        moment = datetime.fromtimestamp(run.info.start_time / 1000, timezone.utc)
        params = {
            "trigger_alert": str(tags["mlops.monitor.alert"]),
            "trigger_version": str(tags.get("mlops.monitor.version", "")),
        }
        order = f"{run.info.start_time:015d}"
        found.append(Event(f"alert:{model}:{run.info.run_id}", moment, params, "", order))
    return found


def baseline(settings: Settings, text: str) -> str:
    """The newest event of a trigger when it is added: only events after it run."""
    trigger = from_text(text)
    if trigger.kind == "snapshot":
        from ..data.store import SnapshotStore

        return str((SnapshotStore(settings.data_uri).versions(trigger.subject) or [0])[-1])
    if trigger.kind == "promotion":
        return max((str(e["key"]) for e in _promotions(settings, trigger.subject)), default="")
    runs = _alert_runs(settings, trigger.subject, 0)
    return str(max((r.info.start_time for r in runs), default=0))


_READERS = {
    "snapshot": _snapshot_events,
    "promotion": _promotion_events,
    "alert": _alert_events,
}


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def events(
    settings: Settings,
    texts: Sequence[str],
    baselines: Mapping[str, str],
    since: datetime | None = None,
) -> list[Event]:
    """The events of the stored triggers ``texts`` after their ``baselines``, oldest first.

    ``since`` (a hint: the time of the latest event dealt with) leaves out older events.
    """
    found: list[Event] = []
    for text in texts:
        trigger = from_text(text)
        reader = _READERS[trigger.kind]
        found.extend(reader(settings, trigger.subject, baselines.get(text, ""), since or _EPOCH))
    return sorted(found, key=lambda e: (e.time, e.order, e.identity))
