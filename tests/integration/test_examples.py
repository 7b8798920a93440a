"""Every example notebook, executed with papermill against a temporary store.

Each test copies ``example_notebooks/`` into an empty project, runs the example
the way a user does (papermill, or ``jupyter mlops pipeline run``) and then
reads MLflow and the snapshot store to check what the example claims to do.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlops.config import Settings

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "example_notebooks"


@pytest.fixture
def project(store: Settings, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The examples copied into the (empty) test project; the store is ``project/.mlops``."""
    shutil.copytree(
        EXAMPLES, store.root, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.out.ipynb")
    )
    # An activated environment has its scripts on PATH (MLflow's scoring server needs uvicorn).
    scripts = os.path.dirname(sys.executable)
    monkeypatch.setenv("PATH", f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}")
    return store.root


def execute(project: Path, name: str) -> dict[str, Any]:
    """Run ``name`` with papermill in a fresh kernel; return the executed notebook."""
    import papermill

    out = project / name.replace(".ipynb", ".out.ipynb")
    papermill.execute_notebook(
        str(project / name),
        str(out),
        cwd=str(project),
        kernel_name="python3",
        progress_bar=False,
        log_output=False,
    )
    return json.loads(out.read_text(encoding="utf-8"))


def output_text(nb: dict[str, Any]) -> str:
    """Every text output of the executed notebook, concatenated."""
    parts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            parts.append("".join(out.get("text", "")))
            parts.append("".join(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def runs_by_name(client: Any, experiment: str) -> dict[str, Any]:
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, f"experiment {experiment!r} was not created"
    return {r.info.run_name: r for r in client.search_runs([exp.experiment_id])}


def test_quickstart_logs_runs_with_params_metrics_and_curves(project: Path, client: Any) -> None:
    nb = execute(project, "quickstart.ipynb")

    runs = runs_by_name(client, "quickstart")
    assert set(runs) == {"baseline", "depth-1", "depth-2", "depth-4"}
    assert all(r.info.status == "FINISHED" for r in runs.values())
    baseline = runs["baseline"]
    assert baseline.data.params == {"n_estimators": "5", "max_depth": "1"}
    assert 0 < baseline.data.metrics["accuracy"] <= 1
    assert 0 < baseline.data.metrics["f1"] <= 1
    for depth in (1, 2, 4):
        run = runs[f"depth-{depth}"]
        assert run.data.params["max_depth"] == str(depth)
        curve = client.get_metric_history(run.info.run_id, "accuracy")
        assert sorted(m.step for m in curve) == [0, 1, 2]
    best = max(r.data.metrics["accuracy"] for r in runs.values())
    assert "best of 4 runs: " in output_text(nb)
    assert f"accuracy={best:.3f}" in output_text(nb)


def test_data_versioning_dedupes_diffs_and_logs_drift(project: Path, client: Any) -> None:
    import jupyter_mlops as mlops

    nb = execute(project, "data_versioning.ipynb")

    versions = mlops.snapshots("wine")
    assert versions["version"].tolist() == [1, 2]  # the identical re-snapshot added nothing
    v1, v2 = versions.to_dict(orient="records")
    assert v2["dedup"] > 0.5 and v2["new_bytes"] < v1["new_bytes"] / 2
    assert v2["cols"] == v1["cols"] + 1
    text = output_text(nb)
    assert "~5 changed" in text and "columns added: phenols_ratio" in text

    run = runs_by_name(client, "data_versioning")["versioning"]
    assert run.info.status == "FINISHED"
    metrics = run.data.metrics
    assert metrics["drift.alcohol.drifted"] == 1
    assert metrics["drift.magnesium.drifted"] == 0
    logged = {d.dataset.digest for d in run.inputs.dataset_inputs}
    for short in versions["digest"]:
        assert any(d.startswith(short) for d in logged), f"wine {short} not a dataset input"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "drift")}
    assert "drift/report.html" in artifacts


