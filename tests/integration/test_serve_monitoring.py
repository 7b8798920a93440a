"""``jupyter mlops serve --monitor``: metrics, drift on live traffic, one alert per episode.

Real server processes on 127.0.0.1, a real SQLite store, a local HTTP receiver
standing in for the webhook endpoint.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from jupyter_mlops.cli import main
from jupyter_mlops.schedules import api as schedules
from jupyter_mlops.testing.processes import wait_until
from tests.schedule_helpers import schedule_runs, train_notebook, webhook
from tests.serving import metrics, register_wine, score, serving, wine

pytestmark = pytest.mark.integration

ALERT = "drift_share_drifted > 0.3"


def _alert_runs(client: MlflowClient) -> list[Any]:
    ids = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(ids, "tags.`mlops.monitor.model` = 'wine'")
    return [r for r in runs if r.data.tags.get("mlops.monitor.alert")]


def test_metrics_drift_and_one_alert_per_episode(
    store: Any, client: MlflowClient, tmp_path: Path
) -> None:
    register_wine()
    train_notebook(store.root / "train.ipynb")
    schedules.add_schedule("retrain", "train.ipynb", "0 3 * * *")
    X, _ = wine()
    args = ["wine@production", "--monitor", "--window", "60", "--interval", "0.3"]
    args += ["--alert", ALERT, "--run-schedule", "retrain"]
    with webhook() as (url, received):
        args += ["--webhook", url]
        with serving(store.root, args, tmp_path / "serve.log") as base:
            # training-like traffic: a random sample of the training rows (the data is sorted)
            like = X.sample(60, random_state=0)
            for start in range(0, 60, 20):
                status, body, version = score(base, like.iloc[start : start + 20])
                assert status == 200 and len(body["predictions"]) == 20 and version == "1"
            status, _, _ = score(base, X.iloc[:3].drop(columns=["alcohol"]))
            assert status == 400
            m = wait_until(
                lambda: (
                    (mm := metrics(base)).get("mlops_window_rows") == 60
                    and not math.isnan(mm["mlops_drift_share_drifted"])
                    and mm
                ),
                "the first drift of the window",
                120,
            )
            v1 = 'role="champion",'
            assert m["mlops_requests_total{" + v1 + 'status="200",version="1"}'] == 3
            assert m["mlops_requests_total{" + v1 + 'status="400",version="1"}'] == 1
            assert m["mlops_request_duration_seconds_count{" + v1 + 'version="1"}'] == 4
            assert m['mlops_request_duration_seconds_bucket{le="+Inf",' + v1 + 'version="1"}'] == 4
            assert m["mlops_rows_scored_total{" + v1 + 'version="1"}'] == 60
            assert m['mlops_model_version_info{alias="production",model="wine",version="1"}'] == 1
            assert sum(v for k, v in m.items() if k.startswith("mlops_prediction_share{")) == (
                pytest.approx(1.0)
            )
            assert m["mlops_drift_share_drifted"] < 0.3
            assert 'mlops_feature_drift{feature="alcohol",stat="psi"}' in m
            time.sleep(1.0)  # a few more checks of the same window
            assert received == []
            assert metrics(base)['mlops_alert_active{expression="' + ALERT + '"}'] == 0

            # shifted traffic: every feature moved by several standard deviations
            shifted = X.sample(frac=1, random_state=1) + 5 * X.std()
            for start in range(0, 60, 20):
                score(base, shifted.iloc[start : start + 20])
            wait_until(lambda: received, "the webhook POST", 120)
            for start in range(60, 120, 20):  # the episode goes on: no second alert
                score(base, shifted.iloc[start : start + 20])
            rows_key = 'mlops_rows_scored_total{role="champion",version="1"}'
            wait_until(lambda: metrics(base)[rows_key] == 180, "the rows", 120)
            time.sleep(1.5)
            m = metrics(base)
    assert m["mlops_drift_share_drifted"] > 0.3
    assert m['mlops_alerts_total{expression="' + ALERT + '"}'] == 1
    assert m['mlops_alert_active{expression="' + ALERT + '"}'] == 1
    assert len(received) == 1
    payload = received[0]
    assert payload["model"] == "wine" and payload["version"] == "1"
    assert payload["expression"] == ALERT and payload["value"] > 0.3
    # embedded store: the run's URI; tracking server: its page in the server's UI
    assert payload["time"] and payload["link"] in (
        f"runs:/{payload['run_id']}",
        f"{os.environ.get('MLFLOW_TRACKING_URI', '')}/#/experiments/"
        f"{client.get_run(payload['run_id']).info.experiment_id}/runs/{payload['run_id']}",
    )

    runs = _alert_runs(client)
    assert [r.info.run_id for r in runs] == [payload["run_id"]]
    run = runs[0]
    assert run.data.tags["mlops.monitor.model"] == "wine"
    assert run.data.tags["mlops.monitor.reference"] == "wine-train@v1"
    assert run.data.metrics["drift.share_drifted"] > 0.3
    assert run.data.metrics["rows_scored"] == 60
    files = {f.path for f in client.list_artifacts(run.info.run_id, "drift")}
    assert {"drift/report.html", "drift/report.json"} <= files
    from jupyter_mlops.models.monitoring_runs import monitoring_history

    tags = client.get_model_version("wine", "1").tags
    history = monitoring_history(tags)
    assert [(h["run_id"], h["alert"]) for h in history] == [(payload["run_id"], ALERT)]
    # the alert ran the retrain schedule now: its execution is a run tagged with the schedule
    assert [r.info.run_id for r in schedule_runs(client, "retrain")] == [payload["execution"]]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--alert", "drift_share_drifted >> 0.3", "--monitor"], "cannot parse alert"),
        (["--alert", "latency > 1"], "unknown metric 'latency'"),
        (["--alert", "drift_share_drifted > 0.3"], "add --monitor"),
        (["--alert", "error_rate > 0.1", "--webhook", "ftp://x"], "--webhook must be an http"),
        (["--webhook", "http://127.0.0.1:9/hook"], "act on alerts"),
        (["--window", "3"], "--window must be at least 10"),
        (["--alert", "error_rate > 0.1", "--run-schedule", "nope"], "no schedule named 'nope'"),
    ],
)
def test_bad_options_exit_2_before_serving(
    store: Any, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(["serve", "nothing@production", "--port", "5999", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.count("\n") == 0


def test_unknown_model_and_follow_without_alias_exit_2(
    store: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "nothing@production"]) == 2
    assert "nothing" in capsys.readouterr().err
    assert main(["serve", "nothing/1", "--follow-alias"]) == 2
    assert "--follow-alias needs NAME@ALIAS" in capsys.readouterr().err
