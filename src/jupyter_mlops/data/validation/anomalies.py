"""pandera failure cases → one anomaly row per column and kind."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .checks import allowed_nulls

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .rules import DataSchema

__all__ = ["COLUMNS", "KINDS", "anomalies"]

COLUMNS = ["column", "kind", "detail", "count", "share"]
#: every kind of anomaly, in the order reports list them
KINDS = (
    "missing_column",
    "new_column",
    "dtype_changed",
    "null_share",
    "out_of_range",
    "unseen_category",
    "duplicates",
    "check_failed",
)
_BY_CHECK = {
    "in_range": "out_of_range",
    "greater_than_or_equal_to": "out_of_range",
    "less_than_or_equal_to": "out_of_range",
    "isin": "unseen_category",
    "null_share_at_most": "null_share",
    "not_nullable": "null_share",
    "field_uniqueness": "duplicates",
}
_EXAMPLES = 5


def anomalies(
    failures: pd.DataFrame | None, frame: pd.DataFrame, checker: Any, schema: DataSchema | None
) -> pd.DataFrame:
    """One row per (column, kind): column, kind, detail, count and share of rows."""
    import pandas as pd

    if failures is None or failures.empty:
        return pd.DataFrame(columns=COLUMNS)
    rows: list[dict[str, Any]] = []
    for check, group in failures.groupby("check", sort=False, dropna=False):
        text = str(check)
        if text in ("column_in_dataframe", "column_in_schema"):
            kind = "missing_column" if text == "column_in_dataframe" else "new_column"
            where = (
                "in the reference, absent here"
                if kind == "missing_column"
                else "not in the reference"
            )
            rows += [_row(str(c), kind, where) for c in group["failure_case"]]
            continue
        for column, cases in group.groupby("column", sort=False):
            rows.append(_column_row(str(column), text, cases, frame, checker, schema))
    dtype_changed = {r["column"] for r in rows if r["kind"] == "dtype_changed"}
    rows = [r for r in rows if r["kind"] == "dtype_changed" or r["column"] not in dtype_changed]
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["count"] = out["count"].astype("Int64")
    order = {k: i for i, k in enumerate(KINDS)}
    out["_o"] = out["kind"].map(order)
    return (
        out.sort_values(["_o", "column"], kind="stable").drop(columns="_o").reset_index(drop=True)
    )


def _row(
    column: str, kind: str, detail: str, count: int | None = None, rows: int = 0
) -> dict[str, Any]:
    share = round(count / rows, 6) if count is not None and rows else None
    return {"column": column, "kind": kind, "detail": detail, "count": count, "share": share}


def _column_row(
    column: str,
    check: str,
    cases: pd.DataFrame,
    frame: pd.DataFrame,
    checker: Any,
    schema: DataSchema | None,
) -> dict[str, Any]:
    rows = len(frame)
    if check.startswith("dtype("):
        expected = check[len("dtype(") : -1].strip("'\"")
        found = str(frame[column].dtype) if column in frame.columns else "?"
        return _row(column, "dtype_changed", f"{expected} in the reference, {found} here")
    name = _check_name(checker, column, check, cases)
    kind = _BY_CHECK.get(name, "check_failed")
    if kind == "null_share":
        return _nulls(column, frame, schema, rows)
    values = cases["failure_case"]
    count = len(values)
    examples = ", ".join(repr(_py(v)) for v in values.drop_duplicates().head(_EXAMPLES))
    if kind == "out_of_range":
        detail = f"{count} value(s) outside {_range(check)} (e.g. {examples})"
    elif kind == "unseen_category":
        distinct = values.nunique(dropna=False)
        detail = f"{distinct} value(s) never seen in the reference: {examples}"
    elif kind == "duplicates":
        detail = f"{count} rows repeat a value of a column that was unique (e.g. {examples})"
    else:
        detail = f"{check} failed on {count} row(s) (e.g. {examples})"
    return _row(column, kind, detail, count, rows)


def _check_name(checker: Any, column: str, check: str, cases: pd.DataFrame) -> str:
    """The pandera check's registered name (``in_range``, ``isin``...)."""
    number = cases["check_number"].iloc[0]
    if check in _BY_CHECK or number is None or number != number:
        return check
    try:
        return str(checker.columns[column].checks[int(number)].name)
    except (KeyError, IndexError, AttributeError, TypeError, ValueError):
        return check


def _nulls(
    column: str, frame: pd.DataFrame, schema: DataSchema | None, rows: int
) -> dict[str, Any]:
    nulls = int(frame[column].isna().sum())
    share = 0.0
    if schema is not None:
        share = next((r.null_share for r in schema.columns if r.name == column), 0.0)
    if share <= 0:
        detail = f"{nulls} null(s); the reference has none"
    else:
        allowed = allowed_nulls(rows, share)
        detail = (
            f"{nulls / rows:.1%} null; the reference has {share:.1%} "
            f"(at most {allowed} of {rows} rows expected)"
        )
    return _row(column, "null_share", detail, nulls, rows)


def _range(check: str) -> str:
    inner = check[check.find("(") + 1 : check.rfind(")")] if "(" in check else check
    return f"[{inner}]" if check.startswith("in_range") else check


def _py(value: Any) -> Any:
    return value.item() if hasattr(value, "item") and not isinstance(value, str) else value
