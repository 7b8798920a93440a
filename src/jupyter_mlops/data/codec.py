"""Faithful conversion between user objects and Arrow tables.

A snapshot is stored as an Arrow table (pandas index and dtypes travel in the
schema's pandas metadata) cut into per-column blobs (:mod:`.blobs`).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

__all__ = ["dump_schema", "from_table", "load_schema", "to_table"]

_ACCEPTED = "give a pandas DataFrame or Series, a pyarrow Table or a 1-D/2-D numpy array"
_NESTED_HINT = "convert them to text first, e.g. df[col] = df[col].map(json.dumps)"


def to_table(obj: Any) -> tuple[pa.Table, dict[str, Any]]:
    """Return ``obj`` as an Arrow table plus what is needed to rebuild the same object.

    Raises
    ------
    InvalidInput
        For other types, duplicate or nested columns, or cells Arrow cannot hold faithfully.
    """
    import pyarrow as pa

    kind = _kind(obj)
    if kind == "arrow":
        table = obj if isinstance(obj, pa.Table) else pa.Table.from_batches([obj])
        meta: dict[str, Any] = {"kind": "arrow"}
    elif kind == "numpy":
        table, meta = _from_numpy(obj)
    else:
        frame = obj.to_frame() if kind == "series" else obj
        table = _from_pandas(frame)
        meta = {"kind": kind, "object_columns": _object_columns(frame)}
    _check_flat(table)
    return table.unify_dictionaries().combine_chunks(), meta


def _kind(obj: Any) -> str:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    if isinstance(obj, pd.DataFrame):
        return "pandas"
    if isinstance(obj, pd.Series):
        return "series"
    if isinstance(obj, (pa.Table, pa.RecordBatch)):
        return "arrow"
    if isinstance(obj, np.ndarray):
        return "numpy"
    name = f"{type(obj).__module__}.{type(obj).__qualname__}".removeprefix("builtins.")
    raise InvalidInput(f"cannot snapshot a {name}; {_ACCEPTED}")


def _from_pandas(frame: Any) -> pa.Table:
    import pyarrow as pa

    dupes = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
    if dupes:
        raise InvalidInput(f"duplicate column name(s) {', '.join(dupes)}; rename them first")
    try:
        table = pa.Table.from_pandas(frame, preserve_index=None)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(
            f"cannot store this frame faithfully: {first}; give each column one type "
            f"({_NESTED_HINT})"
        ) from None
    return _zoned_dictionaries(frame, table)


def _zoned_dictionaries(frame: Any, table: pa.Table) -> pa.Table:
    """Give categories of zoned timestamps their zone in the Arrow type.

    Some pyarrow releases (23 with pandas 2) write such categories as naive UTC timestamps;
    the instants are right, only the zone is gone.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.types as pt

    for name in frame.columns:
        dtype = frame[name].dtype
        tz = getattr(getattr(dtype, "categories", None), "tz", None)
        if not isinstance(dtype, pd.CategoricalDtype) or tz is None:
            continue
        i = table.schema.get_field_index(str(name))
        field = table.schema.field(i) if i >= 0 else None
        if field is None or not pt.is_dictionary(field.type):
            continue
        values = field.type.value_type
        if not pt.is_timestamp(values) or values.tz is not None:
            continue
        zoned = pa.timestamp(values.unit, str(tz))
        typ = pa.dictionary(field.type.index_type, zoned, field.type.ordered)
        chunks = [
            pa.DictionaryArray.from_arrays(c.indices, c.dictionary.cast(zoned), ordered=typ.ordered)
            for c in table.column(i).chunks
        ]
        table = table.set_column(i, field.with_type(typ), pa.chunked_array(chunks, type=typ))
    return table


def _object_columns(frame: Any) -> list[str]:
    """Columns of numpy object dtype: Arrow would bring them back as strings dtype."""
    return [str(c) for c in frame.columns if frame[c].dtype == object]


def _from_numpy(array: Any) -> tuple[pa.Table, dict[str, Any]]:
    import pyarrow as pa

    if array.ndim not in (1, 2) or array.dtype.names or array.dtype.kind in "OV":
        raise InvalidInput(
            f"cannot snapshot a numpy array of shape {array.shape} and dtype {array.dtype}; "
            "give a 1-D or 2-D array of numbers, booleans, dates or strings"
        )
    columns = [array] if array.ndim == 1 else [array[:, i] for i in range(array.shape[1])]
    try:
        arrays = [pa.array(c) for c in columns]
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise InvalidInput(f"cannot store this numpy array faithfully: {exc}") from None
    meta = {"kind": "numpy", "shape": list(array.shape), "dtype": array.dtype.str}
    return pa.table(arrays, names=[str(i) for i in range(len(arrays))]), meta


