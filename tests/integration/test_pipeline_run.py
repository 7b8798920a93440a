"""A pipeline end to end: DAG order, nested sweep runs, the upstream API, pinned snapshots."""

from __future__ import annotations

from pathlib import Path

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.testing.notebooks import code, params, write_notebook, write_pipeline

pytestmark = pytest.mark.integration

PIPELINE = """
name: churn
steps:
  prepare:
    notebook: prepare.ipynb
    params: {seed: 1}
  train:
    notebook: train.ipynb
    needs: [prepare]
    params: {depth: [1, 2]}
    sweep: grid
  evaluate:
    notebook: evaluate.ipynb
    needs: [train]
    params: {metric: accuracy}
"""


@pytest.fixture
def pipeline(store) -> Path:  # type: ignore[no-untyped-def]
    root = store.root
    write_notebook(
        root / "prepare.ipynb",
        [
            params("seed = 0"),
            code(
                "import pandas as pd\nimport jupyter_mlops as mlops\n"
                "df = pd.DataFrame({'x': [seed, seed + 1, seed + 2]})\n"
                "mlops.snapshot(df, name='features')"
            ),
        ],
    )
    write_notebook(
        root / "train.ipynb",
        [
            params("depth = 1"),
            code(
                "import jupyter_mlops as mlops\ndf = mlops.load('features')\n"
                "mlops.log(accuracy=float(df.x.sum()) * depth)"
            ),
        ],
    )
    write_notebook(
        root / "evaluate.ipynb",
        [
            params("metric = 'loss'"),
            code(
                "import jupyter_mlops as mlops\nruns = mlops.upstream('train')\n"
                "best = runs.best(metric)\n"
                "mlops.log(best_accuracy=best.metrics[metric], members=len(runs))\n"
                "mlops.set_tags(best_run=best.run_id, best_label=best.label)"
            ),
        ],
    )
    return write_pipeline(root / "pipeline.yaml", PIPELINE)


def _runs(client, experiment: str) -> list:  # type: ignore[no-untyped-def]
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id], max_results=1000)


def _loaded_digest(run) -> str:  # type: ignore[no-untyped-def]
    (found,) = [
        i.dataset.digest
        for i in run.inputs.dataset_inputs
        if {t.key: t.value for t in i.tags}.get("mlflow.data.context") == "training"
    ]
    return found


def test_pipeline_runs_in_dag_order_as_nested_runs_and_reruns_from_cache(
    pipeline: Path, client, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pipeline", "run", str(pipeline), "--jobs", "2", "-q"]) == 0
    out = capsys.readouterr().out
    assert "4 ran, 0 cached, 0 failed, 0 skipped" in out
    runs = {r.data.tags.get("mlflow.runName"): r for r in _runs(client, "churn")}
    parent = runs["churn"]
    assert parent.data.tags["mlops.pipeline.role"] == "parent"
    assert parent.info.status == "FINISHED" and parent.data.tags["mlops.pipeline.ran"] == "4"
    step_run = runs["train"]
    members = [runs["train[depth=1]"], runs["train[depth=2]"]]
    nested = {
        "prepare": parent.info.run_id,
        "train": parent.info.run_id,
        "evaluate": parent.info.run_id,
        "train[depth=1]": step_run.info.run_id,
        "train[depth=2]": step_run.info.run_id,
    }
    for name, parent_id in nested.items():
        assert runs[name].data.tags["mlflow.parentRunId"] == parent_id, name
        assert runs[name].info.status == "FINISHED"
    assert [m.data.params["depth"] for m in members] == ["1", "2"]
    assert [m.data.metrics["accuracy"] for m in members] == [6.0, 12.0]  # x = 1, 2, 3

    # DAG order: nothing started before what it needs had ended
    prepare, evaluate = runs["prepare"], runs["evaluate"]
    assert all(m.info.start_time >= prepare.info.end_time for m in members)
    assert evaluate.info.start_time >= max(m.info.end_time for m in members)

    # the evaluate step picked the best member through mlops.upstream(), not files
    assert evaluate.data.metrics == {"best_accuracy": 12.0, "members": 2.0}
    assert evaluate.data.tags["best_run"] == members[1].info.run_id
    assert evaluate.data.tags["best_label"] == "train[depth=2]"

    # the same API reads a finished pipeline run from outside it (developing a step)
    train = mlops.upstream("train", pipeline_run=parent.info.run_id)
    assert [r.params for r in train] == [{"depth": 1}, {"depth": 2}]
    assert train.best("accuracy", mode="min").run_id == members[0].info.run_id
    assert train.metric("accuracy") == [6.0, 12.0]
    prepared = mlops.upstream("prepare", pipeline_run=parent.info.run_id)[0]
    assert list(prepared.load("features").x) == [1, 2, 3]

    # fully cached re-run: no kernel, no new unit run, the same runs reused
    before = len(_runs(client, "churn"))
    result = mlops.run_pipeline(pipeline)
    assert result.counts == {"ran": 0, "cached": 4, "failed": 0, "skipped": 0}
    assert len(_runs(client, "churn")) == before + 1  # only the new parent
    assert {u.label: u.run_id for u in result.units}["evaluate"] == evaluate.info.run_id
    plan = mlops.show_pipeline(pipeline)
    assert plan.counts()["cached"] == 4 and "4 cached, 0 would run" in plan.text()


def test_downstream_steps_load_the_snapshot_version_their_upstream_produced(
    pipeline: Path, client
) -> None:
    first = mlops.run_pipeline(pipeline, jobs=2)
    assert first.ok
    produced = first.step("prepare")[0].produced["features"]
    # someone writes a newer version of 'features' outside the pipeline
    import pandas as pd

    newer = mlops.snapshot(pd.DataFrame({"x": [100, 200, 300]}), name="features")
    assert newer.digest != produced and newer.version == 2

    again = mlops.run_pipeline(pipeline, only=["train"], force=True, jobs=2)
    assert again.counts == {"ran": 2, "cached": 2, "failed": 0, "skipped": 0}
    assert [u.status for u in again.step("prepare")] == ["cached"]
    for unit in again.step("train"):
        run = client.get_run(unit.run_id)
        assert _loaded_digest(run) == produced  # pinned, not the latest
        assert run.data.metrics["accuracy"] in (6.0, 12.0)
    # outside a pipeline the bare name is the latest version
    assert list(mlops.load("features").x) == [100, 200, 300]
