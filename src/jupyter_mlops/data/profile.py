"""Cheap per-column profiles (stored in manifests and sent to MLflow) and MLflow schemas."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..json_values import json_scalar

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

__all__ = ["index_columns", "mlflow_schema", "profile"]


def index_columns(schema: pa.Schema) -> list[str]:
    """Names of the columns that hold a pandas index."""
    meta = schema.pandas_metadata or {}
    return [c for c in meta.get("index_columns", []) if isinstance(c, str)]


def profile(table: pa.Table) -> dict[str, Any]:
    """Rows, columns and per-column nulls / min / max / mean (numbers, dates) of ``table``."""
    import pyarrow.types as pt

    hidden = set(index_columns(table.schema))
    columns: dict[str, dict[str, Any]] = {}
    for field, column in zip(table.schema, table.columns, strict=False):
        if field.name in hidden:
            continue
        info: dict[str, Any] = {"type": str(field.type), "nulls": column.null_count}
        t = field.type
        if pt.is_integer(t) or pt.is_floating(t) or pt.is_temporal(t):
            info.update(_numeric_summary(column, mean=pt.is_integer(t) or pt.is_floating(t)))
        elif pt.is_dictionary(t):
            info["categories"] = len(column.chunk(0).dictionary) if column.num_chunks else 0
        columns[field.name] = info
    return {"num_rows": table.num_rows, "num_columns": len(columns), "columns": columns}


def _numeric_summary(column: Any, *, mean: bool) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        bounds = pc.min_max(column)
        out = {"min": json_scalar(bounds["min"].as_py()), "max": json_scalar(bounds["max"].as_py())}
        if mean:
            out["mean"] = json_scalar(pc.mean(column).as_py())
    except pa.ArrowNotImplementedError:  # e.g. durations in some Arrow versions
        return {}
    return out


_MLFLOW_TYPES = (
    ("is_boolean", "boolean"),
    ("is_int64", "long"),
    ("is_uint64", "long"),
    ("is_integer", "integer"),
    ("is_float32", "float"),
    ("is_floating", "double"),
    ("is_temporal", "datetime"),
    ("is_binary", "binary"),
    ("is_large_binary", "binary"),
)


def mlflow_schema(schema: pa.Schema) -> dict[str, Any]:
    """The ``mlflow_colspec`` schema MLflow's UI shows for a dataset."""
    import pyarrow.types as pt

    hidden = set(index_columns(schema))
    specs = []
    for field in schema:
        if field.name in hidden:
            continue
        t = field.type.value_type if pt.is_dictionary(field.type) else field.type
        kind = next((name for test, name in _MLFLOW_TYPES if getattr(pt, test)(t)), "string")
        specs.append({"type": kind, "name": field.name, "required": False})
    return {"mlflow_colspec": specs}
