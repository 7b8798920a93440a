"""REST routes of schedules, and the scheduler running inside a Jupyter server when enabled."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from typing import Any

import pytest

from jupyter_mlops.config import Settings
from jupyter_mlops.schedules import clock
from tests.integration.test_server_features import call
from tests.schedule_helpers import schedule_runs, train_notebook

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = pytest.mark.integration


@pytest.fixture
def jp_server_config(store: Settings, request: pytest.FixtureRequest) -> dict[str, Any]:
    enabled = request.node.get_closest_marker("scheduler_enabled") is not None
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_mlops": True}},
        "MlopsSchedulerApp": {"enabled": enabled, "poll_seconds": 1.0},
    }


@pytest.fixture
def stop_scheduler(jp_serverapp: Any):  # type: ignore[no-untyped-def]
    yield
    scheduler = jp_serverapp.web_app.settings.get("jupyter_mlops_scheduler")
    if scheduler is not None:
        scheduler.stop(cancel=True, timeout=60)


def _post(body: dict[str, Any]) -> dict[str, Any]:
    # adding checks the notebook's kernel and parameters: slow on a loaded machine
    return {"method": "POST", "body": json.dumps(body), "request_timeout": 120}


async def test_schedules_are_added_listed_changed_and_removed_over_rest(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Any, client: Any
) -> None:
    train_notebook(jp_root_dir / "train.ipynb")
    code, body = await call(jp_fetch, "schedules", "_preview", params={"cron": "0 9 * * mon"})
    assert code == 200 and body["text"] == "At 09:00, only on Monday" and len(body["next"]) == 3
    code, body = await call(jp_fetch, "schedules", "_preview", params={"cron": "0 9 * 13 *"})
    assert code == 400 and "the month field '13' is not valid" in body["message"]

    good = {"name": "nightly", "target": "train.ipynb", "cron": "0 3 * * *", "params": {"x": 2}}
    for bad, status, message in (
        ({**good, "target": "../../etc/passwd.ipynb"}, 400, "outside the server's root"),
        ({**good, "params": {"lr": 1}}, 400, "unknown parameter(s) lr"),
        ({**good, "cron": "0 3 * *"}, 400, "has 4 field(s)"),
        ({**good, "name": "<b>x</b>"}, 400, "schedule name '<b>x</b>' is not valid"),
        ({**good, "target": "missing.ipynb"}, 404, "no file 'missing.ipynb'"),
    ):
        code, body = await call(jp_fetch, "schedules", **_post(bad))
        assert (code, message in body["message"]) == (status, True), body
    code, body = await call(jp_fetch, "schedules", **_post(good))
    assert code == 201 and body["cron_text"] == "At 03:00 (UTC)" and body["next_run"]
    code, body = await call(jp_fetch, "schedules", **_post(good))
    assert code == 409
    code, body = await call(jp_fetch, "experiments")  # the ledger is bookkeeping, not results
    assert "mlops-schedules" not in [e["name"] for e in body["experiments"]]

    code, body = await call(jp_fetch, "schedules")
    assert code == 200 and body["scheduler"] is None  # not enabled on this server
    assert [(s["name"], s["paused"]) for s in body["schedules"]] == [("nightly", False)]
    code, body = await call(jp_fetch, "schedules", "nightly", "pause", **_post({}))
    assert code == 200 and body["paused"] is True
    code, body = await call(jp_fetch, "schedules", "ghost", "run", **_post({}))
    assert code == 404 and "no schedule named 'ghost'" in body["message"]

    token = jp_serverapp.identity_provider.token
    login = await jp_fetch("api", "status", params={"token": token}, headers={"Authorization": ""})
    cookie = {
        "Cookie": "; ".join(c.split(";")[0] for c in login.headers.get_list("Set-Cookie")),
        "Authorization": "",
    }
    assert (await call(jp_fetch, "schedules", headers=cookie))[0] == 200
    for parts, method in ((("nightly", "resume"), "POST"), (("nightly",), "DELETE")):
        kw = {"body": "{}"} if method == "POST" else {}
        code, _ = await call(jp_fetch, "schedules", *parts, method=method, headers=cookie, **kw)
        assert code == 403  # cookie authentication without the XSRF token
    code, _ = await call(jp_fetch, "schedules", "nightly", method="DELETE")
    assert code == 200
    assert (await call(jp_fetch, "schedules"))[1]["schedules"] == []


async def _finished(client: Any, count: int) -> None:
    for _ in range(400):
        runs = schedule_runs(client, "hourly")
        if len(runs) == count and all(r.info.status != "RUNNING" for r in runs):
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{count} finished runs expected, found {len(runs)}")


@pytest.mark.scheduler_enabled
async def test_the_server_runs_ticks_when_enabled_and_runs_now_on_request(
    jp_fetch: Any,
    jp_root_dir: Any,
    client: Any,
    monkeypatch: pytest.MonkeyPatch,
    stop_scheduler: None,
) -> None:
    # added while the clock stands at 02:59:50; then it runs 4x from 02:59:58: the 03:00 tick
    # comes after ~0.5 s
    start = datetime(2026, 1, 5, 2, 59, 50, tzinfo=timezone.utc)
    monkeypatch.setenv(clock.TEST_CLOCK_ENV, clock.test_clock_value(start, speed=0))
    train_notebook(jp_root_dir / "train.ipynb")
    body = {"name": "hourly", "target": "train.ipynb", "cron": "0 * * * *", "params": {"x": 7}}
    assert (await call(jp_fetch, "schedules", **_post(body)))[0] == 201
    start = start.replace(second=58)
    monkeypatch.setenv(clock.TEST_CLOCK_ENV, clock.test_clock_value(start, speed=4))
    await _finished(client, 1)  # the 03:00 tick, run by the server's scheduler
    code, body = await call(jp_fetch, "schedules", "hourly", "run", **_post({}))
    assert code == 202
    manual = body["run_id"]
    await _finished(client, 2)
    triggers = {r.data.tags["mlops.schedule.trigger"]: r for r in schedule_runs(client, "hourly")}
    assert set(triggers) == {"cron", "manual"} and triggers["manual"].info.run_id == manual
    assert triggers["cron"].data.tags["mlops.schedule.tick"] == "2026-01-05T03:00:00+00:00"
    assert all(r.info.status == "FINISHED" and r.data.metrics["y"] == 14 for r in triggers.values())
    code, body = await call(jp_fetch, "schedules")
    assert body["scheduler"]["id"] and body["schedules"][0]["last_status"] == "FINISHED"
    code, body = await call(jp_fetch, "schedules", "hourly")
    assert {r["run_id"] for r in body["runs"]} == {r.info.run_id for r in triggers.values()}
    assert [(t["tick"], t["outcome"]) for t in body["ticks"]] == [
        ("2026-01-05T03:00:00+00:00", "run")
    ]


async def test_a_schedule_on_events_is_added_and_said_in_words_over_rest(
    jp_fetch: Any, jp_root_dir: Any
) -> None:
    import pandas as pd

    import jupyter_mlops as mlops

    train_notebook(jp_root_dir / "train.ipynb")
    mlops.snapshot(pd.DataFrame({"a": [1, 2]}), name="customers")
    good = {"name": "rescore", "target": "train.ipynb", "on_snapshot": ["customers"]}
    for bad, message in (
        ({**good, "on_snapshot": "nope"}, "--on-snapshot 'nope': no snapshot of that name"),
        ({**good, "on_promotion": "churn"}, "'churn' is not NAME@ALIAS"),
        ({**good, "on_alert": [3]}, "on_alert must be a string or a list of strings"),
        ({"name": "rescore", "target": "train.ipynb"}, "say when it runs: --cron EXPR"),
    ):
        code, body = await call(jp_fetch, "schedules", **_post(bad))
        assert (code, message in body["message"]) == (400, True), body
    code, body = await call(jp_fetch, "schedules", **_post(good))
    words = "when a new version of snapshot customers is written"
    assert code == 201 and body["cron"] == "" and body["next_run"] is None, body
    assert body["triggers"] == ["snapshot:customers"] and body["trigger_text"] == [words]
    code, body = await call(jp_fetch, "schedules")
    assert [(s["name"], s["when"]) for s in body["schedules"]] == [("rescore", words)]
