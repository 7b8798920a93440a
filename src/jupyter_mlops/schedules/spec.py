"""What a schedule is, and the checks made when one is added.

A schedule runs a target, a notebook (a headless run, exactly as ``jupyter mlops
run``) or a ``pipeline.yaml`` (a pipeline run), at each tick of a cron expression
in a timezone and/or at each event of its triggers (see :mod:`.triggers`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ..config import Settings
from ..errors import InvalidInput
from .cron import check_cron, describe, zone
from .triggers import baseline, check_exists, describe_triggers, parse_trigger

__all__ = ["DEFAULT_GRACE_S", "OVERLAP", "Schedule", "check_name", "new_schedule"]

OVERLAP = ("skip", "queue")
#: a tick missed by at most this many seconds still runs when a scheduler comes back
DEFAULT_GRACE_S = 3600.0
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_PIPELINE_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Schedule:
    """A schedule as stored.

    Attributes
    ----------
    name : str
        Unique within the store: letters, digits, ``_ . -``.
    target : str
        The notebook or pipeline file, relative to the project root when inside it.
    kind : str
        ``notebook`` or ``pipeline``.
    cron, timezone : str
        When it runs: a five-field cron expression, evaluated in this IANA timezone
        (``""`` when only triggers start it).
    params : dict
        Parameters injected into the notebook (notebook schedules only).
    experiment : str or None
        Experiment of the runs; default as for ``jupyter mlops run``.
    on_failure, on_success : tuple of str
        URLs receiving a JSON POST after an execution failed / finished.
    overlap : str
        ``skip`` or ``queue`` a tick whose previous execution still runs.
    grace_s : float
        How late a tick may still start when a scheduler was not running at its time.
    created : str
        When it was added (ISO 8601); no tick before it runs.
    paused : bool
        Paused schedules claim no tick; ``run`` still works.
    id : str
        The ledger run holding it in the tracking store.
    last_tick : str or None
        The latest tick a scheduler has dealt with.
    triggers : tuple of str
        Events that start it too: ``snapshot:NAME``, ``promotion:MODEL@ALIAS``, ``alert:MODEL``.
    baselines : dict
        Per trigger, its newest event when the schedule was added (only later ones run).
    last_event : str or None
        The time of the latest event a scheduler has dealt with.
    """

    name: str
    target: str
    kind: str
    cron: str
    timezone: str = "UTC"
    params: dict[str, Any] = field(default_factory=dict)
    experiment: str | None = None
    on_failure: tuple[str, ...] = ()
    on_success: tuple[str, ...] = ()
    overlap: str = "skip"
    grace_s: float = DEFAULT_GRACE_S
    created: str = ""
    paused: bool = False
    id: str = ""
    last_tick: str | None = None
    triggers: tuple[str, ...] = ()
    baselines: dict[str, str] = field(default_factory=dict)
    last_event: str | None = None

    def definition(self) -> str:
        """The JSON stored for it (everything but the state fields)."""
        body = asdict(self)
        for key in ("paused", "id", "last_tick", "last_event"):
            body.pop(key)
        return json.dumps(body, sort_keys=True, default=str)

    @classmethod
    def from_definition(cls, text: str, **state: Any) -> Schedule:
        """Rebuild a schedule from :meth:`definition` and its state fields."""
        body = json.loads(text)
        for key in ("on_failure", "on_success", "triggers"):
            body[key] = tuple(body.get(key) or ())
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in body.items() if k in known}, **state)

    def path(self, settings: Settings) -> Path:
        """The target file on this machine."""
        return (settings.root / self.target).resolve()

    def describe(self) -> str:
        """When it runs in words: the cron expression with its timezone, then each trigger."""
        parts = [f"{describe(self.cron)} ({self.timezone})"] if self.cron else []
        return "; and ".join([*parts, *describe_triggers(self.triggers)])

    def with_state(self, **state: Any) -> Schedule:
        """A copy with state fields replaced."""
        return replace(self, **state)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the cron expression in words."""
        body = asdict(self)
        body["cron_text"] = f"{describe(self.cron)} ({self.timezone})" if self.cron else ""
        body["trigger_text"] = describe_triggers(self.triggers)
        body["when"] = self.describe()
        return body


