"""Schedules started by events: new snapshot versions, alias moves, alert episodes.

Real scheduler processes and real kernels on a real MLflow store; the test-only
clock (``_MLOPS_TEST_CLOCK``) only where a scheduler must come back late.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from jupyter_mlops.cli import main
from jupyter_mlops.schedules import api, clock
from jupyter_mlops.schedules.scheduler import Scheduler
from jupyter_mlops.schedules.store import ScheduleStore
from jupyter_mlops.testing.notebooks import code, write_notebook
from tests.schedule_helpers import schedule_runs, scheduler_process, stop_schedulers

pytestmark = pytest.mark.integration


def _wait(predicate, deadline_s: float = 90.0):  # type: ignore[no-untyped-def]
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"still not true after {deadline_s} s")


def _trigger_notebook(path):  # type: ignore[no-untyped-def]
    """Declares the trigger parameters and records them, and MLOPS_TRIGGER, as tags."""
    return write_notebook(
        path,
        [
            code('trigger_snapshot = ""\ntrigger_version = ""', "parameters"),
            code(
                "import os\nimport jupyter_mlops as mlops\n"
                "mlops.set_tags(seen_trigger=os.environ['MLOPS_TRIGGER'],"
                " seen_snapshot=trigger_snapshot, seen_version=trigger_version)"
            ),
        ],
    )


def _snapshot(name: str, n: int) -> None:
    import jupyter_mlops as mlops

    mlops.snapshot(pd.DataFrame({"a": list(range(n))}), name=name)


def _by_trigger(client, name):  # type: ignore[no-untyped-def]
    return sorted(
        (r.data.tags["mlops.schedule.trigger"], r.info.status) for r in schedule_runs(client, name)
    )


def test_add_says_the_trigger_in_words_and_refuses_bad_triggers(
    store, capsys: pytest.CaptureFixture[str]
) -> None:
    _trigger_notebook(store.root / "score.ipynb")
    _snapshot("customers", 3)
    for args, message in (
        (["--on-snapshot", "nope"], "--on-snapshot 'nope': no snapshot of that name; known: cus"),
        (["--on-promotion", "churn"], "--on-promotion 'churn' is not NAME@ALIAS; give e.g."),
        (["--on-promotion", "churn@"], "is not NAME@ALIAS"),
        (["--on-promotion", "churn@production"], "no registered model 'churn'"),
        (["--on-alert", "churn"], "--on-alert 'churn': no registered model 'churn'"),
        ([], "say when it runs: --cron EXPR and/or --on-snapshot NAME"),
    ):
        assert main(["schedule", "add", "bad", "score.ipynb", *args]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert api.list_schedules() == []  # nothing written
    add = ["schedule", "add", "rescore", "score.ipynb", "--on-snapshot", "customers"]
    assert main(add) == 0
    out = capsys.readouterr().out
    assert "when a new version of snapshot customers is written" in out
    assert main(["schedule", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[1].split()[:2] == ["rescore", "score.ipynb"]
    assert "when a new version of snapshot customers is written" in listed[1]
    (row,) = api.list_schedules()
    assert row["cron"] == "" and row["next_run"] is None
    assert list(row["triggers"]) == ["snapshot:customers"]
    assert row["trigger_text"] == ["when a new version of snapshot customers is written"]
    import jupyter_mlops as mlops

    panel = mlops.panel(live=False)
    try:
        panel.tabs.selected_index = 4  # the Schedules tab
        shown = panel.schedules.table_html.value
        assert "when a new version of snapshot customers is written" in shown
        assert "at the next event" in shown
    finally:
        panel.close()
    both = ["schedule", "add", "both", "score.ipynb", "--cron", "0 3 * * *"]
    assert main([*both, "--on-snapshot", "customers"]) == 0
    assert (
        "At 03:00 (UTC); and when a new version of snapshot customers is written"
        in capsys.readouterr().out
    )


def _finished_lines(folder: Path) -> int:
    """Executions the two schedulers of the racing test logged as finished."""
    text = "".join((folder / f"scheduler{i}.log").read_text() for i in range(2))
    return sum(1 for line in text.splitlines() if ": run " in line and line.endswith("FINISHED"))


def test_each_new_snapshot_version_runs_once_with_two_schedulers_racing(
    store, client, tmp_path
) -> None:
    _trigger_notebook(store.root / "score.ipynb")
    _snapshot("customers", 3)  # v1, before the schedule: never runs
    api.add_schedule("rescore", "score.ipynb", on_snapshot=["customers"])
    logs = [(tmp_path / f"scheduler{i}.log").open("wb") for i in range(2)]
    procs = [scheduler_process(store, log) for log in logs]
    try:
        for done, version in enumerate((2, 3), start=1):
            _snapshot("customers", 3 + version)
            identity = f"snapshot:customers:v{version}"
            _wait(lambda i=identity: (i, "FINISHED") in _by_trigger(client, "rescore"))
            # the next event comes once the scheduler is through with this execution (its
            # kernel stopped, its line logged): one arriving before is skipped (overlap skip)
            _wait(lambda n=done: _finished_lines(tmp_path) == n)
    finally:
        codes = stop_schedulers(procs)
    text = "".join((tmp_path / f"scheduler{i}.log").read_text() for i in range(2))
    assert codes == [0, 0], text
    assert _by_trigger(client, "rescore") == [
        ("snapshot:customers:v2", "FINISHED"),
        ("snapshot:customers:v3", "FINISHED"),
    ], text
    for run in schedule_runs(client, "rescore"):
        tags, version = run.data.tags, run.data.tags["mlops.schedule.trigger"][-1]
        assert tags["seen_trigger"] == tags["mlops.schedule.trigger"]
        assert tags["seen_snapshot"] == f"customers@v{version}"
        assert tags["seen_version"] == version == run.data.params["trigger_version"]
        assert tags["mlops.schedule.trigger_snapshot"] == f"customers@v{version}"
    claims = ScheduleStore(store).claims("rescore")
    assert sorted((c.event, c.outcome) for c in claims) == [
        ("snapshot:customers:v2", "run"),
        ("snapshot:customers:v3", "run"),
    ]


def test_events_during_downtime_are_taken_in_order_or_recorded_missed_beyond_grace(
    store, client, monkeypatch: pytest.MonkeyPatch
) -> None:
    _trigger_notebook(store.root / "score.ipynb")
    _snapshot("customers", 3)
    three_hours, ten_minutes = 3 * 3600.0, 600.0
    on = {"on_snapshot": ["customers"]}
    api.add_schedule("queued", "score.ipynb", overlap="queue", grace_s=three_hours, **on)
    api.add_schedule("strict", "score.ipynb", grace_s=ten_minutes, **on)
    # no scheduler runs while two versions are written; one comes back two hours later
    _snapshot("customers", 4)
    _snapshot("customers", 5)
    later = datetime.now(timezone.utc) + timedelta(hours=2)
    monkeypatch.setenv(clock.TEST_CLOCK_ENV, clock.test_clock_value(later, speed=0))
    scheduler = Scheduler(store)
    scheduler.check()
    scheduler.check()  # a second look changes nothing
    _wait(lambda: sum(r.info.status == "FINISHED" for r in schedule_runs(client, "queued")) == 2)
    scheduler.stop(cancel=False)
    runs = sorted(schedule_runs(client, "queued"), key=lambda r: r.info.start_time)
    assert [r.data.tags["mlops.schedule.trigger"] for r in runs] == [
        "snapshot:customers:v2",
        "snapshot:customers:v3",
    ]
    store_ = ScheduleStore(store)
    queued = sorted((c.event, c.outcome) for c in store_.claims("queued"))
    assert queued == [("snapshot:customers:v2", "run"), ("snapshot:customers:v3", "queued")]
    assert schedule_runs(client, "strict") == []
    strict = store_.claims("strict")
    assert sorted((c.event, c.outcome) for c in strict) == [
        ("snapshot:customers:v2", "missed"),
        ("snapshot:customers:v3", "missed"),
    ]
    assert "grace period of 600 s" in strict[0].note


def _alert_notebook(path):  # type: ignore[no-untyped-def]
    return write_notebook(
        path,
        [
            code('trigger_alert = ""\ntrigger_version = ""', "parameters"),
            code(
                "import os\nimport jupyter_mlops as mlops\n"
                "mlops.set_tags(seen_trigger=os.environ['MLOPS_TRIGGER'],"
                " seen_alert=trigger_alert, seen_version=trigger_version)"
            ),
        ],
    )


def _model_version(client, name: str) -> str:  # type: ignore[no-untyped-def]
    import jupyter_mlops as mlops

    with mlops.start_run(name="train") as run:
        mlops.log(accuracy=0.9)
    if not client.search_registered_models(f"name = '{name}'"):
        client.create_registered_model(name)
    artifacts = client.get_run(run.run_id).info.artifact_uri
    return str(client.create_model_version(name, f"{artifacts}/model", run.run_id).version)


def _run_due(store) -> None:  # type: ignore[no-untyped-def]
    scheduler = Scheduler(store)
    scheduler.check()
    for handles in list(scheduler._running.values()):
        for handle in handles:
            handle.wait(120)


def test_each_alias_move_and_each_alert_episode_runs_once_with_its_parameters(
    store, client
) -> None:
    import jupyter_mlops as mlops
    from jupyter_mlops.models.monitoring_runs import log_monitoring

    _alert_notebook(store.root / "score.ipynb")
    one, two = _model_version(client, "churn"), _model_version(client, "churn")
    mlops.promote("churn", one, "production")  # before the schedule: never runs
    api.add_schedule("rescore", "score.ipynb", on_promotion=["churn@production"])
    api.add_schedule("retrain", "score.ipynb", on_alert=["churn"])
    assert api.get_schedule("rescore").describe() == "when alias production of model churn moves"
    for version in (two, one):  # the alias moves forward, then back: two events
        mlops.promote("churn", version, "production")
        _run_due(store)
        _run_due(store)  # a second scheduler's look changes nothing
    runs = sorted(schedule_runs(client, "rescore"), key=lambda r: r.info.start_time)
    assert [r.data.tags["mlops.schedule.trigger"] for r in runs] == [
        f"promotion:churn@production:v{two}",
        f"promotion:churn@production:v{one}",
    ]
    assert [r.data.params["trigger_version"] for r in runs] == [two, one]
    assert all(r.info.status == "FINISHED" and "trigger_alert" not in r.data.params for r in runs)
    assert schedule_runs(client, "retrain") == []

    version = client.get_model_version("churn", one)
    alert = {"expression": "error_rate > 0.05", "value": 0.2}
    monitoring_run, _ = log_monitoring(version, "churn@production", [0, 1], None, None, alert=alert)
    _run_due(store)
    _run_due(store)
    (run,) = schedule_runs(client, "retrain")
    tags = run.data.tags
    assert tags["mlops.schedule.trigger"] == tags["seen_trigger"] == f"alert:churn:{monitoring_run}"
    assert tags["seen_alert"] == "error_rate > 0.05" and tags["seen_version"] == one
    assert tags["mlops.schedule.trigger_alert"] == "error_rate > 0.05"
    assert len(schedule_runs(client, "rescore")) == 2


def test_a_pipeline_on_a_snapshot_gets_the_event_in_each_step_and_on_its_parent_run(
    store, client
) -> None:
    from jupyter_mlops.testing.notebooks import write_pipeline

    _trigger_notebook(store.root / "score.ipynb")
    write_pipeline(
        store.root / "pipeline.yaml", "name: retrain\nsteps:\n  score:\n    notebook: score.ipynb\n"
    )
    _snapshot("customers", 3)
    api.add_schedule("retrain", "pipeline.yaml", on_snapshot=["customers"])
    _snapshot("customers", 4)
    _run_due(store)
    (parent,) = schedule_runs(client, "retrain")
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["mlops.schedule.trigger"] == "snapshot:customers:v2"
    assert parent.data.tags["mlops.schedule.trigger_snapshot"] == "customers@v2"
    ids = [e.experiment_id for e in client.search_experiments()]
    (step,) = client.search_runs(ids, f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")
    assert step.data.tags["seen_trigger"] == "snapshot:customers:v2"


def test_a_trigger_that_cannot_be_read_any_more_does_not_stop_the_other_schedules(
    store, client, caplog: pytest.LogCaptureFixture
) -> None:
    _trigger_notebook(store.root / "score.ipynb")
    _model_version(client, "churn")
    _snapshot("customers", 3)
    api.add_schedule("a-rescore", "score.ipynb", on_promotion=["churn@production"])
    api.add_schedule("b-retrain", "score.ipynb", on_snapshot=["customers"])
    client.delete_registered_model("churn")
    _snapshot("customers", 4)
    _run_due(store)
    (run,) = schedule_runs(client, "b-retrain")
    assert run.data.tags["mlops.schedule.trigger"] == "snapshot:customers:v2"
    assert "schedule a-rescore: events not read" in caplog.text and "churn" in caplog.text
