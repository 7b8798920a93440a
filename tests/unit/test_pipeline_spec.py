"""pipeline.yaml validation: every problem in one message, with line and column; nothing run."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_mlops.cli import main
from jupyter_mlops.pipelines.spec import PipelineInvalid, load_spec
from jupyter_mlops.testing.notebooks import code, params, write_notebook, write_pipeline


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_notebook(tmp_path / "prep.ipynb", [params("seed = 0"), code("x = seed")])
    write_notebook(
        tmp_path / "train.ipynb", [params("lr = 0.1\ndepth = 3"), code("y = lr * depth")]
    )
    return tmp_path


def test_valid_pipeline_loads_with_steps_in_file_order(project: Path) -> None:
    path = write_pipeline(
        project / "pipeline.yaml",
        """
        name: churn
        steps:
          prep:
            notebook: prep.ipynb
            params: {seed: 1}
          train:
            notebook: train.ipynb
            needs: [prep]
            params: {lr: [0.1, 0.2], depth: 4}
            sweep: grid
        """,
    )
    spec = load_spec(path)
    assert spec.name == "churn" and spec.experiment_name == "churn"
    assert list(spec.steps) == ["prep", "train"]
    train = spec.steps["train"]
    assert train.needs == ("prep",) and train.sweep == "grid"
    assert train.notebook == (project / "train.ipynb").resolve()
    assert train.params == {"lr": [0.1, 0.2], "depth": 4}


def test_every_problem_is_listed_in_one_message(project: Path) -> None:
    path = write_pipeline(
        project / "pipeline.yaml",
        """
        name: churn
        steps:
          prep:
            notebook: prep.ipynb
            params: {seed: 1, sed: 2}
            needs: [evaluate]
          train:
            notebook: missing.ipynb
            needs: [prep, prepare]
          evaluate:
            notebook: train.ipynb
            needs: [train]
            params: {lr: fast}
            colour: red
        """,
    )
    with pytest.raises(PipelineInvalid) as info:
        load_spec(path)
    problems = info.value.problems
    text = str(info.value)
    assert text.startswith("pipeline.yaml: ") and "nothing was run" in text
    assert any("needs unknown step 'prepare'" in p and p.startswith("line 9,") for p in problems)
    assert any("cycle in needs" in p and "prep" in p and "evaluate" in p for p in problems)
    assert any("missing.ipynb" in p and "does not exist" in p for p in problems)
    assert any("unknown parameter(s) sed" in p and "seed (int, default 0)" in p for p in problems)
    assert any("'lr' expects float" in p for p in problems)
    assert any("unknown key 'colour'" in p and p.startswith("line 14,") for p in problems)
    assert len(problems) == 6
    lines = [int(p.split(",")[0].removeprefix("line ")) for p in problems if p.startswith("line")]
    assert lines == sorted(lines) and problems[-1].startswith("cycle")


def test_malformed_yaml_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text("name: x\nsteps:\n  a:\n    notebook: a.ipynb\n   needs: [b\n")
    with pytest.raises(PipelineInvalid) as info:
        load_spec(path)
    (problem,) = info.value.problems
    assert problem.startswith("line 5, column 4: malformed YAML")


def test_sweep_problems_and_duplicate_steps(project: Path) -> None:
    path = write_pipeline(
        project / "pipeline.yaml",
        """
        name: s
        steps:
          a:
            notebook: train.ipynb
            params: {lr: 0.1}
            sweep: grid
          b:
            notebook: train.ipynb
            params: {lr: [0.1, 0.2], depth: [1]}
            sweep: zip
          c:
            notebook: train.ipynb
            sweep: random
          c:
            notebook: prep.ipynb
        """,
    )
    with pytest.raises(PipelineInvalid) as info:
        load_spec(path)
    text = str(info.value)
    assert "has sweep: grid but no list-valued params" in text
    assert "needs lists of equal length (got lr: 2, depth: 1)" in text
    assert "'c' is given twice in steps" in text


def test_cli_show_exits_2_listing_problems_and_creates_no_run(
    project: Path, store, client, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_pipeline(
        project / "pipeline.yaml",
        """
        name: bad
        steps:
          a: {notebook: prep.ipynb, needs: [b]}
          b: {notebook: prep.ipynb, needs: [a]}
        """,
    )
    assert main(["pipeline", "run", str(path), "-q"]) == 2
    err = capsys.readouterr().err
    assert "cycle in needs: a -> b -> a" in err and "Traceback" not in err
    assert main(["pipeline", "show", str(path)]) == 2
    experiments = [e.experiment_id for e in client.search_experiments()]
    assert client.search_runs(experiments) == []


def test_preload_is_a_list_of_module_names(project: Path) -> None:
    steps = "steps:\n  a:\n    notebook: prep.ipynb\n"
    good = write_pipeline(project / "good.yaml", f"name: p\npreload: [pandas, a.b]\n{steps}")
    assert load_spec(good).preload == ("pandas", "a.b")
    bad = write_pipeline(project / "bad.yaml", f"name: p\npreload: pandas\n{steps}")
    with pytest.raises(PipelineInvalid) as info:
        load_spec(bad)
    assert "'preload' must be a list of module names, e.g. preload: [pandas" in str(info.value)
