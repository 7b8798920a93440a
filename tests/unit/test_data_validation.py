"""Validation against a snapshot: each anomaly kind on real frames, no false alarms, schemas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_mlops.data.api import snapshot
from jupyter_mlops.data.validation.api import infer_schema, save_schema, validate
from jupyter_mlops.data.validation.rules import DataSchema
from jupyter_mlops.errors import InvalidInput, NotFound


def _reference(n: int = 5000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(n, dtype="int64"),
            "age": rng.integers(18, 90, n),
            "score": rng.normal(size=n),
            "segment": pd.Categorical(rng.choice(["a", "b", "c"], n)),
            "city": pd.Series(rng.choice(["oslo", "rome", "lima"], n), dtype="str"),
            "when": pd.date_range("2024-01-01", periods=n, freq="min", tz="UTC"),
            "flag": rng.random(n) < 0.3,
            "income": np.where(rng.random(n) < 0.05, np.nan, rng.normal(50, 5, n)),
        }
    )


@pytest.fixture
def uri(tmp_path, monkeypatch) -> str:
    monkeypatch.delenv("MLOPS_PINNED_SNAPSHOTS", raising=False)
    path = str(tmp_path / "data")
    snapshot(_reference(), "train", store=path)
    return path


def _kinds(report) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return list(zip(report.anomalies["column"], report.anomalies["kind"], strict=True))


def _sample(n: int = 400, seed: int = 1) -> pd.DataFrame:
    return _reference().sample(n, random_state=seed).reset_index(drop=True)


def test_twenty_random_samples_of_the_reference_raise_no_anomaly(uri: str) -> None:
    reference = _reference()
    for seed in range(20):
        size = [30, 200, 1000, 4999][seed % 4]
        report = validate(
            reference.sample(size, random_state=seed), against="train@v1", store=uri, log=False
        )
        assert report.passed, str(report)
        assert report.anomalies.empty and report.rows == size


def _edited(change) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    frame = _sample()
    change(frame)
    return frame


@pytest.mark.parametrize(
    ("change", "column", "kind", "count"),
    [
        (lambda f: f.drop(columns="flag", inplace=True), "flag", "missing_column", None),
        (lambda f: f.insert(0, "extra", 1), "extra", "new_column", None),
        (lambda f: f.__setitem__("age", f["age"].astype("float64")), "age", "dtype_changed", None),
        (
            lambda f: f.loc.__setitem__((f.index[:200], "income"), np.nan),
            "income",
            "null_share",
            None,
        ),
        (
            lambda f: f.loc.__setitem__((f.index[:3], "age"), np.nan) or None,
            "age",
            "dtype_changed",
            None,
        ),
        (lambda f: f.loc.__setitem__((f.index[:3], "score"), 40.0), "score", "out_of_range", 3),
        (lambda f: f.loc.__setitem__((f.index[:2], "city"), "paris"), "city", "unseen_category", 2),
        (lambda f: f.loc.__setitem__((f.index[:5], "id"), 7), "id", "duplicates", 5),
    ],
    ids=["missing", "new", "dtype", "nulls", "nulls-make-float", "range", "category", "key"],
)
def test_each_anomaly_kind_is_reported_alone(uri, change, column, kind, count) -> None:  # type: ignore[no-untyped-def]
    report = validate(_edited(change), against="train", store=uri, log=False)
    assert not report.passed
    assert _kinds(report) == [(column, kind)], str(report)
    row = report.anomalies.iloc[0]
    if count is not None:
        assert row["count"] == count and row["share"] == pytest.approx(count / report.rows)
    assert column in report.to_html() and kind in report.to_html()
    assert report.to_dict()["anomalies"][0]["kind"] == kind


def test_nulls_in_a_column_that_had_none_and_a_new_category_value(uri: str) -> None:
    frame = _sample()
    frame["city"] = frame["city"].where(frame.index >= 4, None)
    frame["segment"] = frame["segment"].cat.add_categories("z")
    frame.loc[frame.index[:6], "segment"] = "z"
    report = validate(frame, against="train@v1", store=uri, log=False)
    assert _kinds(report) == [("city", "null_share"), ("segment", "unseen_category")]
    assert report.anomalies.iloc[0]["count"] == 4
    assert "'z'" in report.anomalies.iloc[1]["detail"]


def test_margin_widens_the_reference_range(uri: str) -> None:
    reference = _reference()
    top = reference["score"].max()
    span = top - reference["score"].min()
    frame = _sample()
    frame.loc[frame.index[0], "score"] = top + 0.05 * span
    assert validate(frame, against="train", margin=0.0, store=uri, log=False).anomalies[
        "kind"
    ].tolist() == ["out_of_range"]
    assert validate(frame, against="train", margin=0.1, store=uri, log=False).passed


def test_saved_schema_is_used_and_can_be_edited(uri: str) -> None:
    schema = infer_schema("train@v1", store=uri)
    assert schema.source == "train@v1" and schema.rows == 5000
    assert schema.column("id").unique and schema.column("city").categories == [
        "lima",
        "oslo",
        "rome",
    ]
    schema.edit("age", max=60)
    schema.drop("flag")
    assert save_schema(schema, store=uri) == "train@v1"
    frame = _sample().drop(columns="flag")
    report = validate(frame, against="train@v1", store=uri, log=False)
    assert _kinds(report) == [("age", "out_of_range")]
    again = validate(frame, against=DataSchema.from_dict(schema.to_dict()), store=uri, log=False)
    assert _kinds(again) == [("age", "out_of_range")]


def test_a_pandera_schema_can_be_the_reference(uri: str) -> None:
    import pandera.pandas as pa

    checker = pa.DataFrameSchema({"age": pa.Column(int, pa.Check.le(50))}, name="adults")
    report = validate(_sample()[["age"]], against=checker, log=False)
    assert _kinds(report) == [("age", "out_of_range")] and report.against == "adults"


def test_snapshot_refs_on_both_sides(uri: str) -> None:
    snapshot(_sample(), "batch", store=uri)
    report = validate("batch", against="train", store=uri, log=False)
    assert report.passed and report.data == "batch@v1" and report.against == "train@v1"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"against": "nope@v1"}, NotFound, "no snapshot named 'nope'"),
        ({"against": "train", "margin": -1}, InvalidInput, "margin must be"),
        ({"against": 3}, InvalidInput, "against must be a snapshot ref"),
    ],
)
def test_mistakes_are_one_line_errors(uri, kwargs, error, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=message) as info:
        validate(_sample(), store=uri, log=False, **kwargs)
    assert "\n" not in str(info.value)


def test_integer_column_names_match_their_snapshot(tmp_path) -> None:
    values = np.random.default_rng(4).normal(size=(300, 3))
    path = str(tmp_path / "n")
    snapshot(pd.DataFrame(values), "n", store=path)  # stored with the names "0", "1", "2"
    assert validate(pd.DataFrame(values[:80]), against="n", store=path, log=False).passed
    shifted = pd.DataFrame(values[:80]).assign(**{"2": 1e9}).drop(columns=2)
    report = validate(shifted, against="n", store=path, log=False)
    assert _kinds(report) == [("2", "out_of_range")]
