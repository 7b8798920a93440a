"""Example notebooks are committed clean and the example pipeline is valid (no kernels)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "example_notebooks"
NOTEBOOKS = sorted(p for p in EXAMPLES.rglob("*.ipynb") if not p.name.endswith(".out.ipynb"))


def test_every_promised_example_exists() -> None:
    names = {str(p.relative_to(EXAMPLES)) for p in NOTEBOOKS}
    assert {
        "quickstart.ipynb",
        "data_versioning.ipynb",
        "model_registry.ipynb",
        "reproduce.ipynb",
        "monitoring.ipynb",
        "pipeline/prepare.ipynb",
        "pipeline/train.ipynb",
        "pipeline/evaluate.ipynb",
    } <= names
    assert (EXAMPLES / "pipeline" / "pipeline.yaml").is_file()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_notebook_is_committed_with_outputs_stripped(path: Path) -> None:
    import nbformat

    doc = json.loads(path.read_text(encoding="utf-8"))
    nbformat.validate(nbformat.from_dict(doc))
    assert doc["metadata"]["kernelspec"]["name"] == "python3"
    assert "papermill" not in doc["metadata"], "papermill metadata: commit the input notebook"
    for i, cell in enumerate(doc["cells"]):
        where = f"{path.name} cell {i}"
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{where} has outputs"
            assert cell["execution_count"] is None, f"{where} has an execution count"
        assert not {"execution", "papermill", "collapsed", "scrolled"} & set(cell["metadata"]), (
            f"{where} carries run metadata"
        )


@pytest.mark.parametrize("name", ["prepare", "train", "evaluate"])
def test_pipeline_notebooks_declare_parameters(name: str) -> None:
    import jupyter_mlops as mlops

    declared = mlops.notebook_params(EXAMPLES / "pipeline" / f"{name}.ipynb")
    assert declared, f"{name}.ipynb has no cell tagged 'parameters'"
    assert all(p.help for p in declared), "every parameter has a comment saying what it is"


def test_example_pipeline_is_valid_with_a_grid_sweep() -> None:
    from jupyter_mlops.pipelines.spec import load_spec
    from jupyter_mlops.pipelines.sweep import expand

    spec = load_spec(EXAMPLES / "pipeline" / "pipeline.yaml")
    assert list(spec.steps) == ["prepare", "train", "evaluate"]
    train = spec.steps["train"]
    assert train.sweep == "grid" and train.needs == ("prepare",)
    assert len(expand(train.params, train.sweep)) >= 4
    assert spec.steps["evaluate"].needs == ("train",)