def test_model_registry_gates_promotes_loads_serves_and_monitors(
    project: Path, client: Any
) -> None:
    import jupyter_mlops as mlops

    nb = execute(project, "model_registry.ipynb")

    versions = {int(v.version): v for v in client.search_model_versions("name = 'cancer'")}
    assert sorted(versions) == [1, 2, 3]
    model = client.get_registered_model("cancer")
    assert {k: str(v) for k, v in model.aliases.items()} == {"candidate": "3", "production": "3"}
    history = mlops.history("cancer")
    refused = history[history["result"] == "refused"]
    assert refused[["version", "alias"]].values.tolist() == [["2", "production"]]
    # each version carries the digest of the snapshot it was trained on
    digest = mlops.snapshots("cancer_train")["digest"].iloc[-1]
    assert digest in versions[1].tags["mlops.lineage.snapshots"]
    # what the scoring server answered equals what the production model predicts here
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    _, x_test, _, _ = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    expected = mlops.load_model("cancer@production").predict(x_test.head(5)).tolist()
    serve_cell = next(
        c
        for c in nb["cells"]
        if c["cell_type"] == "code" and "/invocations" in "".join(c["source"])
    )
    shown = "".join(serve_cell["outputs"][-1]["data"]["text/plain"])
    assert json.loads(shown) == expected

    # the monitoring run watched version 3 and saw the shifted column drift
    watched = client.get_model_version("cancer", "3").tags["mlops.monitor.last_run"]
    monitor = client.get_run(watched)
    assert monitor.data.tags["mlops.monitor.version"] == "3"
    assert monitor.data.metrics["rows_scored"] == 100
    assert monitor.data.metrics["drift.mean radius.drifted"] == 1
    assert monitor.data.metrics["drift.mean texture.drifted"] == 0


