"""``%mlops pipeline run | show`` in a real IPython shell."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

from jupyter_mlops.testing.notebooks import code, params, write_notebook, write_pipeline

pytestmark = pytest.mark.integration


def test_magic_shows_then_runs_a_pipeline(ip, store, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    write_notebook(
        store.root / "a.ipynb",
        [params("n = 1"), code("import jupyter_mlops as mlops\nmlops.log(n2=n * 2)")],
    )
    path = write_pipeline(
        store.root / "pipeline.yaml", "name: mg\nsteps:\n  a: {notebook: a.ipynb, params: {n: 4}}\n"
    )
    plan = ip.run_line_magic("mlops", f"pipeline show {path}")
    assert "0 cached, 1 would run" in capsys.readouterr().out
    assert plan.counts()["would run"] == 1
    result = ip.run_line_magic("mlops", f"pipeline run {path}")
    assert result.ok and result.counts["ran"] == 1
    out = capsys.readouterr().out
    assert "a" in out and "ran" in out and "pipeline mg: 1 ran" in out
    again = ip.run_line_magic("mlops", f"pipeline run {path} --quiet")
    assert again.counts["cached"] == 1

    # a pipeline run reproduces unit by unit
    ip.run_line_magic("mlops", f"reproduce {result.parent_run_id}")
    out = capsys.readouterr().out
    assert f"REPRODUCED: pipeline run {result.parent_run_id} (mg), 1 of 1 unit run(s)" in out


def test_magic_errors_are_one_usage_error(ip, store) -> None:  # type: ignore[no-untyped-def]
    path = write_pipeline(
        store.root / "pipeline.yaml", "name: mg\nsteps:\n  a: {notebook: nope.ipynb}\n"
    )
    with pytest.raises(UsageError, match=r"nope\.ipynb' does not exist") as info:
        ip.run_line_magic("mlops", f"pipeline run {path}")
    assert type(info.value) is UsageError
    with pytest.raises(UsageError, match="unknown action 'go'"):
        ip.run_line_magic("mlops", f"pipeline go {path}")
