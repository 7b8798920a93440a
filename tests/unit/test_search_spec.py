"""Searched sweeps in pipeline.yaml: ranges, choices and sweep settings, validated up front."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_mlops.cli import main
from jupyter_mlops.pipelines.search.space import Choices, FloatRange, IntRange, parse_space
from jupyter_mlops.pipelines.spec import PipelineInvalid, load_spec
from jupyter_mlops.testing.notebooks import code, params, write_notebook, write_pipeline

VALID = """
name: t
steps:
  tune:
    notebook: train.ipynb
    params:
      lr: {low: 0.0001, high: 0.3, log: true}
      depth: {low: 2, high: 12, step: 1}
      model: {choices: [rf, gbm]}
      n_jobs: 1
    sweep: {method: tpe, trials: 50, metric: accuracy, direction: maximize, pruner: median, seed: 0}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_notebook(
        tmp_path / "train.ipynb",
        [params("lr = 0.1\ndepth = 3\nmodel = 'rf'\nn_jobs = 1"), code("y = lr * depth")],
    )
    return tmp_path


def test_the_issue_example_loads_with_its_search_space(project: Path) -> None:
    step = load_spec(write_pipeline(project / "pipeline.yaml", VALID)).steps["tune"]
    assert step.search is not None and step.sweep == "tpe"
    assert (step.search.trials, step.search.metric, step.search.pruner) == (
        50,
        "accuracy",
        "median",
    )
    assert step.search.seed == 0 and step.search.direction == "maximize"
    dims, problems = parse_space(step.params)
    assert problems == []
    assert dims == {
        "lr": FloatRange(0.0001, 0.3, log=True),
        "depth": IntRange(2, 12, step=1),
        "model": Choices(("rf", "gbm")),
    }


def test_grid_as_a_mapping_is_todays_grid(project: Path) -> None:
    text = """
    name: t
    steps:
      g:
        notebook: train.ipynb
        params: {depth: [2, 3]}
        sweep: {method: grid}
    """
    step = load_spec(write_pipeline(project / "pipeline.yaml", text)).steps["g"]
    assert step.sweep == "grid" and step.search is None


def test_exponent_numbers_are_floats_in_ranges_and_grids(project: Path) -> None:
    text = """
    name: t
    steps:
      tune:
        notebook: train.ipynb
        params: {lr: {low: 1e-5, high: 3E-1, log: true}}
        sweep: {method: tpe, trials: 4, metric: accuracy}
      grid:
        notebook: train.ipynb
        params: {lr: [1e-5, 1.0e-3, 0.1]}
        sweep: grid
    """
    spec = load_spec(write_pipeline(project / "pipeline.yaml", text))
    dims, problems = parse_space(spec.steps["tune"].params)
    assert problems == [] and dims == {"lr": FloatRange(1e-5, 0.3, log=True)}
    assert spec.steps["grid"].params == {"lr": [1e-5, 1e-3, 0.1]}


def test_every_search_problem_is_listed_in_one_message(project: Path) -> None:
    text = """
    name: t
    steps:
      bad:
        notebook: train.ipynb
        params:
          lr: {low: 0.3, high: 0.1}
          depth: {low: 2, high: 12, colour: red}
          nope: {choices: [1, 2]}
        sweep: {method: bayes, trials: 10, pruner: fast}
      plain:
        notebook: train.ipynb
        params: {lr: {low: 0.1, high: 0.2}}
    """
    with pytest.raises(PipelineInvalid) as info:
        load_spec(write_pipeline(project / "pipeline.yaml", text))
    message = str(info.value)
    for expected in (
        "range of 'lr' needs low < high (got low 0.3, high 0.1)",
        "unknown key(s) colour in the range of 'depth'",
        "unknown parameter(s) nope for train.ipynb",
        "sweep method 'bayes' is not known; use one of grid, zip, random, tpe, cmaes, qmc",
        "pruner 'fast' is not known; use one of none, median, successive_halving, hyperband",
        "sweep needs 'metric:'",
        "step 'plain': lr is a range or choices, which need sweep: {method:",
    ):
        assert expected in message
    assert message.startswith("pipeline.yaml: 7 problems, nothing was run")


def test_a_range_that_does_not_fit_the_declared_type_is_refused(project: Path) -> None:
    text = VALID.replace("depth: {low: 2, high: 12, step: 1}", "depth: {low: 0.5, high: 1.5}")
    with pytest.raises(PipelineInvalid, match="parameter 'depth' expects int"):
        load_spec(write_pipeline(project / "pipeline.yaml", text))


def test_cli_exits_2_listing_every_problem(project: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    text = VALID.replace("method: tpe", "method: annealing").replace("low: 2,", "low: 20,")
    path = write_pipeline(project / "pipeline.yaml", text)
    assert main(["pipeline", "run", str(path)]) == 2
    err = capsys.readouterr().err
    assert "2 problems" in err and "annealing" in err and "low 20, high 12" in err
    assert not (project / ".mlops" / "studies.db").exists()
