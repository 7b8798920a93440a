"""MLflow's own API and autolog land in the store and the run ``mlops`` logs to.

Real store (SQLite, or the team server with ``MLOPS_TEST_STORE=server``), real
IPython shell, real kernels for headless runs and pipeline steps.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
from IPython.core.error import UsageError
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.errors import Conflict
from jupyter_mlops.testing.notebooks import code, params, write_notebook, write_pipeline
from jupyter_mlops.tracking import api

pytestmark = [pytest.mark.integration, pytest.mark.compat]


@pytest.fixture
def autolog_off():  # type: ignore[no-untyped-def]
    """Autologging patches are process-wide: later tests must not autolog their fits."""
    yield
    mlflow.autolog(disable=True)
    mlflow.sklearn.autolog(disable=True)


def _runs(client, experiment: str):  # type: ignore[no-untyped-def]
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id]) if exp else []


def test_mlflow_calls_inside_an_mlops_run_log_to_that_run(store, client, tmp_path) -> None:
    import pandas as pd

    mlops.experiment("mixed")
    with mlops.start_run(name="mixed") as run:
        assert mlflow.active_run().info.run_id == run.run_id
        mlops.log(a=1, model="rf")
        mlflow.log_metric("b", 2.0)
        mlflow.log_param("depth", 3)
        mlflow.set_tag("team", "growth")
        frame = pd.DataFrame({"x": [1, 2]})
        mlflow.log_input(mlflow.data.from_pandas(frame, name="train"), context="training")
        with mlflow.start_run(nested=True) as child:
            mlflow.log_metric("c", 3.0)
            assert mlops.active_run().run_id == child.info.run_id
        assert mlops.active_run().run_id == run.run_id
    assert mlflow.active_run() is None and mlops.active_run() is None
    got = client.get_run(run.run_id)
    assert got.info.status == "FINISHED"
    assert got.data.metrics == {"a": 1.0, "b": 2.0}
    assert got.data.params == {"model": "rf", "depth": "3"}
    assert got.data.tags["team"] == "growth"
    assert [d.dataset.name for d in got.inputs.dataset_inputs] == ["train"]
    runs = _runs(client, "mixed")
    assert len(runs) == 2  # the run and its nested child, nothing else
    kid = client.get_run(child.info.run_id)
    assert kid.data.tags["mlflow.parentRunId"] == run.run_id and kid.info.status == "FINISHED"
    assert not (store.root / "mlflow.db").exists() and not (store.root / "mlruns").exists()


def test_mlflow_client_without_arguments_reads_our_store(store, client) -> None:
    with mlops.start_run(name="visible") as run:
        mlops.log(acc=0.5)
    assert MlflowClient().get_run(run.run_id).data.metrics == {"acc": 0.5}
    assert mlflow.get_registry_uri() == store.tracking_uri
    assert "MLFLOW_TRACKING_URI" not in os.environ or os.environ["MLFLOW_TRACKING_URI"] == (
        store.tracking_uri
    )


def test_importing_the_package_points_mlflow_at_the_store_in_a_fresh_process(store) -> None:
    script = (
        "import jupyter_mlops\nfrom mlflow import MlflowClient\n"
        "print(MlflowClient().tracking_uri)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == store.tracking_uri


def test_a_param_logged_both_ways_fails_for_the_second_caller(store, client) -> None:
    with mlops.start_run(name="params") as run:
        mlops.log(lr="0.1", depth=3)
        mlflow.log_param("lr", "0.1")  # same value: fine
        with pytest.raises(MlflowException, match="Changing param values is not allowed"):
            mlflow.log_param("lr", "0.2")  # our buffered value was written first
        mlflow.log_param("seed", "7")
        with pytest.raises(Conflict, match="param 'seed' is already '7'"):
            mlops.log(seed="8")
    got = client.get_run(run.run_id)
    assert got.data.params == {"lr": "0.1", "seed": "7"}
    assert got.data.metrics == {"depth": 3.0}


def test_mlflow_end_run_ends_the_mlops_run_after_writing_its_values(store, client) -> None:
    mlops.log(step_loss=0.5)
    first = mlops.active_run()
    for i in range(50):
        mlops.log(loss=1 / (i + 1), step=i)
    mlflow.end_run()
    got = client.get_run(first.run_id)
    assert got.info.status == "FINISHED"
    assert len(client.get_metric_history(first.run_id, "loss")) == 50
    assert mlops.active_run() is None
    mlops.log(x=1)
    second = mlops.active_run()
    assert second.run_id != first.run_id
    assert mlflow.active_run().info.run_id == second.run_id
    mlops.end_run()
    assert client.get_run(first.run_id).data.metrics.get("x") is None


def test_mlops_end_run_ends_a_run_mlflow_started(store, client) -> None:
    mlops.experiment("adopted")  # MLflow's active experiment too
    started = mlflow.start_run(run_name="from-mlflow")
    assert client.get_experiment(started.info.experiment_id).name == "adopted"
    assert mlops.active_run().run_id == started.info.run_id
    mlops.log(acc=0.7)
    ended = mlops.end_run("KILLED")
    assert ended.run_id == started.info.run_id
    assert mlflow.active_run() is None
    got = client.get_run(started.info.run_id)
    assert got.info.status == "KILLED" and got.data.metrics == {"acc": 0.7}


def test_user_tracking_uri_in_the_environment_is_left_as_set(store, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.tracking_uri)
    api.reset(store)
    assert os.environ["MLFLOW_TRACKING_URI"] == store.tracking_uri
    assert mlflow.get_tracking_uri() == store.tracking_uri
    with mlops.start_run() as run:
        assert mlflow.active_run().info.run_id == run.run_id


def test_nested_mlops_run_cells_nest_in_mlflow(ip, client) -> None:
    ip.run_line_magic("mlops", "experiment cells")
    ip.run_line_magic("mlops", "start --name outer")
    outer = mlops.active_run()
    ip.run_cell_magic(
        "mlops",
        "run --name inner",
        "import mlflow\ninner_id = mlflow.active_run().info.run_id\n"
        "parent = mlflow.get_run(inner_id).data.tags['mlflow.parentRunId']\n"
        "mlflow.log_metric('m', 1.0)",
    )
    assert ip.user_ns["parent"] == outer.run_id
    assert mlflow.active_run().info.run_id == outer.run_id
    ip.run_line_magic("mlops", "end")
    inner = client.get_run(ip.user_ns["inner_id"])
    assert inner.info.status == "FINISHED" and inner.data.metrics == {"m": 1.0}
    assert len(_runs(client, "cells")) == 2


FIT_TWICE = """
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
X, y = load_iris(return_X_y=True)
LogisticRegression(C=1.0, max_iter=300).fit(X, y)
LogisticRegression(C=10.0, max_iter=400).fit(X, y)
"""


def test_autolog_in_an_mlops_run_cell_is_one_run_however_many_fits(
    ip, client, caplog, autolog_off
) -> None:
    pytest.importorskip("sklearn")
    ip.run_line_magic("mlops", "experiment auto")
    ip.run_cell("import mlflow\nmlflow.sklearn.autolog(log_models=False)")
    with caplog.at_level(logging.WARNING):
        ip.run_cell_magic("mlops", "run --name fits", FIT_TWICE)
    runs = _runs(client, "auto")
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED" and run.info.run_name == "fits"
    assert run.data.params["C"] == "1.0"  # the first fit's; the second cannot change it
    assert "training_accuracy_score" in run.data.metrics
    assert len(client.get_metric_history(run.info.run_id, "training_accuracy_score")) == 2
    assert run.data.tags["estimator_name"] == "LogisticRegression"
    assert "Changing param values is not allowed" not in caplog.text
    assert "a later fit in run fits has other values for C, max_iter" in caplog.text


SEARCH = """
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
X, y = load_iris(return_X_y=True)
GridSearchCV(LogisticRegression(max_iter=300), {"C": [0.1, 1.0]}, cv=2).fit(X, y)
"""


def test_mlops_autolog_magic_keeps_search_candidates_as_children(ip, client, autolog_off) -> None:
    pytest.importorskip("sklearn")
    ip.run_line_magic("mlops", "experiment search")
    ip.run_line_magic("mlops", "autolog sklearn --no-models")
    ip.run_cell_magic("mlops", "run --name search", SEARCH)
    runs = _runs(client, "search")
    parent = next(r for r in runs if r.info.run_name == "search")
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(runs) == 3 and len(children) == 2
    assert "best_C" in parent.data.params and "best_cv_score" in parent.data.metrics
    assert not client.list_artifacts(parent.info.run_id, "model")
    with pytest.raises(UsageError, match="unknown autolog flavor 'keras'; use one of all, sklearn"):
        ip.run_line_magic("mlops", "autolog keras")


MIXED_NOTEBOOK = [
    params("c = 1.0"),
    code("import jupyter_mlops as mlops\nimport mlflow\nmlops.log(a=1)\nmlflow.log_metric('b', 2)"),
    code(
        "mlflow.sklearn.autolog(log_models=False)\n"
        "from sklearn.datasets import load_iris\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "X, y = load_iris(return_X_y=True)\n"
        "LogisticRegression(C=c, max_iter=300).fit(X, y)\n"
        "LogisticRegression(C=c, max_iter=300).fit(X, y)"
    ),
]

PLAIN_MLFLOW_NOTEBOOK = [code("import mlflow\nmlflow.log_metric('plain', 5.0)")]


def test_headless_runs_share_their_run_with_mlflow_and_autolog(store, client) -> None:
    pytest.importorskip("sklearn")
    nb = write_notebook(store.root / "mixed.ipynb", MIXED_NOTEBOOK)
    assert main(["run", str(nb), "-p", "c", "2.0", "-q"]) == 0
    runs = _runs(client, "mixed")
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert {"a", "b", "training_accuracy_score"} <= set(run.data.metrics)
    assert run.data.params["C"] == "2.0"
    plain = write_notebook(store.root / "plain.ipynb", PLAIN_MLFLOW_NOTEBOOK)
    assert main(["run", str(plain), "-q"]) == 0
    runs = _runs(client, "plain")
    assert len(runs) == 1 and runs[0].data.metrics == {"plain": 5.0}
    assert runs[0].info.status == "FINISHED"


def test_a_pipeline_step_logs_mlflow_calls_to_its_step_run(store, client) -> None:
    root: Path = store.root
    write_notebook(
        root / "step.ipynb",
        [
            params("k = 1"),
            code("import jupyter_mlops as mlops\nimport mlflow\nmlops.log(k2=k * 2)\n"),
            code("mlflow.log_metric('from_mlflow', k)"),
        ],
    )
    spec = write_pipeline(
        root / "pipeline.yaml", "name: mix\nsteps:\n  step:\n    notebook: step.ipynb\n"
    )
    assert main(["pipeline", "run", str(spec), "--quiet"]) == 0
    runs = _runs(client, "mix")
    steps = [r for r in runs if r.data.tags.get("mlflow.parentRunId")]
    assert len(runs) == 2 and len(steps) == 1
    assert steps[0].data.metrics == {"k2": 2.0, "from_mlflow": 1.0}
