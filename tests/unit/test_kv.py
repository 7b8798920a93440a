"""key=value parsing of magic lines."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

from jupyter_mlops.magics._kv import parse_pairs


def test_typed_values_become_numbers_only_when_numeric() -> None:
    got = parse_pairs(["lr=0.01", "n=3", "model=rf", "note=a=b", "inf=inf"], "f", typed=True)
    assert got == {"lr": 0.01, "n": 3, "model": "rf", "note": "a=b", "inf": float("inf")}
    assert isinstance(got["n"], int)


def test_untyped_values_stay_text() -> None:
    assert parse_pairs(["depth=8"], "f", typed=False) == {"depth": "8"}


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["lr"], r"^expected key=value, got 'lr'; the form is FORM$"),
        (["=3"], r"^expected key=value, got '=3'; the form is FORM$"),
        (["a=1", "a=2"], r"^'a' is given twice"),
        ([], r"^nothing to log; the form is FORM$"),
    ],
)
def test_malformed_words_raise_one_line_usage_error(words: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message) as info:
        parse_pairs(words, "FORM", typed=True)
    assert type(info.value) is UsageError
    assert "\n" not in str(info.value)