def _pipeline(project: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter_mlops",
            "pipeline",
            "run",
            "pipeline/pipeline.yaml",
            "-q",
            "--json",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_pipeline_sweeps_registers_best_and_reruns_fully_cached(project: Path, client: Any) -> None:
    first = _pipeline(project)
    units = first["units"]
    assert [u["status"] for u in units] == ["ran"] * 6
    members = [u for u in units if u["step"] == "train"]
    grid = {(u["params"]["n_estimators"], u["params"]["max_depth"]) for u in members}
    assert grid == {(5, 1), (5, 3), (25, 1), (25, 3)}

    accuracy = {u["label"]: client.get_run(u["run_id"]).data.metrics["accuracy"] for u in members}
    evaluate = client.get_run(next(u["run_id"] for u in units if u["step"] == "evaluate"))
    assert evaluate.data.params["best_member"] in accuracy
    assert accuracy[evaluate.data.params["best_member"]] == max(accuracy.values())
    model = client.get_registered_model("wine")
    assert {k: str(v) for k, v in model.aliases.items()} == {"candidate": "1"}
    assert client.get_model_version("wine", "1").run_id == evaluate.info.run_id

    second = _pipeline(project)
    assert [u["status"] for u in second["units"]] == ["cached"] * 6
    assert [u["run_id"] for u in second["units"]] == [u["run_id"] for u in units]
    assert len(client.search_model_versions("name = 'wine'")) == 1


def test_reproduce_passes_with_pinned_snapshots(project: Path, client: Any) -> None:
    import jupyter_mlops as mlops

    nb = execute(project, "reproduce.ipynb")

    assert "REPRODUCED: run" in output_text(nb)
    runs = list(client.search_runs([client.get_experiment_by_name("reproduce").experiment_id]))
    copies = [r for r in runs if "reproduces" in r.data.tags]
    assert len(copies) == 1
    copy = copies[0]
    original = client.get_run(copy.data.tags["reproduces"])
    assert original.data.params == {"n_estimators": "5", "max_depth": "1"}
    assert copy.data.metrics["accuracy"] == original.data.metrics["accuracy"]
    # the data moved on after the original run; the copy still read the version it used
    latest = mlops.snapshots("wine_train")
    assert latest["version"].tolist() == [1, 2]
    read = {d.dataset.digest for d in copy.inputs.dataset_inputs}
    assert any(d.startswith(latest["digest"].iloc[0]) for d in read)
    assert not any(d.startswith(latest["digest"].iloc[1]) for d in read)


def test_monitoring_closes_the_loop(project: Path, client: Any) -> None:
    nb = execute(project, "monitoring.ipynb")

    text = output_text(nb)
    assert "served by version 1" in text and "now served by version 2" in text
    assert "1 alert(s) received" in text
    alert_runs = [
        r
        for r in runs_by_name(client, "monitoring").values()
        if r.data.tags.get("mlops.monitor.alert") == "drift_share_drifted > 0.3"
    ]
    assert len(alert_runs) == 1
    assert alert_runs[0].data.tags["mlops.monitor.version"] == "1"
    assert alert_runs[0].data.metrics["drift.share_drifted"] > 0.3
    assert str(client.get_model_version_by_alias("wine", "production").version) == "2"


def test_production_loop_retrains_promotes_on_a_live_canary_and_rescores_by_itself(
    project: Path, client: Any
) -> None:
    """New data -> the retrain schedule -> a live canary promotes -> the rescore, once each."""
    import pandas as pd
    import papermill

    folder = project / "production_loop"
    papermill.execute_notebook(
        str(folder / "loop.ipynb"),
        str(folder / "loop.out.ipynb"),
        cwd=str(folder),
        kernel_name="python3",
        progress_bar=False,
        log_output=False,
    )
    text = output_text(json.loads((folder / "loop.out.ipynb").read_text(encoding="utf-8")))
    assert "version 1 (batch): accuracy" in text  # the batch's labels joined in the log

    runs = client.search_runs(
        [client.get_experiment_by_name("production-loop").experiment_id], max_results=200
    )
    by_schedule: dict[str, list[Any]] = {}
    for run in runs:
        if "mlops.schedule" in run.data.tags:
            by_schedule.setdefault(run.data.tags["mlops.schedule"], []).append(run)
    # exactly one execution per event, each finished and tagged with its event
    assert sorted(by_schedule) == ["rescore", "retrain"]
    (retrain,) = by_schedule["retrain"]
    (rescore,) = by_schedule["rescore"]
    assert retrain.info.status == rescore.info.status == "FINISHED"
    assert retrain.data.tags["mlops.schedule.trigger"] == "snapshot:customers:v2"
    assert retrain.data.params["trigger_snapshot"] == "customers@v2"
    assert rescore.data.tags["mlops.schedule.trigger"] == "promotion:churn@production:v2"
    # the server's canary moved production to the version the retrain registered, on labels
    assert str(client.get_model_version_by_alias("churn", "production").version) == "2"
    assert str(client.get_model_version_by_alias("churn", "candidate").version) == "2"
    assert retrain.data.metrics["accuracy"] > retrain.data.metrics["production_accuracy"]
    from jupyter_mlops.models.promote import audit_trail

    (live,) = [e for e in audit_trail(client, "churn") if e["action"] == "live canary"]
    assert live["result"] == "promoted" and live["from_version"] == "1"
    assert "promoted by live canary: challenger.labels >= 100" in text  # the notebook says why
    # the rescore scored the newest snapshot with the new version
    rescored = pd.read_parquet(folder / "rescored.parquet")
    assert len(rescored) == 3000 and set(rescored["model_version"]) == {"2"}
    import jupyter_mlops as mlops

    week = mlops.data.load("customers@v2")
    expected = mlops.load_model("churn/2").predict(week.drop(columns="churned"))
    assert rescored["prediction"].tolist() == expected.tolist()
