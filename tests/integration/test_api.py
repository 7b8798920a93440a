"""The Python API: runs as context managers, nesting, attaching to a run made elsewhere."""

from __future__ import annotations

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.errors import Conflict, InvalidInput
from jupyter_mlops.tracking import api

pytestmark = pytest.mark.integration


def test_with_start_run_logs_and_finishes(store, client) -> None:
    mlops.experiment("api")
    with mlops.start_run(name="ctx", tags={"team": "growth"}) as run:
        mlops.log(acc=0.9, step=3)
        mlops.log(model="rf")
        assert mlops.active_run() == run
    assert mlops.active_run() is None
    got = client.get_run(run.run_id)
    assert got.info.status == "FINISHED" and got.info.run_name == "ctx"
    assert got.data.metrics == {"acc": 0.9} and got.data.params == {"model": "rf"}
    assert [m.step for m in client.get_metric_history(run.run_id, "acc")] == [3]
    assert got.data.tags["team"] == "growth"


def test_exception_in_with_block_marks_failed(store, client) -> None:
    with pytest.raises(RuntimeError), mlops.start_run(name="oops") as run:
        raise RuntimeError("boom")
    assert client.get_run(run.run_id).info.status == "FAILED"


@pytest.mark.sqlite_only  # artifact location under .mlops
def test_first_log_starts_a_run_in_the_default_experiment(store, client) -> None:
    mlops.log(x=1)
    run = mlops.active_run()
    assert run is not None
    mlops.end_run()
    exp = client.get_experiment(run.experiment_id)
    assert exp.name == "Default"
    # artifacts of the embedded store stay under <root>/.mlops, never ./mlruns
    assert exp.artifact_location.startswith((store.store_dir / "artifacts").as_uri())


def test_default_experiment_is_the_notebook_stem(store, client, monkeypatch) -> None:
    monkeypatch.setenv("MLOPS_NOTEBOOK_PATH", str(store.root / "nb" / "train_model.ipynb"))
    api.reset(store)
    mlops.log(x=1)
    run = mlops.end_run()
    assert run is not None
    assert client.get_experiment(run.experiment_id).name == "train_model"
    assert client.get_run(run.run_id).data.tags["mlops.notebook.path"].endswith("train_model.ipynb")


@pytest.mark.sqlite_only  # sets an artifact location (workspace servers refuse it)
def test_attaches_to_run_named_in_environment_and_leaves_it_running(store, client, monkeypatch):
    exp = client.create_experiment("outer", artifact_location=(store.store_dir / "a").as_uri())
    outer = client.create_run(exp, run_name="made-by-runner")
    client.log_param(outer.info.run_id, "lr", "0.1")
    monkeypatch.setenv("MLOPS_RUN_ID", outer.info.run_id)
    api.reset(store)
    mlops.log(acc=0.5)
    assert mlops.active_run().run_id == outer.info.run_id
    with pytest.raises(Conflict):
        mlops.log_params(lr=0.2)  # the runner's params are known to the kernel
    api.reset(store)  # interpreter exit: flushes, but the creator owns the status
    got = client.get_run(outer.info.run_id)
    assert got.info.status == "RUNNING"
    assert got.data.metrics == {"acc": 0.5}
    assert len(client.search_runs([exp])) == 1


def test_shutdown_ends_runs_failed_when_last_cell_failed(store, client) -> None:
    mlops.log(x=1)
    run = mlops.active_run()
    api.tracker().last_cell_failed = True
    api.reset(store)
    assert client.get_run(run.run_id).info.status == "FAILED"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mlops.log_metrics(acc="high"), "metric 'acc' must be a number"),
        (lambda: mlops.log(step="two", a=1), "step must be a whole number"),
        (lambda: mlops.experiment(""), "experiment name must be 1-500 characters"),
        (lambda: mlops.log(), "nothing to log"),
        (lambda: mlops.log_params(note="x" * 7000), "MLflow keeps at most 6000"),
    ],
)
def test_api_refuses_bad_input_before_starting_a_run(store, call, message) -> None:
    with pytest.raises(InvalidInput, match=message):
        call()
    assert mlops.active_run() is None
