"""Schedules through the CLI and the scheduler, with real kernels and a real MLflow store.

Clock-bound tests use the test-only clock (``_MLOPS_TEST_CLOCK``): fixed starting
points, sometimes running faster than real time, never a user option.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from jupyter_mlops.cli import main
from jupyter_mlops.errors import NotFound
from jupyter_mlops.schedules import api, clock, run_now
from jupyter_mlops.schedules.scheduler import Scheduler
from jupyter_mlops.schedules.store import ScheduleStore
from jupyter_mlops.testing.processes import wait_until
from tests.schedule_helpers import (
    schedule_runs,
    scheduler_process,
    stop_schedulers,
    train_notebook,
    webhook,
)

pytestmark = pytest.mark.integration

_T0 = datetime(2026, 1, 5, 2, 59, 50, tzinfo=timezone.utc)


def test_cli_adds_lists_pauses_resumes_removes_and_refuses_bad_input(
    store, capsys: pytest.CaptureFixture[str]
) -> None:
    train_notebook(store.root / "train.ipynb")
    add = ["schedule", "add", "nightly", "train.ipynb", "--timezone", "Europe/Paris"]
    assert main([*add, "--cron", "0 3 * * mon-fri", "-p", "x", "4"]) == 0
    assert "At 03:00, Monday through Friday (Europe/Paris)" in capsys.readouterr().out
    assert main([*add[:2], "bad", *add[3:], "--cron", "0 25 * * *"]) == 2
    assert "the hour field '25' is not valid" in capsys.readouterr().err
    assert main([*add[:2], "bad", *add[3:], "--cron", "0 3 * * *", "-p", "lr", "1"]) == 2
    assert "unknown parameter(s) lr for train.ipynb; known: x" in capsys.readouterr().err
    assert main([*add, "--cron", "0 3 * * *"]) == 2
    assert "a schedule named 'nightly' exists" in capsys.readouterr().err
    assert main(["schedule", "pause", "nightly"]) == 0
    assert capsys.readouterr().out == "schedule nightly paused\n"
    assert main(["schedule", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[1].split()[:3] == ["nightly", "train.ipynb", "0"]
    assert " yes " in listed[1] and "bad" not in "".join(listed)
    (row,) = api.list_schedules()
    assert row["paused"] and row["next_run"] is None and row["params"] == {"x": 4}
    assert main(["schedule", "resume", "nightly"]) == 0
    assert api.list_schedules()[0]["next_run"].endswith(("+01:00", "+02:00"))
    assert main(["schedule", "remove", "nightly"]) == 0
    assert main(["schedule", "run", "nightly"]) == 2
    assert "no schedule named 'nightly'" in capsys.readouterr().err
    assert api.list_schedules() == []


def test_a_failing_run_is_failed_and_posted_to_the_webhook_after_a_retry(
    store, client, capsys: pytest.CaptureFixture[str]
) -> None:
    train_notebook(store.root / "late.ipynb", fail=True)
    with webhook(fail_first=1) as (url, received):
        assert (
            main(
                [
                    "schedule",
                    "add",
                    "late",
                    "late.ipynb",
                    "--cron",
                    "@daily",
                    "--on-failure",
                    url,
                    "--on-success",
                    url + "/ok",
                ]
            )
            == 0
        )
        assert main(["schedule", "run", "late"]) == 1
        assert "ValueError: the data is late" in capsys.readouterr().err
        (run,) = schedule_runs(client, "late")
        assert run.info.status == "FAILED"
        assert run.data.tags["mlops.schedule.trigger"] == "manual"
        (body,) = received  # the first attempt got a 500: delivered by the retry
    assert body["run_id"] == run.info.run_id and body["status"] == "FAILED"
    assert body["schedule"] == "late" and body["target"] == "late.ipynb"
    assert "the data is late" in body["error"] and "Schedule late" in body["text"]
    assert body["tick"] == run.data.tags["mlops.schedule.tick"]


def test_run_now_starts_in_the_background_and_returns_the_run(store, client) -> None:
    train_notebook(store.root / "train.ipynb")
    api.add_schedule("retrain", "train.ipynb", "0 3 * * *", params={"x": 21})
    with pytest.raises(NotFound, match="no schedule named 'nope'; known: retrain"):
        run_now("nope")
    run_id = run_now("retrain", settings=store)
    run = client.get_run(run_id)
    assert run.data.tags["mlops.schedule"] == "retrain"
    tick = datetime.fromisoformat(run.data.tags["mlops.schedule.tick"])
    assert tick.utcoffset() is not None
    done = wait_until(
        lambda: client.get_run(run_id).info.status != "RUNNING" and client.get_run(run_id),
        "the run to end",
    )
    assert done.info.status == "FINISHED" and done.data.metrics["y"] == 42


def test_a_missed_tick_runs_once_within_the_grace_period_and_is_recorded_beyond_it(
    store, client, monkeypatch: pytest.MonkeyPatch
) -> None:
    train_notebook(store.root / "train.ipynb")
    monkeypatch.setenv(clock.TEST_CLOCK_ENV, clock.test_clock_value(_T0.replace(hour=0), speed=0))
    api.add_schedule("hourly", "train.ipynb", "0 * * * *", grace_s=600)
    api.add_schedule("strict", "train.ipynb", "0 * * * *", grace_s=60)
    api.add_schedule("idle", "train.ipynb", "0 * * * *", grace_s=600)
    api.pause_schedule("idle")
    # no scheduler ran from 00:59:50 to 03:05; then one starts
    monkeypatch.setenv(
        clock.TEST_CLOCK_ENV,
        clock.test_clock_value(_T0.replace(hour=3, minute=5, second=0), speed=0),
    )
    scheduler = Scheduler(store)
    scheduler.check()
    scheduler.check()  # a second look changes nothing
    for handles in scheduler._running.values():
        for handle in handles:
            handle.wait(120)
    (ran,) = schedule_runs(client, "hourly")
    assert ran.data.tags["mlops.schedule.tick"] == "2026-01-05T03:00:00+00:00"
    assert ran.info.status == "FINISHED"
    assert schedule_runs(client, "strict") == [] and schedule_runs(client, "idle") == []
    store_ = ScheduleStore(store)
    hourly = [(c.tick[11:16], c.outcome) for c in store_.claims("hourly")]
    assert hourly == [("03:00", "run"), ("02:00", "missed"), ("01:00", "missed")]
    strict = [(c.tick[11:16], c.outcome) for c in store_.claims("strict")]
    assert strict == [("03:00", "missed"), ("02:00", "missed"), ("01:00", "missed")]
    assert "grace period of 60 s" in store_.claims("strict")[0].note
    assert store_.claims("idle") == []


def test_two_scheduler_processes_run_each_tick_once_with_its_parameters(
    store, client, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    train_notebook(store.root / "train.ipynb")
    monkeypatch.setenv(clock.TEST_CLOCK_ENV, clock.test_clock_value(_T0, speed=0))
    api.add_schedule("every", "train.ipynb", "* * * * *", params={"x": 5}, overlap="queue")
    # both processes share one clock running 12x: a tick every 5 real seconds
    monkeypatch.setenv(clock.TEST_CLOCK_ENV, clock.test_clock_value(_T0, speed=12))
    logs = [(tmp_path / f"scheduler{i}.log").open("wb") for i in range(2)]
    procs = [scheduler_process(store, log) for log in logs]
    try:
        wait_until(
            lambda: sum(r.info.status == "FINISHED" for r in schedule_runs(client, "every")) >= 2,
            "two finished executions",
            deadline_s=150,
        )
    finally:
        codes = stop_schedulers(procs)
    text = "".join((tmp_path / f"scheduler{i}.log").read_text() for i in range(2))
    assert codes == [0, 0], text
    runs = schedule_runs(client, "every")
    ticks = [r.data.tags["mlops.schedule.tick"] for r in runs]
    assert len(ticks) == len(set(ticks)) >= 2, text
    finished = [r for r in runs if r.info.status == "FINISHED"]
    assert all(r.data.params["x"] == "5" and r.data.metrics["y"] == 10 for r in finished)
    claims = ScheduleStore(store).claims("every")
    assert len({c.tick for c in claims}) == len(claims)
    assert {t for t in ticks} <= {c.tick for c in claims if c.outcome in ("run", "queued")}


def test_magic_and_python_api_manage_schedules(
    ip, store, capsys: pytest.CaptureFixture[str]
) -> None:
    from IPython.core.error import UsageError

    import jupyter_mlops as mlops

    train_notebook(store.root / "train.ipynb")
    ip.run_line_magic("mlops", 'schedule add nightly train.ipynb --cron "30 2 * * *" -p x 3')
    assert "At 02:30 (UTC)" in capsys.readouterr().out
    for line, message in (
        ('schedule add bad train.ipynb --cron "* * 32 * *"', "the day of month field '32'"),
        ('schedule add bad train.ipynb --cron "@daily" -p nope 1', "unknown parameter(s) nope"),
        ("schedule pause ghost", "no schedule named 'ghost'; known: nightly"),
        ("schedule launch nightly", "unknown action 'launch'"),
    ):
        with pytest.raises(
            UsageError, match=message.replace("(", r"\(").replace(")", r"\)")
        ) as info:
            ip.run_line_magic("mlops", line)
        assert type(info.value) is UsageError
    ip.run_line_magic("mlops", "schedule pause nightly")
    ip.run_line_magic("mlops", "schedule list")
    assert "nightly  train.ipynb  30 2 * * *" in capsys.readouterr().out
    handle = mlops.schedule("nightly")
    assert handle.paused and handle.params == {"x": 3}
    assert not handle.resume().paused
    table = mlops.schedules()
    assert (
        list(table.index) == ["nightly"] and table.loc["nightly", "cron_text"] == "At 02:30 (UTC)"
    )
    added = mlops.schedule("weekly", "train.ipynb", cron="0 6 * * mon", timezone="Asia/Tokyo")
    assert "At 06:00, only on Monday (Asia/Tokyo)" in repr(added)
    added.remove()
    ip.run_line_magic("mlops", "schedule remove nightly")
    assert mlops.schedules().empty


def test_the_widget_panel_lists_pauses_and_runs_schedules(store, client) -> None:
    import jupyter_mlops as mlops

    train_notebook(store.root / "<b>x.ipynb")
    api.add_schedule("weekly", "<b>x.ipynb", "0 6 * * mon", params={"x": 2})
    p = mlops.panel(live=False)
    try:
        tab = p.schedules
        assert not tab.loaded
        p.tabs.selected_index = 4
        assert tab.loaded and "At 06:00, only on Monday (UTC)" in tab.table_html.value
        assert "&lt;b&gt;x.ipynb" in tab.table_html.value and "<b>x" not in (tab.table_html.value)
        assert tab.schedule.value == "weekly"
        tab.act("Pause")
        assert api.get_schedule("weekly").paused and ">paused<" in tab.table_html.value
        tab.act("Run now")
        run_id = schedule_runs(client, "weekly")[0].info.run_id
        assert run_id in tab.message.value
        wait_until(lambda: client.get_run(run_id).info.status == "FINISHED", "the run to finish")
        tab.show("weekly")
        assert run_id in tab.history_html.value and "manual" in tab.history_html.value
    finally:
        p.close()


def test_a_pipeline_schedule_runs_as_a_tagged_pipeline_run(store, client) -> None:
    from jupyter_mlops.testing.notebooks import write_pipeline

    train_notebook(store.root / "train.ipynb")
    spec = "name: nightly\nsteps:\n  train:\n    notebook: train.ipynb\n    params: {x: 4}\n"
    write_pipeline(store.root / "pipeline.yaml", spec)
    with pytest.raises(Exception, match="a pipeline schedule takes no -p/-f parameters"):
        api.add_schedule("p", "pipeline.yaml", "@daily", params={"x": 1})
    api.add_schedule("p", "pipeline.yaml", "@daily")
    execution = api.run_schedule("p")
    assert execution.ok, execution.message
    parent = client.get_run(execution.run_id)
    assert parent.data.tags["mlops.schedule"] == "p" and parent.info.status == "FINISHED"
    assert parent.data.tags["mlops.schedule.trigger"] == "manual"
    ids = [e.experiment_id for e in client.search_experiments()]
    (step,) = client.search_runs(ids, f"tags.`mlflow.parentRunId` = '{execution.run_id}'")
    assert step.data.metrics["y"] == 8


def test_the_ledger_keeps_two_weeks_of_claims_and_each_tick_is_claimed_once(
    store, client, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from jupyter_mlops.schedules.store import KEPT_SEGMENTS, Claim

    train_notebook(store.root / "train.ipynb")
    monkeypatch.setenv(clock.TEST_CLOCK_ENV, clock.test_clock_value(_T0, speed=0))
    api.add_schedule("daily", "train.ipynb", "0 3 * * *")
    one, two = ScheduleStore(store), ScheduleStore(store)  # two schedulers on one store
    schedule = one.get("daily")
    ticks = [_T0 + timedelta(days=d) for d in range(28)]  # four ISO weeks
    for tick in ticks:
        won = [
            s.claim(schedule, tick, Claim(tick.isoformat(), "run", by))
            for s, by in ((one, "a"), (two, "b"))
        ]
        assert won == [True, False]  # the first claim stands, the second is refused
    kept = [c.tick for c in one.claims("daily")]
    weeks = {t.isocalendar()[:2] for t in ticks}
    newest = sorted(weeks)[-KEPT_SEGMENTS:]
    assert kept == [t.isoformat() for t in reversed(ticks) if t.isocalendar()[:2] in newest]
    ledger = client.get_run(schedule.id).data.params
    assert not any(k.startswith("tick.") for k in ledger)  # claims live in the segments
    assert len(ledger) == len(weeks)  # one pointer per week, not one param per tick
    old_tick = ticks[0]
    assert one.claim(schedule, old_tick, Claim(old_tick.isoformat(), "run", "c")) is False
    live = client.search_runs(
        [one.experiment_id()], "tags.`mlops.schedule.claims` = 'daily'", max_results=100
    )
    assert len(live) == KEPT_SEGMENTS
    api.remove_schedule("daily")
    assert client.search_runs([one.experiment_id()], "", max_results=100) == []
