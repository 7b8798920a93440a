"""Cron checks, ticks in a timezone, words, claims and schedule definitions."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.schedules.cron import check_cron, describe, iso, ticks_between, zone
from jupyter_mlops.schedules.spec import Schedule, check_name
from jupyter_mlops.schedules.store import Claim, tick_key


@pytest.mark.parametrize(
    ("expr", "field"),
    [
        ("61 * * * *", "minute"),
        ("* 24 * * *", "hour"),
        ("* * 0 * *", "day of month"),
        ("* * * 13 *", "month"),
        ("* * * * funday", "day of week"),
        ("*/0 * * * *", "minute"),
    ],
)
def test_a_bad_field_is_named_with_the_right_form(expr: str, field: str) -> None:
    with pytest.raises(InvalidInput, match=f"the {field} field") as info:
        check_cron(expr)
    assert "0 3 * * mon-fri" in str(info.value)


def test_wrong_field_count_and_impossible_dates_are_refused() -> None:
    with pytest.raises(InvalidInput, match="has 3 field"):
        check_cron("1 2 3")
    with pytest.raises(InvalidInput, match="never fires"):
        check_cron("0 0 30 2 *")
    assert check_cron("  0   3 * *  mon-fri ") == "0 3 * * mon-fri"
    assert check_cron("@Daily") == "@daily"


def test_words_for_expressions_and_nicknames() -> None:
    assert describe("0 3 * * mon-fri") == "At 03:00, Monday through Friday"
    assert describe("@hourly") == describe("0 * * * *")
    assert "5 minutes" in describe("*/5 * * * *")


def test_ticks_follow_the_timezone_across_a_dst_change() -> None:
    paris = zone("Europe/Paris")
    start = datetime(2026, 3, 27, 12, tzinfo=timezone.utc)
    until = datetime(2026, 3, 31, 12, tzinfo=timezone.utc)
    ticks = [iso(t) for t in ticks_between("0 9 * * *", paris, start, until)]
    assert ticks == [
        "2026-03-28T09:00:00+01:00",
        "2026-03-29T09:00:00+02:00",
        "2026-03-30T09:00:00+02:00",
        "2026-03-31T09:00:00+02:00",
    ]
    with pytest.raises(InvalidInput, match="unknown timezone 'Mars/Olympus'"):
        zone("Mars/Olympus")


def test_claims_and_definitions_round_trip() -> None:
    tick = datetime(2026, 1, 1, 4, tzinfo=zone("Europe/Paris"))
    assert tick_key(tick) == "tick.20260101T030000Z"
    claim = Claim(iso(tick), "skipped", "host:1:ab", "the previous execution was still running")
    assert Claim.parse(claim.value()) == claim
    assert Claim.parse("not json") is None
    schedule = Schedule("n", "a.ipynb", "notebook", "* * * * *", params={"x": 1}, on_failure=("u",))
    again = Schedule.from_definition(schedule.definition(), paused=True, id="r")
    assert again == schedule.with_state(paused=True, id="r")
    with pytest.raises(InvalidInput, match=r"schedule name '\.\./x' is not valid"):
        check_name("../x")
