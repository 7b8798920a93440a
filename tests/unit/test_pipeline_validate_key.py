"""The ``validate:`` key of a pipeline step: parsed when well formed, one problem line when not."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_mlops.pipelines.spec import PipelineInvalid, load_spec
from jupyter_mlops.testing.notebooks import code, write_notebook, write_pipeline

PIPELINE = """
name: p
steps:
  train:
    notebook: train.ipynb
    validate: VALUE
"""


def _load(tmp_path: Path, value: str):  # type: ignore[no-untyped-def]
    write_notebook(tmp_path / "train.ipynb", [code("x = 1")])
    return load_spec(write_pipeline(tmp_path / "pipeline.yaml", PIPELINE.replace("VALUE", value)))


def test_validate_key_names_the_input_and_its_reference(tmp_path: Path) -> None:
    spec = _load(tmp_path, "{snapshot: features, against: train@v3}")
    assert spec.steps["train"].validate == ("features", "train@v3")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("features", "exactly the keys 'snapshot' and 'against'"),
        ("{snapshot: features}", "exactly the keys 'snapshot' and 'against'"),
        ("{snapshot: features, against: 3}", "must be text"),
        ("{snapshot: ../x, against: train}", "letters, digits"),
        ("{snapshot: f, against: 'train@latest'}", "name@v3"),
    ],
)
def test_malformed_validate_is_one_problem_with_its_line(
    tmp_path: Path, value: str, message: str
) -> None:
    with pytest.raises(PipelineInvalid) as info:
        _load(tmp_path, value)
    assert len(info.value.problems) == 1
    problem = info.value.problems[0]
    assert problem.startswith("line 5, column 5: 'validate' of step 'train'") and message in problem
