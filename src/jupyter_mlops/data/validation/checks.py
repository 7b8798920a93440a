"""Rules as a pandera schema, and pandera's failure cases as anomalies.

pandera does the checking (dtype, nullability, uniqueness, ``in_range``,
``isin``, strict columns); one check is ours, registered with pandera:
``null_share_at_most``, which allows the reference's null share plus the
sampling error of a sample the size of the data being validated.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from .rules import ColumnRule, DataSchema

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import pandera.pandas as pa

__all__ = ["allowed_nulls", "to_pandera"]

#: chance of a false alarm on the null share of a clean random sample
_NULL_ALPHA = 1e-9
_registered = False


def allowed_nulls(rows: int, share: float) -> int:
    """Most nulls a clean random sample of ``rows`` rows shows when the reference has ``share``."""
    if share <= 0:
        return 0
    if share >= 1:
        return rows
    from scipy.stats import binom

    return int(binom.ppf(1 - _NULL_ALPHA, rows, share))


def _register() -> None:
    global _registered
    if _registered:
        return
    from pandera import extensions

    @extensions.register_check_method(statistics=["share"], check_type="vectorized")
    def null_share_at_most(pandas_obj: Any, *, share: float) -> bool:
        nulls = int(pandas_obj.isna().sum())
        return nulls <= allowed_nulls(len(pandas_obj), share)

    _registered = True


def _pandera() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pandera.pandas as pa
    _register()
    return pa


def to_pandera(schema: DataSchema) -> pa.DataFrameSchema:
    """The pandera ``DataFrameSchema`` checking ``schema``'s rules."""
    pa = _pandera()
    columns = {rule.name: _column(pa, rule) for rule in schema.columns}
    return pa.DataFrameSchema(columns, strict=schema.strict, name=schema.source)


def _column(pa: Any, rule: ColumnRule) -> Any:
    checks = []
    if rule.min is not None or rule.max is not None:
        lo, hi = _bound(rule, rule.min), _bound(rule, rule.max)
        if lo is not None and hi is not None:
            checks.append(pa.Check.in_range(lo, hi))
        elif lo is not None:
            checks.append(pa.Check.ge(lo))
        else:
            checks.append(pa.Check.le(hi))
    if rule.categories is not None:
        checks.append(pa.Check.isin(list(rule.categories)))
    if rule.null_share > 0:
        checks.append(pa.Check.null_share_at_most(share=rule.null_share, ignore_na=False))
    return pa.Column(
        _dtype(rule.dtype),
        checks=checks,
        nullable=rule.null_share > 0,
        unique=rule.unique,
        required=True,
        name=rule.name,
    )


def _dtype(text: str) -> Any:
    """A dtype pandera understands; ``category`` stays generic (categories are a check)."""
    import pandas as pd

    if text == "category":
        return "category"
    try:
        return pd.api.types.pandas_dtype(text)
    except TypeError:
        return text


def _bound(rule: ColumnRule, value: Any) -> Any:
    import pandas as pd

    if value is None or not isinstance(value, str):
        return value
    if rule.dtype.startswith("timedelta"):
        return pd.Timedelta(value)
    return pd.Timestamp(value)


def validate_frame(frame: pd.DataFrame, checker: pa.DataFrameSchema) -> pd.DataFrame | None:
    """pandera's failure cases of ``frame`` (None when every check passed)."""
    pa = _pandera()
    try:
        checker.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        return exc.failure_cases
    return None
