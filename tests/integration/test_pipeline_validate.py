"""``validate:`` on a pipeline step: a failing input blocks the step, downstream is skipped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.testing.notebooks import code, params, write_notebook, write_pipeline

pytestmark = pytest.mark.integration

PREPARE = """
import numpy as np, pandas as pd
import jupyter_mlops as mlops
rng = np.random.default_rng(1)
frame = pd.DataFrame({"x": rng.normal(size=200), "city": rng.choice(["a", "b"], 200)})
frame.loc[:2, "x"] = shift
mlops.snapshot(frame, name="features")
"""
PIPELINE = """
name: v
steps:
  prepare:
    notebook: prepare.ipynb
    params: {shift: SHIFT}
  train:
    notebook: train.ipynb
    needs: [prepare]
    validate: {snapshot: features, against: reference@v1}
  report:
    notebook: train.ipynb
    needs: [train]
"""


def test_a_step_whose_input_fails_validation_is_not_run(store, client, capsys) -> None:  # type: ignore[no-untyped-def]
    root: Path = store.root
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"x": rng.normal(size=5000), "city": rng.choice(["a", "b"], 5000)})
    mlops.snapshot(reference, name="reference")
    write_notebook(root / "prepare.ipynb", [params("shift = 0.0"), code(PREPARE)])
    write_notebook(root / "train.ipynb", [code("import jupyter_mlops as mlops\nmlops.log(m=1)")])
    path = write_pipeline(root / "pipeline.yaml", PIPELINE.replace("SHIFT", "50.0"))

    assert main(["pipeline", "run", str(path)]) == 1
    captured = capsys.readouterr()
    assert "1 ran, 0 cached, 1 failed, 1 skipped" in captured.out
    assert "train failed" in captured.err and "out_of_range" in captured.err
    assert "features@v1" in captured.err and "against reference@v1" in captured.err
    runs = {
        r.data.tags["mlflow.runName"]
        for r in client.search_runs([client.get_experiment_by_name("v").experiment_id])
    }
    assert "train" not in runs and "report" not in runs  # never started

    write_pipeline(root / "pipeline.yaml", PIPELINE.replace("SHIFT", "0.0"))
    result = mlops.run_pipeline(path)
    assert {u.step: u.status for u in result.units} == {
        "prepare": "ran",
        "train": "ran",
        "report": "ran",
    }
