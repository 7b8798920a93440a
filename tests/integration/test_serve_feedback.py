"""Request ids, the durable prediction log and label feedback on a real ``jupyter mlops serve``.

A real registered classifier, a real SQLite store, servers on 127.0.0.1, the
true wine labels sent back late, twice and for ids nobody served.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from jupyter_mlops.cli import main
from jupyter_mlops.models.prediction_log import open_log
from jupyter_mlops.testing.processes import wait_until
from tests.serving import metrics, post, register_wine, serving, split, wine

pytestmark = pytest.mark.integration

TOKEN = "s3cret-token"


def _accuracy_gauge(base: str) -> float | None:
    key = 'mlops_feedback_metric{metric="accuracy",model="wine",role="champion",version="1"}'
    return metrics(base).get(key)


def test_ids_log_and_feedback_give_live_accuracy_that_survives_a_restart(
    store: Any, client: MlflowClient, tmp_path: Path
) -> None:
    register_wine(n_estimators=1, max_depth=1)  # a weak model: some answers are wrong
    X, y = wine()
    rows = X.sample(40, random_state=3)
    truth = y.loc[rows.index].tolist()
    args = ["wine@production", "--interval", "0.3", "--token", TOKEN]
    with serving(store.root, args, tmp_path / "serve.log") as base:
        status, body, headers = post(base, "/invocations", split(rows.iloc[:20]), raw=None)
        assert status == 200 and set(body) == {"predictions"}  # MLflow's answer, unchanged
        header_ids = headers["X-Request-Id"].split(",")
        assert len(header_ids) == 20 and len(set(header_ids)) == 20
        own = [f"order-{i}" for i in range(20)]
        status, body2, headers2 = post(
            base, "/invocations", split(rows.iloc[20:], ids=own, return_ids=True)
        )
        assert status == 200 and body2["ids"] == own
        assert headers2["X-Request-Id"] == ",".join(own)
        status, body3, _ = post(base, "/invocations?ids=true", split(rows.iloc[:2]))
        assert status == 200 and len(body3["ids"]) == 2
        predicted = body["predictions"] + body2["predictions"]
        ids = header_ids + own

        # writes need the token; a bad body is a 400 that records nothing
        labels = [{"request_id": i, "label": t} for i, t in zip(ids, truth, strict=True)]
        assert post(base, "/feedback", {"labels": labels})[0] == 401
        status, answer, _ = post(base, "/feedback", None, TOKEN, raw=b"{not json")
        assert status == 400 and "not JSON" in answer["message"]
        bad = [*labels[:5], {"request_id": ids[5], "label": "seven"}]
        status, answer, _ = post(base, "/feedback", {"labels": bad}, TOKEN)
        assert status == 400 and "which are numbers" in answer["message"]
        status, answer, _ = post(base, "/feedback", {"labels": [{"label": 1}]}, TOKEN)
        assert status == 400 and "lacks 'request_id'" in answer["message"]
        assert open_log("wine").counter("labels_received") == 0

        # late and out of order, one label first sent wrong then corrected, one unknown id
        wrong = {"request_id": ids[0], "label": (truth[0] + 1) % 3}
        status, answer, _ = post(base, "/feedback", wrong, TOKEN)
        assert status == 200 and answer == {"received": 1, "stored": 1, "unknown": 0}
        batch = [*labels[::-1], {"request_id": "never-served", "label": 1}]
        status, answer, _ = post(base, "/feedback", {"labels": batch}, TOKEN)
        assert status == 200 and answer == {"received": 41, "stored": 41, "unknown": 1}

        expected = float(np.mean(np.asarray(predicted) == np.asarray(truth)))
        assert 0 < expected < 1
        got = wait_until(lambda: _accuracy_gauge(base), "live accuracy", 120)
        assert got == pytest.approx(expected)
        m = metrics(base)
        assert m['mlops_feedback_labels_total{model="wine",role="champion",version="1"}'] == 40
        assert m['mlops_feedback_unknown_labels_total{model="wine"}'] == 1
        assert m['mlops_requests_total{role="champion",status="200",version="1"}'] == 3
        assert m["process_resident_memory_bytes"] > 0

    # the log is in the store: a new server shows the same live accuracy with no new traffic
    with serving(store.root, args, tmp_path / "serve2.log") as base:
        again = wait_until(lambda: _accuracy_gauge(base), "live accuracy after restart", 120)
        assert again == pytest.approx(expected)
    frame = open_log("wine").predictions()
    assert frame["id"].tolist()[:40] == ids and frame["prediction"].tolist()[:40] == predicted

    # the live run of the session holds the figures as steps (step = labels seen)
    runs = client.search_runs(
        [e.experiment_id for e in client.search_experiments()],
        "tags.`mlops.monitor.live` = 'true'",
    )
    assert runs
    history = client.get_metric_history(runs[0].info.run_id, "feedback.accuracy")
    assert history[-1].value == pytest.approx(expected) and history[-1].step == 40
    assert "process.rss_bytes" in runs[0].data.metrics


def test_feedback_command_records_a_labels_file_offline(
    store: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    register_wine(n_estimators=1, max_depth=1)
    X, y = wine()
    log = open_log("wine")
    ids = [f"r{i}" for i in range(30)]
    served = X.iloc[::6].iloc[:30]
    from jupyter_mlops import load_model

    predictions = load_model("wine@production").predict(served)
    log.append("1", "champion", ids, served, predictions)
    truth = y.loc[served.index].tolist()
    path = tmp_path / "labels.csv"
    pd.DataFrame({"rid": [*ids, "ghost"], "y": [*truth, 0]}).to_csv(path, index=False)

    capsys.readouterr()  # what registering printed (a tracking server's waiting notice)
    assert main(["feedback", "wine", str(path)]) == 2  # default column names are absent
    err = capsys.readouterr().err.strip()
    assert "lack column(s) request_id, label (columns: rid, y)" in err and "\n" not in err
    assert log.counter("labels_received") == 0

    assert main(["feedback", "wine", str(path), "--id-column", "rid", "--label-column", "y"]) == 0
    assert "31 labels received, 31 ids labelled, 1 unknown ids" in capsys.readouterr().out
    (perf,) = log.performance()
    assert perf.labels == 30
    assert perf.metrics["accuracy"] == pytest.approx(float(np.mean(predictions == truth)))

    path.with_suffix(".parquet").write_bytes(b"")
    assert main(["feedback", "wine", str(path.with_suffix(".parquet"))]) == 2
    assert "cannot read labels" in capsys.readouterr().err
    assert main(["feedback", "nothing", str(path)]) == 2
    assert "no registered model named 'nothing'" in capsys.readouterr().err


def test_feedback_api_takes_a_frame(store: Any) -> None:
    import jupyter_mlops as mlops

    register_wine(n_estimators=1, max_depth=1)
    open_log("wine").append("1", "champion", ["a", "b"], None, [0, 1])
    result = mlops.feedback(
        "wine", pd.DataFrame({"request_id": ["b", "a", "b"], "label": [1, 0, 0]})
    )
    assert result.to_dict() == {"received": 3, "stored": 2, "unknown": 0}
    assert open_log("wine").labelled("1", "champion")["label"].tolist() == [0, 0]


def test_body_limit_and_token_from_the_environment(store: Any, tmp_path: Path) -> None:
    register_wine()
    X, _ = wine()
    args = ["wine@production", "--max-body", "4096"]
    env = {"MLOPS_SERVE_TOKEN": TOKEN}
    with serving(store.root, args, tmp_path / "serve.log", env=env) as base:
        status, body, _ = post(base, "/invocations", split(X.iloc[:100]))
        assert status == 413 and "larger than 4,096 bytes" in body["message"]
        status, body, headers = post(base, "/invocations", split(X.iloc[:2]))
        assert status == 200 and len(headers["X-Request-Id"].split(",")) == 2
        big = {"labels": [{"request_id": f"x{i}", "label": 1} for i in range(200)]}
        assert post(base, "/feedback", big, TOKEN)[0] == 413
        one = {"request_id": headers["X-Request-Id"].split(",")[0], "label": 1}
        assert post(base, "/feedback", one, "wrong-token")[0] == 401
        assert post(base, "/feedback", one, TOKEN)[1] == {"received": 1, "stored": 1, "unknown": 0}
        status, body, _ = post(base, "/invocations", split(X.iloc[:2], ids=["a"]))
        assert status == 400 and "'ids' has 1 entries for 2 rows" in body["message"]
    log = open_log("wine")
    assert log.counter("labels_received") == 1 and log.rows() == 2  # the refused changed nothing