def _check_flat(table: pa.Table) -> None:
    import pyarrow.types as pt

    for field in table.schema:
        t = field.type.value_type if pt.is_dictionary(field.type) else field.type
        if pt.is_nested(t):
            raise InvalidInput(
                f"column {field.name!r} holds lists or dicts (unhashable cells) that cannot be "
                f"stored faithfully; {_NESTED_HINT}"
            )


def from_table(table: pa.Table, meta: dict[str, Any]) -> Any:
    """Rebuild the object :func:`to_table` was given."""
    kind = meta.get("kind", "pandas")
    if kind == "arrow":
        return table
    if kind == "numpy":
        return _to_numpy(table, meta)
    frame = table.to_pandas()
    _restore_string_storage(frame, table)
    _restore_zoned_categories(frame, table)
    for name in meta.get("object_columns", []):
        if name in frame.columns and frame[name].dtype != object:
            frame[name] = _as_objects(table.column(name), frame.index)
    if kind == "series":
        return frame.iloc[:, 0]
    return frame


def _restore_zoned_categories(frame: Any, table: pa.Table) -> None:
    """Give categories of time-zone-aware timestamps their zone back.

    ``to_pandas`` turns the dictionary of such a column into naive UTC timestamps; the
    Arrow type still has the zone. The categories are renamed, so the codes stay.
    """
    import pyarrow.types as pt

    for field in table.schema:
        t = field.type
        if not (pt.is_dictionary(t) and pt.is_timestamp(t.value_type) and t.value_type.tz):
            continue
        if field.name not in frame.columns or frame[field.name].dtype.name != "category":
            continue
        column = frame[field.name]
        categories = column.cat.categories
        if getattr(categories, "tz", None) is None:
            zoned = categories.tz_localize("UTC").tz_convert(t.value_type.tz)
            frame[field.name] = column.cat.rename_categories(zoned)


def _restore_string_storage(frame: Any, table: pa.Table) -> None:
    """Give ``string`` columns back their storage: pandas' metadata names no storage.

    ``pd.StringDtype`` becomes ``large_string`` when backed by pyarrow and ``string`` when
    backed by Python objects, and ``to_pandas`` gives every one pandas' default storage
    (python in pandas 2, pyarrow in 3); the Arrow type says which it was.
    """
    import pandas as pd
    import pyarrow.types as pt

    columns = (table.schema.pandas_metadata or {}).get("columns", [])
    for column in columns:
        name = column.get("name")
        if column.get("numpy_type") != "string" or name not in frame.columns:
            continue
        if not isinstance(frame[name], pd.Series) or name not in table.column_names:
            continue
        arrow_type = table.schema.field(name).type
        storage = "pyarrow" if pt.is_large_string(arrow_type) else "python"
        dtype = frame[name].dtype
        if isinstance(dtype, pd.StringDtype) and dtype.storage != storage:
            frame[name] = frame[name].astype(pd.StringDtype(storage))


def _as_objects(column: Any, index: Any) -> Any:
    import pandas as pd

    return pd.Series(column.to_numpy(zero_copy_only=False), index=index, dtype=object)


def _to_numpy(table: pa.Table, meta: dict[str, Any]) -> Any:
    import numpy as np

    dtype = np.dtype(meta["dtype"])
    columns = [
        table.column(i).to_numpy().astype(dtype, copy=False) for i in range(table.num_columns)
    ]
    if len(meta["shape"]) == 1:
        return columns[0]
    out = np.empty(tuple(meta["shape"]), dtype=dtype)
    for i, col in enumerate(columns):
        out[:, i] = col
    return out


def dump_schema(schema: pa.Schema) -> str:
    """Serialise a schema (with its pandas metadata) as base64 text for a manifest."""
    return base64.b64encode(schema.serialize().to_pybytes()).decode("ascii")


def load_schema(text: str) -> pa.Schema:
    """Inverse of :func:`dump_schema`."""
    import pyarrow as pa

    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text)))
