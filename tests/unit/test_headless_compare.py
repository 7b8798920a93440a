"""Reproduce's comparison: tolerances, missing metrics, the printed table, progress lines."""

from __future__ import annotations

import math
from pathlib import Path

from jupyter_mlops.headless.execution import CellFailure, HeadlessResult
from jupyter_mlops.headless.progress import Progress, cell_summary
from jupyter_mlops.headless.reproduce import (
    EnvDifference,
    ReproduceReport,
    close_enough,
    compare_metrics,
)


def _result(status: str = "FINISHED") -> HeadlessResult:
    nb = Path("/p/train.ipynb")
    return HeadlessResult("new1", "1", status, nb, Path("/p/out.ipynb"), {}, 1.0)


def test_close_enough_uses_rtol_and_atol() -> None:
    assert close_enough(1.0, 1.0, 0.0, 0.0)
    assert close_enough(100.0, 100.0001, 1e-6, 0.0) is False
    assert close_enough(100.0, 100.00009, 1e-6, 0.0)
    assert close_enough(0.0, 1e-9, 0.0, 1e-8) and not close_enough(0.0, 1e-7, 0.0, 1e-8)
    assert close_enough(math.nan, math.nan, 0, 0) and not close_enough(math.nan, 1.0, 1, 1)
    assert close_enough(math.inf, math.inf, 0, 0) and not close_enough(math.inf, 1e308, 1, 1)


def test_compare_metrics_flags_differences_and_missing_keys() -> None:
    checks = compare_metrics(
        {"acc": 0.9, "loss": 0.3, "gone": 1.0}, {"acc": 0.9, "loss": 0.31, "new": 2.0}, 1e-7, 0.0
    )
    by_key = {c.key: c for c in checks}
    assert [c.key for c in checks] == ["acc", "gone", "loss", "new"]
    assert by_key["acc"].ok and by_key["acc"].difference == 0.0
    assert not by_key["loss"].ok and abs(by_key["loss"].difference - 0.01) < 1e-12
    assert not by_key["gone"].ok and by_key["gone"].reproduced is None
    assert not by_key["new"].ok and by_key["new"].difference is None


def test_report_table_lists_every_metric_and_environment_change() -> None:
    checks = compare_metrics({"acc": 0.9, "loss": 0.3}, {"acc": 0.9, "loss": 0.4}, 1e-7, 0.0)
    env = [EnvDifference("pandas", "2.2.0", "3.1.1")]
    report = ReproduceReport("orig", _result(), checks, env, 1e-7, 0.0)
    lines = report.table().splitlines()
    assert lines[0].split() == ["metric", "original", "reproduced", "difference", "match"]
    assert lines[1].split() == ["acc", "0.9", "0.9", "0", "yes"]
    assert lines[2].split()[0] == "loss" and lines[2].split()[-1] == "NO"
    assert "pandas: 2.2.0 -> 3.1.1" in report.table()
    assert not report.ok and lines[-1].startswith("NOT REPRODUCED")


def test_report_passes_only_when_the_notebook_finished() -> None:
    checks = compare_metrics({"acc": 1.0}, {"acc": 1.0}, 0, 0)
    assert ReproduceReport("o", _result(), checks).ok
    assert not ReproduceReport("o", _result("FAILED"), checks).ok


def test_failure_paragraph_names_cell_exception_and_output() -> None:
    failure = CellFailure(3, 2, "ValueError", "bad value\nmore")
    text = failure.paragraph("train.ipynb", "/o/train.ipynb", "r1")
    assert "cell 3 (In [2])" in text and "ValueError: bad value" in text
    assert "/o/train.ipynb" in text and "more" not in text


def test_progress_lines() -> None:
    assert cell_summary("\n\n  model.fit(X, y)  \nmore") == "model.fit(X, y)"
    assert len(cell_summary("x" * 100, 20)) == 20
    event = Progress("cell", 2, 5, 3, "fit()", 1.25)
    assert event.describe() == "2/5 cells, 1.2 s, running [3] fit()"
    assert Progress("starting", 0, 5).describe().endswith("starting kernel")
