"""A reference's rules (one per column), inferred from data and saved as JSON.

The rules are plain, editable values (dtype, allowed null share, range, seen
categories, uniqueness); :mod:`.checks` turns them into a pandera schema.
Bounds are those of the whole reference widened by a margin, categories every
value seen, and the null share is tested with a sampling tolerance: so a clean
random sample of the reference never raises an anomaly.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

from ...errors import InvalidInput
from ...json_values import json_scalar

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["ColumnRule", "DataSchema", "infer_rules"]

#: text, boolean or small-integer columns with at most this many values are categories
MAX_CATEGORIES = 50
#: an integer column is a category only when each value is seen this often on average
_MIN_PER_CATEGORY = 10


@dataclass
class ColumnRule:
    """What the reference allows in one column.

    Attributes
    ----------
    name, dtype : str
        Column name and pandas dtype text (``int64``, ``str``, ``category``...).
    null_share : float
        Share of nulls seen in the reference (0: no nulls allowed).
    min, max : number, str or None
        Allowed range (margin included); datetimes and durations as ISO text.
    categories : list or None
        Every value allowed (low-cardinality columns only).
    unique : bool
        True for a key: no value may repeat.
    """

    name: str
    dtype: str
    null_share: float = 0.0
    min: Any = None
    max: Any = None
    categories: list[Any] | None = None
    unique: bool = False


@dataclass
class DataSchema:
    """The rules new data is validated against; edit them, then ``mlops.data.save_schema``.

    Examples
    --------
    >>> schema = mlops.data.infer_schema("train@v3")        # doctest: +SKIP
    >>> schema.edit("age", min=0, max=130)             # doctest: +SKIP
    >>> mlops.data.save_schema(schema)                      # doctest: +SKIP
    """

    columns: list[ColumnRule]
    source: str | None = None
    rows: int = 0
    margin: float = 0.0
    strict: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def column(self, name: str) -> ColumnRule:
        """The rule of column ``name``; :class:`InvalidInput` listing the columns otherwise."""
        for rule in self.columns:
            if rule.name == name:
                return rule
        known = ", ".join(r.name for r in self.columns)
        raise InvalidInput(f"the schema has no column {name!r}; columns: {known}")

    def edit(self, name: str, **changes: Any) -> ColumnRule:
        """Change fields of one column's rule, e.g. ``edit("age", max=130, unique=False)``."""
        rule = self.column(name)
        allowed = {f.name for f in fields(ColumnRule)} - {"name"}
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise InvalidInput(
                f"cannot edit {', '.join(unknown)}; editable: {', '.join(sorted(allowed))}"
            )
        for key, value in changes.items():
            setattr(rule, key, value)
        return rule

    def drop(self, name: str) -> None:
        """Stop checking column ``name`` (it may then be absent or anything)."""
        self.columns.remove(self.column(name))

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (what is saved beside the snapshot version)."""
        out = asdict(self)
        out["format"] = "mlops-schema-1"
        return out

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> DataSchema:
        """Inverse of :meth:`to_dict`."""
        try:
            columns = [ColumnRule(**c) for c in doc["columns"]]
            return cls(
                columns=columns,
                source=doc.get("source"),
                rows=int(doc.get("rows", 0)),
                margin=float(doc.get("margin", 0.0)),
                strict=bool(doc.get("strict", True)),
                extra=dict(doc.get("extra", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"not a saved schema ({type(exc).__name__}: {exc})") from None

    def to_frame(self) -> pd.DataFrame:
        """One row per column rule."""
        import pandas as pd

        return pd.DataFrame([asdict(r) for r in self.columns])

    def __str__(self) -> str:
        head = f"schema of {self.source or 'a frame'}: {len(self.columns)} columns"
        return f"{head}, {self.rows:,} rows, margin {self.margin:g}\n{self.to_frame().to_string()}"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), indent=1, default=str)


def infer_rules(
    frame: pd.DataFrame,
    *,
    margin: float = 0.0,
    max_categories: int = MAX_CATEGORIES,
    source: str | None = None,
) -> DataSchema:
    """Infer one :class:`ColumnRule` per column of ``frame``."""
    if not (isinstance(margin, (int, float)) and math.isfinite(margin) and margin >= 0):
        raise InvalidInput(f"margin must be a share of the range >= 0 (e.g. 0.1), got {margin!r}")
    if max_categories < 0:
        raise InvalidInput(f"max_categories must be >= 0, got {max_categories!r}")
    rows = len(frame)
    rules = [_rule(str(name), frame[name], margin, max_categories, rows) for name in frame.columns]
    return DataSchema(rules, source=source, rows=rows, margin=float(margin))


def _rule(name: str, col: pd.Series, margin: float, max_categories: int, rows: int) -> ColumnRule:
    import pandas as pd

    kind = _kind(col)
    dtype = "category" if isinstance(col.dtype, pd.CategoricalDtype) else str(col.dtype)
    values = col.dropna()
    rule = ColumnRule(name, dtype, null_share=float(col.isna().mean()) if rows else 0.0)
    if kind in ("integer", "number", "time") and len(values):
        rule.min, rule.max = _bounds(values, margin, kind)
    distinct = values.nunique()
    categorical = kind in ("text", "bool") or (
        kind == "integer" and distinct * _MIN_PER_CATEGORY <= rows
    )
    if categorical and 0 < distinct <= max_categories:
        rule.categories = sorted((json_scalar(v) for v in values.unique()), key=_order)
    if kind in ("integer", "text", "time") and rows > 1 and distinct == len(values) == rows:
        rule.unique = True
    return rule


def _kind(col: pd.Series) -> str:
    import pandas.api.types as ptypes

    dtype = col.dtype
    if ptypes.is_bool_dtype(dtype):
        return "bool"
    if ptypes.is_integer_dtype(dtype):
        return "integer"
    if ptypes.is_numeric_dtype(dtype):
        return "number"
    if ptypes.is_datetime64_any_dtype(dtype) or ptypes.is_timedelta64_dtype(dtype):
        return "time"
    return "text"


def _bounds(values: pd.Series, margin: float, kind: str) -> tuple[Any, Any]:
    lo, hi = values.min(), values.max()
    pad = (hi - lo) * margin
    if kind == "time":
        return (lo - pad).isoformat(), (hi + pad).isoformat()
    lo, hi = float(lo) - float(pad), float(hi) + float(pad)
    return _whole(json_scalar(lo)), _whole(json_scalar(hi))


def _order(value: Any) -> tuple[str, Any]:
    return (type(value).__name__, value)


def _whole(value: Any) -> Any:
    """A bound that is a whole number reads as one (``3`` rather than ``3.0``)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value
