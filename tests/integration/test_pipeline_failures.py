"""A failing sweep member: siblings finish, downstream is skipped, the cache stays clean, resume."""

from __future__ import annotations

from pathlib import Path

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.testing.notebooks import code, params, write_notebook, write_pipeline

pytestmark = pytest.mark.integration

FAILS_ON_2 = (
    "import jupyter_mlops as mlops\nif x == 2:\n    raise ValueError('bad x')\nmlops.log(m=x)"
)
FIXED = "import jupyter_mlops as mlops\nmlops.log(m=x)"
PIPELINE = """
name: f
steps:
  m:
    notebook: m.ipynb
    params: {x: [1, 2, 3]}
    sweep: grid
  d:
    notebook: d.ipynb
    needs: [m]
"""


def test_failure_is_isolated_never_cached_and_resume_runs_only_the_rest(
    store, client, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    root: Path = store.root
    write_notebook(root / "m.ipynb", [params("x = 0"), code(FAILS_ON_2)])
    write_notebook(
        root / "d.ipynb",
        [code("import jupyter_mlops as mlops\nmlops.log(seen=len(mlops.upstream('m')))")],
    )
    path = write_pipeline(root / "pipeline.yaml", PIPELINE)

    assert main(["pipeline", "run", str(path), "-j", "2"]) == 1
    captured = capsys.readouterr()
    assert "2 ran, 0 cached, 1 failed, 1 skipped" in captured.out
    assert "m[x=2] failed" in captured.err and "ValueError: bad x" in captured.err
    assert "needs 'm', which failed (1 of 3 units)" in captured.out
    exp = client.get_experiment_by_name("f")
    runs = {r.data.tags["mlflow.runName"]: r for r in client.search_runs([exp.experiment_id])}
    assert runs["m[x=1]"].info.status == runs["m[x=3]"].info.status == "FINISHED"
    assert runs["m[x=2]"].info.status == "FAILED"
    assert runs["m"].info.status == "FAILED" and runs["f"].info.status == "FAILED"
    assert "d" not in runs  # skipped: never started

    # a failed member never poisons the cache: the plan still wants to run it
    plan = mlops.show_pipeline(path)
    states = {u.label: u.status for units in plan.units.values() for u in units}
    assert states == {
        "m[x=1]": "cached",
        "m[x=2]": "would run",
        "m[x=3]": "cached",
        "d": "waits on upstream",
    }

    # fix the notebook; its code changed, so only --resume keeps the finished members
    write_notebook(root / "m.ipynb", [params("x = 0"), code(FIXED)])
    assert mlops.show_pipeline(path).counts()["would run"] == 3
    resumed = mlops.run_pipeline(path, resume=True, jobs=2)
    states = {u.label: u.status for u in resumed.units}
    assert states == {"m[x=1]": "cached", "m[x=2]": "ran", "m[x=3]": "cached", "d": "ran"}
    assert resumed.step("m")[0].run_id == runs["m[x=1]"].info.run_id
    assert client.get_run(resumed.step("d")[0].run_id).data.metrics["seen"] == 3.0
    parent = client.get_run(resumed.parent_run_id)
    assert parent.data.tags["mlops.pipeline.resumed_from"] == runs["f"].info.run_id
