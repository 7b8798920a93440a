"""``--promote-when`` / ``--rollback-when``: checked at start, evaluated without running code."""

from __future__ import annotations

import pytest

from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.models.serving.rollout_rules import parse_rule

FIG = {
    "champion": {"accuracy": 0.80, "labels": 900.0, "p99_ms": 4.0},
    "challenger": {"accuracy": 0.85, "labels": 600.0, "p99_ms": 9.0, "error_rate": 0.0},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("challenger.labels >= 500 and challenger.accuracy >= champion.accuracy + 0.01", True),
        ("challenger.labels >= 700 and challenger.accuracy >= champion.accuracy + 0.01", False),
        ("challenger.error_rate > 0.02 or challenger.p99_ms > 2 * champion.p99_ms", True),
        ("not (challenger.p99_ms < 10)", False),
        ("0.5 < challenger.accuracy <= 0.9", True),
        ("challenger.f1_macro > 0.1", False),  # unknown yet: false, not an error
        ("challenger.accuracy / (champion.labels - 900) > 1", False),  # division by zero
    ],
)
def test_rules_evaluate_on_both_sides(text: str, expected: bool) -> None:
    assert parse_rule("--promote-when", text).holds(FIG) is expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("challenger.acuracy > 0.9", "unknown word 'acuracy' in challenger.acuracy; valid: "),
        ("chalenger.accuracy > 0.9", "unknown word 'chalenger'; valid: champion.labels"),
        ("__import__('os').system('true')", "uses call"),
        ("challenger.accuracy > 'x'", "only numbers are allowed"),
        ("challenger.accuracy >", "cannot parse --promote-when"),
        ("challenger.accuracy.real > 1", "write SIDE.FIGURE"),
        ("[1] == [1]", "uses list"),
    ],
)
def test_bad_rules_name_the_word_and_the_valid_ones(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_rule("--promote-when", text)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_describe_names_each_value_seen() -> None:
    rule = parse_rule("--promote-when", "challenger.accuracy > champion.accuracy")
    assert rule.describe(FIG) == (
        "challenger.accuracy > champion.accuracy (challenger.accuracy=0.85, champion.accuracy=0.8)"
    )
