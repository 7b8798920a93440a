"""Comparing two versions of a table: schema, rows and column statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from ..json_values import json_scalar

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["DiffReport", "compare"]

_EXAMPLES = 10


@dataclass
class DiffReport:
    """Result of :func:`jupyter_mlops.diff` (``a`` is the old side, ``b`` the new).

    Attributes
    ----------
    added_columns, removed_columns : list of str
    retyped_columns : dict
        column -> (old dtype, new dtype).
    rows_a, rows_b : int
    rows_added, rows_removed, rows_changed : int
        By key when one was given, else by row content (``rows_changed`` is then 0).
    changed_cells : dict
        column -> number of changed values among matched rows (by key only).
    stats : pandas.DataFrame
        Per column count, nulls, mean, std, min, max and unique, ``_a`` and ``_b``.
    examples : dict
        Up to 10 added, removed and changed rows, as DataFrames.
    """

    key: list[str] | None
    added_columns: list[str]
    removed_columns: list[str]
    retyped_columns: dict[str, tuple[str, str]]
    rows_a: int
    rows_b: int
    rows_added: int
    rows_removed: int
    rows_changed: int
    changed_cells: dict[str, int]
    stats: pd.DataFrame
    examples: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def identical(self) -> bool:
        """True when nothing differs."""
        return not (
            self.added_columns
            or self.removed_columns
            or self.retyped_columns
            or self.rows_added
            or self.rows_removed
            or self.rows_changed
            or self.rows_a != self.rows_b
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON summary (statistics included, examples left out)."""
        stats = self.stats.astype(object).where(self.stats.notna(), None)
        return {
            "key": self.key,
            "schema": {
                "added": self.added_columns,
                "removed": self.removed_columns,
                "retyped": {k: list(v) for k, v in self.retyped_columns.items()},
            },
            "rows": {
                "a": self.rows_a,
                "b": self.rows_b,
                "added": self.rows_added,
                "removed": self.rows_removed,
                "changed": self.rows_changed,
            },
            "changed_cells": self.changed_cells,
            "stats": {
                str(k): {c: json_scalar(v) for c, v in row.items()} for k, row in stats.iterrows()
            },
        }

    def __str__(self) -> str:
        by = f"by key {', '.join(self.key)}" if self.key else "by row content"
        lines = [
            f"rows: {self.rows_a:,} -> {self.rows_b:,}  (+{self.rows_added:,} added, "
            f"-{self.rows_removed:,} removed, ~{self.rows_changed:,} changed, {by})",
            f"columns added: {', '.join(self.added_columns) or '-'}",
            f"columns removed: {', '.join(self.removed_columns) or '-'}",
            "columns retyped: "
            + (", ".join(f"{k} {a}->{b}" for k, (a, b) in self.retyped_columns.items()) or "-"),
        ]
        if self.changed_cells:
            cells = ", ".join(f"{k}: {v:,}" for k, v in self.changed_cells.items() if v)
            lines.append(f"changed values: {cells or '-'}")
        return "\n".join(lines) + "\n\n" + self.stats.to_string()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def compare(a: pd.DataFrame, b: pd.DataFrame, *, key: str | list[str] | None = None) -> DiffReport:
    """Compare ``a`` (old) with ``b`` (new); see :class:`DiffReport`."""
    keys = [key] if isinstance(key, str) else list(key) if key else None
    if keys:
        a, b = _with_key_columns(a, keys, "first"), _with_key_columns(b, keys, "second")
    cols_a = {str(c): str(a[c].dtype) for c in a.columns}
    cols_b = {str(c): str(b[c].dtype) for c in b.columns}
    retyped = {c: (cols_a[c], cols_b[c]) for c in cols_a if c in cols_b and cols_a[c] != cols_b[c]}
    same = [c for c in a.columns if str(c) in cols_b and str(c) not in retyped]
    if keys:
        rows = _rows_by_key(a, b, keys, [c for c in same if c not in keys])
    else:
        rows = _rows_by_content(a, b, same)
    return DiffReport(
        key=keys,
        added_columns=[c for c in cols_b if c not in cols_a],
        removed_columns=[c for c in cols_a if c not in cols_b],
        retyped_columns=retyped,
        rows_a=len(a),
        rows_b=len(b),
        stats=_stats(a, b),
        **rows,
    )


