"""Validation through the CLI (exit codes, --json), the magic, and logged on a real MLflow run."""

from __future__ import annotations

import json

import pytest
from IPython.core.error import UsageError

import jupyter_mlops as mlops
from jupyter_mlops.cli import main as cli_main
from tests.integration.test_data_lineage import _frame

pytestmark = pytest.mark.integration


def test_cli_validate_exit_codes_json_and_files(store, tmp_path, capsys) -> None:
    mlops.snapshot(_frame(), name="train")
    mlops.snapshot(_frame().sample(300, random_state=3), name="batch")
    assert cli_main(["data", "validate", "batch", "--against", "train"]) == 0
    assert capsys.readouterr().out.startswith("validation passed: batch@v1")

    bad = _frame(50).assign(x=1e6)
    bad.to_csv(tmp_path / "new.csv", index=False)
    assert (
        cli_main(["data", "validate", str(tmp_path / "new.csv"), "--against", "train", "--json"])
        == 1
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["passed"] is False and doc["rows"] == 50
    # CSV text has no category dtype: city comes back as text, x out of range
    kinds = {(a["column"], a["kind"]) for a in doc["anomalies"]}
    assert ("x", "out_of_range") in kinds and ("city", "dtype_changed") in kinds

    _frame(40, seed=5).to_parquet(tmp_path / "ok.parquet")
    html = tmp_path / "report.html"
    argv = ["data", "validate", str(tmp_path / "ok.parquet"), "--against", "train@v1"]
    assert cli_main([*argv, "--html", str(html)]) == 0
    assert "validation passed" in html.read_text()
    capsys.readouterr()

    for argv, message in [
        (["data", "validate", "batch", "--against", "nope"], "no snapshot named 'nope'"),
        (["data", "validate", str(tmp_path / "gone.csv"), "--against", "train"], "no file"),
        (["data", "validate", "batch", "--against", "train", "--margin", "-2"], "margin"),
    ]:
        assert cli_main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err
    with pytest.raises(SystemExit) as info:
        cli_main(["data", "validate", "batch"])
    assert info.value.code == 2 and "--against" in capsys.readouterr().err


def test_cli_schema_saves_rules_used_by_validate(store, capsys) -> None:
    mlops.snapshot(_frame(), name="train")
    assert cli_main(["data", "schema", "train", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["source"] == "train@v1" and [c["name"] for c in doc["columns"]] == [
        "id",
        "x",
        "city",
    ]
    schema = mlops.infer_schema("train", save=False)
    assert schema.column("id").unique


def test_validate_logs_report_metric_and_both_snapshots_on_the_run(store, client) -> None:
    mlops.snapshot(_frame(), name="train")
    mlops.snapshot(_frame(100, seed=4).assign(x=50.0), name="batch")
    with mlops.start_run(name="check") as run:
        report = mlops.validate("batch", against="train@v1")
    assert not report.passed
    data = client.get_run(run.run_id)
    assert data.data.metrics["validation.anomalies"] == len(report.anomalies) == 1
    arts = {a.path for a in client.list_artifacts(run.run_id, "validation")}
    assert arts == {"validation/report.html", "validation/report.json"}
    local = client.download_artifacts(run.run_id, "validation/report.json")
    with open(local, encoding="utf-8") as fh:
        assert json.load(fh)["anomalies"][0]["kind"] == "out_of_range"
    contexts = {
        (d.dataset.name, next(t.value for t in d.tags if t.key == "mlflow.data.context"))
        for d in data.inputs.dataset_inputs
    }
    assert {("batch", "validation"), ("train", "reference")} <= contexts


def test_magic_validate_and_its_mistakes(ip, client) -> None:
    mlops.snapshot(_frame(), name="train")
    ip.user_ns["new_df"] = _frame(200, seed=8).drop(columns="city")
    report = ip.run_line_magic("mlops", "validate new_df --against train@v1")
    assert [(r.column, r.kind) for r in report.anomalies.itertuples()] == [
        ("city", "missing_column")
    ]
    ip.user_ns["rules"] = mlops.infer_schema("train", save=False)
    ip.user_ns["rules"].edit("x", max=0.0)
    edited = ip.run_line_magic("mlops", "validate new_df --against rules")
    assert ("x", "out_of_range") in [(r.column, r.kind) for r in edited.anomalies.itertuples()]
    for line, message in [
        ("validate new_df", "--against"),
        ("validate new_df --against nope", "no snapshot named 'nope'"),
        ("validate new_df --against train --margin -1", "margin"),
    ]:
        with pytest.raises(UsageError, match=message) as info:
            ip.run_line_magic("mlops", line)
        assert type(info.value) is UsageError and "\n" not in str(info.value)
