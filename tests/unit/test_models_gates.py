"""Gate expressions and references: parsing, evaluation, the messages people see."""

from __future__ import annotations

import json

import pytest

from jupyter_mlops.errors import InvalidInput, NotFound
from jupyter_mlops.models.gates import (
    Beat,
    GateReport,
    Threshold,
    evaluate,
    parse_beat,
    parse_requirement,
)
from jupyter_mlops.models.refs import ModelRef, check_alias, parse_ref


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("accuracy>=0.9", Threshold("accuracy", ">=", 0.9)),
        ("  f1 > 0.8 ", Threshold("f1", ">", 0.8)),
        ("loss<=1e-3", Threshold("loss", "<=", 0.001)),
        ("val.auc == 1", Threshold("val.auc", "==", 1.0)),
        ("rmse != 0", Threshold("rmse", "!=", 0.0)),
        ("x<-2", Threshold("x", "<", -2.0)),
    ],
)
def test_requirement_parses(text: str, expected: Threshold) -> None:
    assert parse_requirement(text) == expected


@pytest.mark.parametrize("text", ["acc >> 3", "acc => 3", "acc >=", ">= 0.9", "acc", "", "acc ~ 1"])
def test_malformed_requirement_names_the_form(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_requirement(text)
    message = str(info.value)
    assert "\n" not in message
    assert "METRIC OP VALUE" in message


def test_non_numeric_value_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not a number"):
        parse_requirement("acc >= high")


@pytest.mark.parametrize(
    ("value", "op", "bar", "passes"),
    [
        (0.9, ">=", 0.9, True),
        (0.89, ">=", 0.9, False),
        (0.9, ">", 0.9, False),
        (0.2, "<", 0.3, True),
        (0.3, "<=", 0.3, True),
        (1.0, "==", 1.0, True),
        (1.0, "!=", 1.0, False),
    ],
)
def test_threshold_matrix(value: float, op: str, bar: float, passes: bool) -> None:
    (check,) = evaluate({"m": value}, [Threshold("m", op, bar)])
    assert check.passed is passes
    assert check.value == value
    assert check.threshold == bar


@pytest.mark.parametrize(
    ("mine", "theirs", "lower", "passes"),
    [
        (0.95, 0.90, False, True),
        (0.90, 0.95, False, False),
        (0.90, 0.90, False, False),  # a tie does not beat
        (0.10, 0.20, True, True),
        (0.30, 0.20, True, False),
    ],
)
def test_beat_matrix(mine: float, theirs: float, lower: bool, passes: bool) -> None:
    beat = Beat("production", "m", lower)
    (check,) = evaluate({"m": mine}, [], beat, ("2", {"m": theirs}))
    assert check.passed is passes
    assert check.threshold == theirs
    assert "version 2" in check.note


def test_beat_passes_when_nobody_holds_the_alias() -> None:
    (check,) = evaluate({"m": 0.1}, [], Beat("production", "m"), None)
    assert check.passed
    assert "no version holds" in check.note


def test_missing_metric_is_an_error_listing_logged_metrics() -> None:
    with pytest.raises(NotFound, match=r"'f1' was not logged.*accuracy"):
        evaluate({"accuracy": 0.9}, [Threshold("f1", ">=", 0.8)])
    with pytest.raises(NotFound, match="version 4"):
        evaluate({"m": 1.0}, [], Beat("prod", "m"), ("4", {"other": 1.0}))


def test_beat_and_on_go_together() -> None:
    assert parse_beat(None, None) is None
    assert parse_beat("production", "acc", True) == Beat("production", "acc", True)
    with pytest.raises(InvalidInput, match="--beat and --on go together"):
        parse_beat("production", None)
    with pytest.raises(InvalidInput, match="--beat and --on go together"):
        parse_beat(None, "acc")
    with pytest.raises(InvalidInput, match="--lower-is-better"):
        parse_beat(None, None, True)


def test_report_table_and_json() -> None:
    checks = evaluate(
        {"acc": 0.8, "f1": 0.9}, [parse_requirement("acc>=0.9"), parse_requirement("f1>=0.8")]
    )
    report = GateReport("churn", "3", checks)
    assert not report.passed
    assert [c.check for c in report.failures] == ["acc >= 0.9"]
    table = report.table()
    assert "1 gate(s) failed" in table
    assert "FAIL" in table and "pass" in table
    data = json.loads(json.dumps(report.to_dict()))
    assert data["passed"] is False
    assert data["checks"][0] == {
        "check": "acc >= 0.9", "value": 0.8, "threshold": 0.9, "passed": False, "note": ""
    }  # fmt: skip
    assert report.failure_text() == "acc >= 0.9 (got 0.8 vs 0.9)"


def test_empty_report_passes() -> None:
    assert GateReport("m", "1").passed


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("churn@production", ModelRef("churn", alias="production")),
        ("churn/3", ModelRef("churn", version="3")),
        ("churn", ModelRef("churn")),
        ("models:/churn/03", ModelRef("churn", version="3")),
        ("models:/churn@candidate", ModelRef("churn", alias="candidate")),
    ],
)
def test_refs_parse(text: str, ref: ModelRef) -> None:
    assert parse_ref(text) == ref
    assert parse_ref(str(ref)) == ref


@pytest.mark.parametrize("text", ["", "churn/", "churn/x", "churn/0", "a/b/3", "@prod", "churn@"])
def test_bad_refs_show_the_forms(text: str) -> None:
    with pytest.raises(InvalidInput, match="NAME@ALIAS"):
        parse_ref(text)


@pytest.mark.parametrize("alias", ["latest", "v3", "V12", "has space", "-dash", ""])
def test_reserved_or_malformed_aliases_are_refused(alias: str) -> None:
    with pytest.raises(InvalidInput, match="bad alias"):
        check_alias(alias)
