"""Searched sweeps end to end with real kernels: methods, seeds, resume, pruning, failures.

Few trials each (the CI budget): what is checked is where the trials land, how
they are recorded and what the study remembers, not how well a sampler does.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.testing.notebooks import code, params, write_notebook, write_pipeline

pytestmark = pytest.mark.integration

#: score peaks at x = 0.7; `bad` models raise; 'steps' intermediate values, `pause` s apart
QUADRATIC = (
    "import time\nimport jupyter_mlops as mlops\n"
    "if model == 'bad':\n    raise ValueError('this model diverges')\n"
    "for s in range(steps):\n"
    "    mlops.log(score=-(x - 0.7) ** 2 * (steps - s) / steps - k * 0.001, step=s)\n"
    "    time.sleep(pause)\n"
)


@pytest.fixture
def project(store) -> Path:  # type: ignore[no-untyped-def]
    write_notebook(
        store.root / "q.ipynb",
        [
            params("x = 0.0\nk = 1\nmodel = 'good'\nsteps = 1\npause = 0.0"),
            code(QUADRATIC),
        ],
    )
    write_notebook(
        store.root / "pick.ipynb",
        [
            code(
                "import jupyter_mlops as mlops\nbest = mlops.upstream('tune').best()\n"
                "mlops.log(best_x=best.params['x'], best_score=best.metrics['score'])"
            )
        ],
    )
    return store.root


def _pipeline(root: Path, sweep: str, params_yaml: str = "x: {low: -2.0, high: 2.0}") -> Path:
    return write_pipeline(
        root / "pipeline.yaml",
        f"""
        name: s
        steps:
          tune:
            notebook: q.ipynb
            params:
              {params_yaml}
            sweep: {sweep}
        """,
    )


def _trial_runs(client, result, step="tune"):  # type: ignore[no-untyped-def]
    return [client.get_run(u.run_id) for u in result.step(step)]


def test_each_method_yields_its_trials_inside_the_ranges(project: Path, client) -> None:  # type: ignore[no-untyped-def]
    steps = "\n".join(
        f"""
          {method}:
            notebook: q.ipynb
            params:
              x: {{low: -2.0, high: 2.0}}
              k: {{low: 1, high: 9, step: 2}}
              model: {{choices: [good, fine]}}
            sweep: {{method: {method}, trials: 2, metric: score, seed: 1}}"""
        for method in ("random", "tpe", "cmaes", "qmc")
    )
    path = write_pipeline(
        project / "pipeline.yaml", "name: m\nsteps:" + steps.replace("\n  ", "\n")
    )
    result = mlops.run_pipeline(path, jobs=2)
    assert result.ok, result.table()
    for method in ("random", "tpe", "cmaes", "qmc"):
        runs = _trial_runs(client, result, method)
        assert len(runs) == 2
        step_runs = {r.data.tags["mlflow.parentRunId"] for r in runs}
        assert len(step_runs) == 1  # nested under the step's run, itself under the pipeline run
        step_run = client.get_run(step_runs.pop())
        assert step_run.data.tags["mlflow.parentRunId"] == result.parent_run_id
        for run in runs:
            p = run.data.params
            assert -2.0 <= float(p["x"]) <= 2.0
            assert int(p["k"]) in (1, 3, 5, 7, 9)
            assert p["model"] in ("good", "fine")
            assert run.info.status == "FINISHED" and "score" in run.data.metrics
            assert run.data.tags["mlops.sweep.method"] == method
        best = max(runs, key=lambda r: r.data.metrics["score"])
        assert step_run.data.tags["mlops.sweep.best_run_id"] == best.info.run_id
        assert step_run.data.params["best.x"] == best.data.params["x"]
        artifacts = {a.path for a in client.list_artifacts(step_run.info.run_id, "search")}
        assert {"search/study.json", "search/history.vl.json"} <= artifacts


def test_seeded_study_is_reproducible_and_raising_trials_resumes(project: Path, client) -> None:  # type: ignore[no-untyped-def]
    sweep = "{method: random, trials: 2, metric: score, seed: 7}"
    first = mlops.run_pipeline(_pipeline(project, sweep), jobs=1)
    again = mlops.run_pipeline(_pipeline(project, sweep), jobs=1, force=True)  # a fresh study
    assert [u.params for u in first.units] == [u.params for u in again.units]
    assert {u.run_id for u in first.units}.isdisjoint({u.run_id for u in again.units})

    unchanged = mlops.run_pipeline(_pipeline(project, sweep), jobs=1)
    assert unchanged.counts["cached"] == 2 and unchanged.counts["ran"] == 0

    more = mlops.run_pipeline(_pipeline(project, sweep.replace("trials: 2", "trials: 3")), jobs=1)
    assert more.counts["cached"] == 2 and more.counts["ran"] == 1
    assert [u.run_id for u in more.units[:2]] == [u.run_id for u in again.units]
    new = more.units[2].params
    assert new not in [u.params for u in again.units]  # not a replay of the stored draws


def test_tpe_finds_the_optimum_of_a_quadratic(project: Path, client) -> None:  # type: ignore[no-untyped-def]
    sweep = "{method: tpe, trials: 10, metric: score, direction: maximize, seed: 3}"
    result = mlops.run_pipeline(_pipeline(project, sweep, "x: {low: -3.0, high: 3.0}"), jobs=2)
    assert result.ok, result.table()
    best = max(_trial_runs(client, result), key=lambda r: r.data.metrics["score"])
    assert abs(float(best.data.params["x"]) - 0.7) < 0.4


def test_pruned_trials_are_killed_tagged_and_stop_early(project: Path, client) -> None:  # type: ignore[no-untyped-def]
    sweep = "{method: random, trials: 6, metric: score, pruner: median, seed: 2}"
    fixed = "x: {low: -2.0, high: 2.0}\n              steps: 8\n              pause: 0.4"
    result = mlops.run_pipeline(_pipeline(project, sweep, fixed), jobs=1)
    assert result.ok, result.table()
    pruned = [u for u in result.units if u.status == "pruned"]
    assert pruned, result.table()
    for unit in pruned:
        run = client.get_run(unit.run_id)
        assert run.info.status == "KILLED"
        assert run.data.tags["mlops.sweep.pruned"] == "true"
        reached = int(run.data.tags["mlops.sweep.pruned_step"])
        history = client.get_metric_history(unit.run_id, "score")
        assert reached < 7 and len(history) < 8
    complete = [u for u in result.units if u.status == "ran"]
    assert all(len(client.get_metric_history(u.run_id, "score")) == 8 for u in complete)
    step_run = client.get_run(client.get_run(complete[0].run_id).data.tags["mlflow.parentRunId"])
    summary = json.loads(
        Path(client.download_artifacts(step_run.info.run_id, "search/study.json")).read_text()
    )
    assert sorted(t["state"] for t in summary["trials"]).count("PRUNED") == len(pruned)


def test_a_failed_trial_does_not_stop_the_others_and_best_is_downstream(
    project: Path, client
) -> None:  # type: ignore[no-untyped-def]
    path = write_pipeline(
        project / "pipeline.yaml",
        """
        name: f
        steps:
          tune:
            notebook: q.ipynb
            params:
              x: {low: -2.0, high: 2.0}
              model: {choices: [good, bad]}
            sweep: {method: random, trials: 4, metric: score, seed: 0}
          pick:
            notebook: pick.ipynb
            needs: [tune]
        """,
    )
    result = mlops.run_pipeline(path, jobs=2)
    tune = result.step("tune")
    failed = [u for u in tune if u.status == "failed"]
    good = [u for u in tune if u.status == "ran"]
    assert failed and good and all(u.params["model"] == "bad" for u in failed)
    assert "this model diverges" in failed[0].message
    assert not result.ok  # a failed trial is reported (exit 1), yet the study went on
    (pick,) = result.step("pick")
    assert pick.status == "ran", pick.message
    best = max(good, key=lambda u: client.get_run(u.run_id).data.metrics["score"])
    metrics = client.get_run(pick.run_id).data.metrics
    assert metrics["best_x"] == pytest.approx(best.params["x"])


def test_dask_executor_runs_the_same_trials(project: Path, client) -> None:  # type: ignore[no-untyped-def]
    from distributed import LocalCluster

    sweep = "{method: random, trials: 2, metric: score, seed: 5}"
    local = mlops.run_pipeline(_pipeline(project, sweep), jobs=1)
    with LocalCluster(
        host="127.0.0.1", n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        address = "dask://" + cluster.scheduler_address.removeprefix("tcp://")
        remote = mlops.run_pipeline(_pipeline(project, sweep), executor=address, force=True)
    assert remote.ok, remote.table()
    assert [u.params for u in remote.units] == [u.params for u in local.units]
    scores = [
        [client.get_run(u.run_id).data.metrics["score"] for u in r.units] for r in (local, remote)
    ]
    assert scores[0] == scores[1]


def test_a_search_without_optuna_is_refused_before_any_run(
    project: Path, client, monkeypatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    """Optuna missing: exit 2 with the install hint, and the store holds no pipeline run."""
    from jupyter_mlops.cli import main

    path = _pipeline(project, "{method: tpe, trials: 3, metric: score, seed: 1}")
    monkeypatch.setitem(sys.modules, "optuna", None)  # `import optuna` fails
    code_ = main(["pipeline", "run", str(path), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code_ == 2
    assert len(err.splitlines()) == 1 and "pip install 'jupyter-mlops[search]'" in err
    experiments = client.search_experiments()
    runs = client.search_runs([e.experiment_id for e in experiments])
    assert runs == []
