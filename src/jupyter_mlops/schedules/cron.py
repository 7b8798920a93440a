"""Cron expressions: validation naming the bad field, ticks in a timezone, words.

Parsing and iteration are croniter's; the description in words is cron-descriptor's.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import InvalidInput

__all__ = ["FIELDS", "check_cron", "describe", "iso", "next_tick", "ticks_between", "zone"]

#: the five fields of a cron expression, in order
FIELDS = ("minute", "hour", "day of month", "month", "day of week")
_FORM = 'five fields "minute hour day-of-month month day-of-week", e.g. "0 3 * * mon-fri"'
#: the nicknames croniter accepts, with the expression each stands for
_NICKNAMES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def zone(name: str | None) -> tzinfo:
    """Return the timezone called ``name`` (IANA, e.g. ``Europe/Paris``); UTC when empty."""
    if not name or name.upper() == "UTC":
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"unknown timezone {name!r}; give an IANA name such as UTC, Europe/Paris "
            "or America/New_York"
        ) from None


def _valid(expr: str) -> bool:
    from croniter import croniter

    return bool(croniter.is_valid(expr))


def check_cron(expr: str) -> str:
    """Return ``expr`` normalised (single spaces) or raise naming the field that is wrong."""
    text = " ".join(str(expr).split())
    if text.lower() in _NICKNAMES:
        return text.lower()
    parts = text.split(" ")
    if len(parts) != len(FIELDS):
        raise InvalidInput(f"cron expression {expr!r} has {len(parts)} field(s); give {_FORM}")
    for index, name in enumerate(FIELDS):
        alone = ["*"] * len(FIELDS)
        alone[index] = parts[index]
        if not _valid(" ".join(alone)):
            raise InvalidInput(
                f"cron expression {expr!r}: the {name} field {parts[index]!r} is not valid; "
                f"give {_FORM}"
            )
    if not _valid(text) or next_tick(text, timezone.utc, datetime.now(timezone.utc)) is None:
        raise InvalidInput(f"cron expression {expr!r} never fires; give {_FORM}")
    return text


def next_tick(expr: str, tz: tzinfo, after: datetime) -> datetime | None:
    """The first tick strictly after ``after``, in ``tz``; ``None`` if there is none."""
    from croniter import CroniterBadDateError, croniter

    try:
        found: datetime = croniter(expr, after.astimezone(tz)).get_next(datetime)
    except CroniterBadDateError:
        return None
    return found


def ticks_between(expr: str, tz: tzinfo, after: datetime, until: datetime) -> Iterator[datetime]:
    """Ticks ``t`` with ``after < t <= until``, oldest first."""
    from croniter import croniter

    it = croniter(expr, after.astimezone(tz))
    while True:
        tick: datetime = it.get_next(datetime)
        if tick > until:
            return
        yield tick


def iso(moment: datetime) -> str:
    """ISO 8601 with its UTC offset, to the second: ``2026-12-01T03:00:00+01:00``."""
    return moment.replace(microsecond=0).isoformat()


def describe(expr: str) -> str:
    """The expression in words, e.g. ``At 03:00 AM, Monday through Friday``."""
    try:
        from cron_descriptor import Options, get_description
    except ImportError:  # pragma: no cover - a declared dependency
        return expr
    options = Options()
    options.use_24hour_time_format = True
    try:
        return str(get_description(_NICKNAMES.get(expr, expr), options))
    except Exception:
        return expr
