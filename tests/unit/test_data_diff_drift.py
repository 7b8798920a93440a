"""Diff and drift: counts users act on, and test statistics equal to scipy's."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from jupyter_mlops.data.drift_report import compute_drift, psi
from jupyter_mlops.data.snapshot_diff import compare
from jupyter_mlops.errors import InvalidInput


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(11)
    n = 3000
    ref = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "income": rng.lognormal(10, 1, n),
            "city": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
            "plan": pd.Categorical(rng.choice(["free", "pro"], n)),
            "when": pd.date_range("2024-01-01", periods=n, freq="min"),
        }
    )
    cur = pd.DataFrame(
        {
            "age": rng.normal(45, 10, 2000),  # shifted
            "income": rng.lognormal(10, 1, 2000),  # same distribution
            "city": rng.choice(["a", "b", "c", "d"], 2000, p=[0.2, 0.3, 0.3, 0.2]),  # shifted
            "plan": pd.Categorical(rng.choice(["free", "pro"], 2000)),
            "when": pd.date_range("2024-01-01", periods=2000, freq="min"),
        }
    )
    return ref, cur


def test_ks_and_chi_square_equal_scipy() -> None:
    ref, cur = _frames()
    report = compute_drift(ref, cur, threshold=0.01)
    table = report.table.set_index("column")
    for col in ("age", "income"):
        expected = stats.ks_2samp(ref[col].to_numpy(), cur[col].to_numpy())
        assert table.loc[col, "test"] == "ks"
        assert table.loc[col, "statistic"] == expected.statistic
        assert table.loc[col, "p_value"] == expected.pvalue
    cats = sorted(set(ref["city"]) | set(cur["city"]))
    observed = [
        [int((ref["city"] == c).sum()) for c in cats],
        [int((cur["city"] == c).sum()) for c in cats],
    ]
    expected = stats.chi2_contingency(observed)
    assert table.loc["city", "test"] == "chi2"
    assert table.loc["city", "statistic"] == pytest.approx(expected.statistic, rel=1e-12)
    assert table.loc["city", "p_value"] == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
    assert {"age", "city"} <= set(report.drifted_columns)
    assert "income" not in report.drifted_columns and "plan" not in report.drifted_columns
    assert report.share_drifted == len(report.drifted_columns) / 5
    assert list(report.table.columns) == [
        "column",
        "kind",
        "test",
        "statistic",
        "p_value",
        "psi",
        "drifted",
    ]


def test_psi_matches_its_definition_and_flags_shift() -> None:
    e, a = np.array([50.0, 30, 20]), np.array([20.0, 30, 50])
    pe, pa_ = e / e.sum(), a / a.sum()
    assert psi(e, a) == pytest.approx(float(np.sum((pa_ - pe) * np.log(pa_ / pe))))
    ref, cur = _frames()
    table = compute_drift(ref, cur).table.set_index("column")
    assert table.loc["age", "psi"] > 0.1 > table.loc["income", "psi"]


def test_report_renders_and_serialises() -> None:
    ref, cur = _frames()
    ref["user"] = [f"u{i}" for i in range(len(ref))]
    report = compute_drift(ref, cur.drop(columns=["plan"]).assign(extra=1, user="u1"))
    data = json.loads(json.dumps(report.to_dict()))
    assert data["skipped"] == {
        "plan": "only in reference",
        "extra": "only in current",
        "user": "3000 distinct values: an identifier, not a category",
    }
    assert {row["column"] for row in data["columns"]} == {"age", "income", "city", "when"}
    html = report.to_html()
    assert "<table" in html and "age" in html
    assert "data:image/png;base64" in html  # matplotlib is installed in the test env
    assert "drift:" in str(report)


def test_drift_rejects_bad_threshold_and_columns() -> None:
    ref, cur = _frames()
    with pytest.raises(InvalidInput, match="between 0 and 1"):
        compute_drift(ref, cur, threshold=5)
    with pytest.raises(InvalidInput, match="not in both frames"):
        compute_drift(ref, cur, columns=["nope"])


def test_diff_by_key_counts_added_removed_changed_and_schema() -> None:
    a = pd.DataFrame({"id": [1, 2, 3, 4], "x": [1.0, 2.0, np.nan, 4.0], "y": ["a", "b", "c", "d"]})
    b = pd.DataFrame(
        {"id": [2, 3, 4, 5, 6], "x": [2.0, np.nan, 40.0, 5.0, 6.0], "y": [1, 2, 3, 4, 5]}
    )
    b["z"] = True
    report = compare(a, b, key="id")
    assert (report.rows_a, report.rows_b) == (4, 5)
    assert (report.rows_added, report.rows_removed, report.rows_changed) == (2, 1, 1)
    assert report.changed_cells == {"x": 1}
    assert report.added_columns == ["z"] and report.removed_columns == []
    assert report.retyped_columns == {"y": ("str", "int64")}
    assert report.stats.loc["x", "max_b"] == 40.0 and report.stats.loc["x", "nulls_a"] == 1
    assert report.examples["changed"]["id"].tolist() == [4]
    assert json.loads(json.dumps(report.to_dict()))["rows"]["changed"] == 1
    assert not report.identical and compare(a, a.copy(), key="id").identical


def test_diff_by_content_counts_multisets() -> None:
    a = pd.DataFrame({"x": [1, 1, 2, 3]})
    b = pd.DataFrame({"x": [1, 2, 2, 4, 5]})
    report = compare(a, b)
    assert (report.rows_added, report.rows_removed) == (3, 2)


def test_diff_key_errors_are_clear() -> None:
    a = pd.DataFrame({"id": [1, 1], "x": [1, 2]})
    with pytest.raises(InvalidInput, match="not unique in the first table"):
        compare(a, a, key="id")
    with pytest.raises(InvalidInput, match=r"key column.*nope"):
        compare(a, a, key="nope")