def _with_key_columns(frame: pd.DataFrame, keys: list[str], side: str) -> pd.DataFrame:
    missing = [k for k in keys if k not in frame.columns]
    if missing and all(k in (frame.index.names or []) for k in missing):
        frame = frame.reset_index()
        missing = []
    if missing:
        raise InvalidInput(
            f"key column(s) {', '.join(missing)} not in the {side} table; columns: "
            f"{', '.join(map(str, frame.columns[:30]))}"
        )
    dupes = frame.duplicated(subset=keys)
    if dupes.any():
        raise InvalidInput(
            f"key {', '.join(keys)} is not unique in the {side} table ({int(dupes.sum())} "
            "repeated); pick a key that identifies rows, or diff without --key"
        )
    return frame


def _row_hash(frame: pd.DataFrame, columns: list[Any]) -> pd.Series:
    import pandas as pd

    if not columns:
        return pd.Series(0, index=frame.index, dtype="uint64")
    return pd.util.hash_pandas_object(frame[columns], index=False)


def _rows_by_key(
    a: pd.DataFrame, b: pd.DataFrame, keys: list[str], compared: list[Any]
) -> dict[str, Any]:
    import pandas as pd

    ia = pd.MultiIndex.from_frame(a[keys]) if len(keys) > 1 else pd.Index(a[keys[0]])
    ib = pd.MultiIndex.from_frame(b[keys]) if len(keys) > 1 else pd.Index(b[keys[0]])
    added_mask, removed_mask = ~ib.isin(ia), ~ia.isin(ib)
    a_common = a.loc[~removed_mask].set_index(keys)
    b_common = b.loc[~added_mask].set_index(keys).reindex(a_common.index)
    cells = {}
    changed_any = pd.Series(False, index=a_common.index)
    for col in compared:
        left, right = a_common[col], b_common[col]
        differs = ~((left == right) | (left.isna() & right.isna())).fillna(False).astype(bool)
        cells[str(col)] = int(differs.sum())
        changed_any |= differs
    examples = {
        "added": b.loc[added_mask].head(_EXAMPLES),
        "removed": a.loc[removed_mask].head(_EXAMPLES),
        "changed": b_common.loc[changed_any].head(_EXAMPLES).reset_index(),
    }
    return {
        "rows_added": int(added_mask.sum()),
        "rows_removed": int(removed_mask.sum()),
        "rows_changed": int(changed_any.sum()),
        "changed_cells": cells,
        "examples": examples,
    }


def _rows_by_content(a: pd.DataFrame, b: pd.DataFrame, compared: list[Any]) -> dict[str, Any]:
    ha, hb = _row_hash(a, compared), _row_hash(b, compared)
    ca, cb = ha.value_counts(), hb.value_counts()
    both = ca.index.union(cb.index)
    ca, cb = ca.reindex(both, fill_value=0), cb.reindex(both, fill_value=0)
    only_b = set(cb.index[cb > ca])
    only_a = set(ca.index[ca > cb])
    return {
        "rows_added": int((cb - ca).clip(lower=0).sum()),
        "rows_removed": int((ca - cb).clip(lower=0).sum()),
        "rows_changed": 0,
        "changed_cells": {},
        "examples": {
            "added": b.loc[hb.isin(only_b).to_numpy()].head(_EXAMPLES),
            "removed": a.loc[ha.isin(only_a).to_numpy()].head(_EXAMPLES),
        },
    }


def _stats(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    names = list(dict.fromkeys([*map(str, a.columns), *map(str, b.columns)]))
    rows = {}
    for name in names:
        row: dict[str, Any] = {}
        for side, frame in (("a", a), ("b", b)):
            col = frame[name] if name in frame.columns else None
            row.update({f"{k}_{side}": v for k, v in _column_stats(col).items()})
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def _column_stats(col: pd.Series | None) -> dict[str, Any]:
    import pandas.api.types as ptypes

    out: dict[str, Any] = dict.fromkeys(("count", "nulls", "mean", "std", "min", "max", "unique"))
    if col is None:
        return out
    out["count"], out["nulls"] = int(col.notna().sum()), int(col.isna().sum())
    numeric = ptypes.is_numeric_dtype(col.dtype) and not ptypes.is_bool_dtype(col.dtype)
    if numeric:
        out["mean"], out["std"] = _num(col.mean()), _num(col.std())
    if numeric or ptypes.is_datetime64_any_dtype(col.dtype):
        out["min"], out["max"] = col.min(), col.max()
    try:
        out["unique"] = int(col.nunique())
    except TypeError:
        out["unique"] = None
    return out


def _num(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
