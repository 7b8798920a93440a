"""``%mlops register | models | promote | history`` in a real IPython shell, with real snapshots."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pytest
from IPython.core.error import UsageError

import jupyter_mlops as mlops

pytestmark = pytest.mark.integration


@pytest.fixture
def trained(ip: Any) -> Any:
    """A notebook that snapshotted its training table and fitted a classifier on it."""
    ip.run_cell(
        "from sklearn.datasets import load_breast_cancer\n"
        "from sklearn.ensemble import RandomForestClassifier\n"
        "import jupyter_mlops as mlops\n"
        "frame = load_breast_cancer(as_frame=True).frame\n"
        "train, test = frame.iloc[:400], frame.iloc[400:]\n"
        "features = [c for c in frame.columns if c != 'target']\n"
        "mlops.start_run(name='train')\n"
        "ref = mlops.snapshot(train, 'train')\n"
        "clf = RandomForestClassifier(n_estimators=10, random_state=0)\n"
        "clf.fit(train[features], train['target'])\n"
        "mlops.log(accuracy=float(clf.score(test[features], test['target'])), f1=0.5)\n"
    ).raise_error()
    return ip


def test_register_from_a_cell_with_data_lineage_and_alias(trained: Any, client: Any) -> None:
    ip = trained
    line = "%mlops register clf --name churn --data train --alias candidate"
    result = ip.run_cell(line)
    result.raise_error()
    run_id = ip.user_ns["mlops"].active_run().run_id
    version = client.get_model_version_by_alias("churn", "candidate")
    tags = version.tags
    assert version.run_id == run_id
    assert tags["mlops.lineage.cell_sha256"] == hashlib.sha256(line.encode()).hexdigest()
    digest = ip.user_ns["ref"].digest
    assert [s["digest"] for s in json.loads(tags["mlops.lineage.snapshots"])] == [digest]
    training = json.loads(tags["mlops.lineage.training_snapshot"])
    assert (training["ref"], training["digest"]) == ("train@v1", digest)
    # the input example is feature rows of the snapshot, and the model predicts like the original
    model = mlops.load_model("churn@candidate", kind="pyfunc")
    inputs = [c.name for c in model.metadata.get_input_schema().inputs]
    assert inputs == ip.user_ns["features"]
    test, features = ip.user_ns["test"], ip.user_ns["features"]
    np.testing.assert_array_equal(
        model.predict(test[features]), ip.user_ns["clf"].predict(test[features])
    )


def test_promote_prints_report_and_refuses_with_the_failed_gate(
    trained: Any, client: Any, capsys: Any
) -> None:
    ip = trained
    ip.run_line_magic("mlops", "register clf --name churn")
    ip.run_line_magic("mlops", 'promote churn 1 --alias production --require "accuracy>=0.5"')
    out = capsys.readouterr().out
    assert "all gates pass" in out and "accuracy >= 0.5" in out
    assert "production -> churn version 1 (new alias)" in out
    with pytest.raises(UsageError) as info:
        ip.run_line_magic(
            "mlops", 'promote churn 1 --alias gold --require "accuracy>=0.5" --require "f1>=0.8"'
        )
    assert type(info.value) is UsageError
    assert "gate failed: f1 >= 0.8 (got 0.5 vs 0.8)" in str(info.value)
    assert "FAIL" in capsys.readouterr().out  # the report is shown before the error
    assert "gold" not in client.get_registered_model("churn").aliases
    trail = ip.run_line_magic("mlops", "history churn")
    assert list(zip(trail["alias"], trail["result"], strict=True)) == [
        ("production", "promoted"),
        ("gold", "refused"),
    ]
    listing = ip.run_line_magic("mlops", "models")
    assert listing.loc[0, "aliases"] == "production"
    assert listing.loc[0, "metrics.f1"] == 0.5


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("register nothing --name churn", "no variable 'nothing'"),
        ("register frame --name churn", "DataFrame: it has no predict() method"),
        ("register clf", "--name"),
        ("register clf --name churn --data nosuch", "no snapshot named 'nosuch'"),
        ("register clf --name churn --example missing", "no variable 'missing'"),
        ('promote churn 1 --alias prod --require "acc >> 3"', "cannot parse gate"),
        ("promote churn one --alias prod", "version must be a number"),
        ("promote nope 1 --alias prod", "no registered model named 'nope'"),
        ("history nope", "no registered model named 'nope'"),
    ],
)
def test_bad_input_is_one_usage_error_and_registers_nothing(
    trained: Any, client: Any, line: str, fragment: str
) -> None:
    with pytest.raises(UsageError) as info:
        trained.run_line_magic("mlops", line)
    assert type(info.value) is UsageError
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)
    assert not client.search_model_versions()


def test_monitor_scores_and_logs_drift_against_the_training_snapshot(
    trained: Any, client: Any
) -> None:
    ip = trained
    ip.run_line_magic("mlops", "register clf --name churn --data train --alias production")
    mlops.end_run()
    test, features = ip.user_ns["test"], ip.user_ns["features"]
    shifted = test[features].copy()
    shifted["mean radius"] = shifted["mean radius"] * 3  # an obvious shift in one column
    result = mlops.monitor("churn@production", shifted)

    np.testing.assert_array_equal(result.predictions, ip.user_ns["clf"].predict(shifted))
    assert result.reference == "train@v1"
    assert "mean radius" in result.drift.drifted_columns
    assert "mean texture" not in result.drift.drifted_columns
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlops.monitor.model"] == "churn"
    assert run.data.tags["mlops.monitor.version"] == "1"
    assert run.data.metrics["rows_scored"] == len(shifted)
    assert run.data.metrics["drift.share_drifted"] == pytest.approx(result.drift.share_drifted)
    assert run.data.metrics["drift.mean radius.drifted"] == 1.0
    shares = [v for k, v in run.data.metrics.items() if k.startswith("prediction.share.")]
    assert sum(shares) == pytest.approx(1.0)
    artifacts = {a.path for a in client.list_artifacts(result.run_id, "monitor")}
    assert "monitor/predictions.csv" in artifacts
    version = client.get_model_version("churn", "1")
    assert version.tags["mlops.monitor.last_run"] == result.run_id
    summary = dict(zip(result.summary["metric"], result.summary["value"], strict=True))
    assert summary["rows_scored"] == len(shifted)


def test_monitor_without_training_snapshot_says_how_to_fix(trained: Any) -> None:
    from jupyter_mlops.errors import InvalidInput

    mlops.register_model(trained.user_ns["clf"], "plain")
    mlops.end_run()
    frame = trained.user_ns["test"][trained.user_ns["features"]]
    # the run did snapshot "train", so that is found through its dataset inputs
    assert mlops.monitor("plain", frame).reference == "train@v1"
    mlops.start_run()
    mlops.register_model(trained.user_ns["clf"], "bare")
    mlops.end_run()
    with pytest.raises(InvalidInput, match="no training snapshot"):
        mlops.monitor("bare", frame)
