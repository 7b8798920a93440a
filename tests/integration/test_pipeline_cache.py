"""The cache matrix, with real kernels: what makes a step (and its downstream) run again."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.pipelines.runs import REUSED_TAG
from jupyter_mlops.testing.notebooks import code, markdown, params, write_notebook, write_pipeline

pytestmark = pytest.mark.integration

A_CODE = (
    "import jupyter_mlops as mlops\nraw = mlops.load('raw')\n"
    "mlops.log(a_out=float(raw.v.sum()) * n)"
)
B_CELLS = [markdown("# B"), params("k = 1"), code("import jupyter_mlops as mlops\nmlops.log(b=k)")]


def _statuses(result) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {u.label: u.status for u in result.units}


def test_cache_matrix(store, client) -> None:  # type: ignore[no-untyped-def]
    root = store.root
    mlops.snapshot(pd.DataFrame({"v": [1, 2]}), name="raw")
    write_notebook(root / "a.ipynb", [params("n = 1"), code(A_CODE)])
    write_notebook(root / "b.ipynb", B_CELLS)
    yaml = "name: m\nsteps:\n  a: {{notebook: a.ipynb, params: {{n: {n}}}}}\n" + (
        "  b: {{notebook: b.ipynb, needs: [a]}}\n"
    )
    path = write_pipeline(root / "pipeline.yaml", yaml.format(n=1))

    first = mlops.run_pipeline(path)
    assert _statuses(first) == {"a": "ran", "b": "ran"}
    assert client.get_run(first.step("a")[0].run_id).data.metrics["a_out"] == 3.0

    # outputs, execution counts, metadata and markdown do not count
    outputs = [{"output_type": "stream", "name": "stdout", "text": "hello\n"}]
    write_notebook(root / "b.ipynb", [markdown("# B, reworded"), *B_CELLS[1:]], outputs=outputs)
    doc = json.loads((root / "b.ipynb").read_text())
    doc["metadata"]["language_info"] = {"name": "python"}
    (root / "b.ipynb").write_text(json.dumps(doc))
    assert _statuses(mlops.run_pipeline(path)) == {"a": "cached", "b": "cached"}

    # a code cell changes: that step runs, its upstream stays cached
    write_notebook(
        root / "b.ipynb", [*B_CELLS[:2], code("import jupyter_mlops as m\nm.log(b=k+1)")]
    )
    changed_code = mlops.run_pipeline(path)
    assert _statuses(changed_code) == {"a": "cached", "b": "ran"}
    assert client.get_run(changed_code.step("b")[0].run_id).data.metrics["b"] == 2.0

    # a parameter changes: that step and everything downstream run
    path = write_pipeline(root / "pipeline.yaml", yaml.format(n=2))
    changed_param = mlops.run_pipeline(path)
    assert _statuses(changed_param) == {"a": "ran", "b": "ran"}
    assert client.get_run(changed_param.step("a")[0].run_id).data.metrics["a_out"] == 6.0

    # an input snapshot changes: the step reading it and its downstream run
    assert _statuses(mlops.run_pipeline(path)) == {"a": "cached", "b": "cached"}
    mlops.snapshot(pd.DataFrame({"v": [10, 20]}), name="raw")
    changed_input = mlops.run_pipeline(path)
    assert _statuses(changed_input) == {"a": "ran", "b": "ran"}
    assert client.get_run(changed_input.step("a")[0].run_id).data.metrics["a_out"] == 60.0

    # --force ignores the cache (for the selected steps only)
    forced = mlops.run_pipeline(path, only="b", force=True)
    assert _statuses(forced) == {"a": "cached", "b": "ran"}


def test_a_cached_run_links_the_runs_it_reused(store, client) -> None:  # type: ignore[no-untyped-def]
    root = store.root
    write_notebook(
        root / "a.ipynb", [params("n = 1"), code("import jupyter_mlops as m\nm.log(a=n)")]
    )
    write_notebook(root / "b.ipynb", B_CELLS)
    path = write_pipeline(
        root / "pipeline.yaml",
        "name: linked\nsteps:\n  a: {notebook: a.ipynb}\n  b: {notebook: b.ipynb, needs: [a]}\n",
    )
    first = mlops.run_pipeline(path)
    ran = {u.label: u.run_id for u in first.units}
    assert first.ok and client.get_run(first.parent_run_id).data.tags.get(REUSED_TAG) is None

    again = mlops.run_pipeline(path)
    assert _statuses(again) == {"a": "cached", "b": "cached"}
    parent = client.get_run(again.parent_run_id)
    assert json.loads(parent.data.tags[REUSED_TAG]) == ran
    note = parent.data.tags["mlflow.note.content"]
    for label, run_id in ran.items():
        assert f"[{label}](#/experiments/{again.experiment_id}/runs/{run_id})" in note