def check_name(name: str) -> str:
    """Return ``name`` when it is a valid schedule name, else raise saying the right form."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(
            f"schedule name {name!r} is not valid; use 1-64 letters, digits, _ . - "
            "starting with a letter or digit, e.g. nightly-train"
        )
    return name


def _check_urls(urls: Sequence[str], option: str) -> tuple[str, ...]:
    for url in urls:
        parsed = urlparse(str(url))
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise InvalidInput(
                f"{option} {url!r} is not an http(s) URL; give e.g. https://hooks.example.com/x"
            )
    return tuple(str(u) for u in urls)


def _target(settings: Settings, target: str | Path) -> tuple[str, str, Path]:
    path = (settings.root / Path(target).expanduser()).resolve()
    if path.suffix in _PIPELINE_SUFFIXES:
        kind = "pipeline"
    elif path.suffix == ".ipynb":
        kind = "notebook"
    else:
        raise InvalidInput(
            f"schedule target {str(target)!r} must be a notebook (.ipynb) or a pipeline "
            "file (.yaml), e.g. train.ipynb"
        )
    if not path.is_file():
        raise InvalidInput(f"schedule target {str(target)!r} does not exist; give an existing file")
    try:
        stored = str(path.relative_to(settings.root))
    except ValueError:
        stored = str(path)
    return stored, kind, path


def _check_target(settings: Settings, kind: str, path: Path, params: Mapping[str, Any]) -> None:
    """Refuse what ``run`` / ``pipeline run`` would refuse, before anything is stored."""
    if kind == "notebook":
        from ..headless.execution import prepare

        prepare(path, params, None, None, None)
        return
    if params:
        raise InvalidInput(
            f"a pipeline schedule takes no -p/-f parameters: set them in the steps of {path.name}"
        )
    from ..pipelines.api import show_pipeline

    show_pipeline(path, settings=settings)


def _triggers(
    settings: Settings,
    on_snapshot: Sequence[str],
    on_promotion: Sequence[str],
    on_alert: Sequence[str],
) -> tuple[str, ...]:
    given = [
        parse_trigger(kind, subject)
        for kind, subjects in (
            ("snapshot", on_snapshot),
            ("promotion", on_promotion),
            ("alert", on_alert),
        )
        for subject in subjects
    ]
    for trigger in given:
        check_exists(settings, trigger)
    return tuple(dict.fromkeys(t.text() for t in given))


def new_schedule(
    settings: Settings,
    name: str,
    target: str | Path,
    cron: str | None = None,
    *,
    timezone: str | None = None,
    params: Mapping[str, Any] | None = None,
    experiment: str | None = None,
    on_failure: Sequence[str] = (),
    on_success: Sequence[str] = (),
    overlap: str = "skip",
    grace_s: float = DEFAULT_GRACE_S,
    created: str = "",
    on_snapshot: Sequence[str] = (),
    on_promotion: Sequence[str] = (),
    on_alert: Sequence[str] = (),
) -> Schedule:
    """Check every argument of ``schedule add`` and return the schedule to store.

    ``cron`` may be omitted when at least one ``on_snapshot`` (snapshot names),
    ``on_promotion`` (``MODEL@ALIAS``) or ``on_alert`` (model names) trigger is given.
    """
    check_name(name)
    triggers = _triggers(settings, on_snapshot, on_promotion, on_alert)
    if not cron and not triggers:
        raise InvalidInput(
            "say when it runs: --cron EXPR and/or --on-snapshot NAME, "
            "--on-promotion MODEL@ALIAS, --on-alert MODEL"
        )
    expr = check_cron(cron) if cron else ""
    tz_name = timezone or "UTC"
    zone(tz_name)
    if overlap not in OVERLAP:
        raise InvalidInput(f"overlap {overlap!r} is not valid; give one of: {', '.join(OVERLAP)}")
    if not grace_s >= 0:
        raise InvalidInput(f"grace {grace_s!r} must be a number of seconds >= 0, e.g. 3600")
    stored, kind, path = _target(settings, target)
    values = dict(params or {})
    _check_target(settings, kind, path, values)
    return Schedule(
        name=name,
        target=stored,
        kind=kind,
        cron=expr,
        timezone=tz_name,
        params=values,
        experiment=experiment or None,
        on_failure=_check_urls(on_failure, "--on-failure"),
        on_success=_check_urls(on_success, "--on-success"),
        overlap=overlap,
        grace_s=float(grace_s),
        created=created,
        triggers=triggers,
        baselines={t: baseline(settings, t) for t in triggers},
    )
