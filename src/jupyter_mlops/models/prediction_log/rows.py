"""Rows as the database holds them: request ids, predictions, labels, input rows."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InvalidInput

__all__ = [
    "decode_inputs",
    "encode_batch",
    "encode_block",
    "inputs_file",
    "label_value",
    "new_ids",
    "request_id",
]

_ROLE = re.compile(r"^[a-z][a-z_]{0,31}$")


def new_ids(n: int) -> list[str]:
    """``n`` fresh request ids: one random request part and the row's position.

    Examples
    --------
    >>> len(new_ids(3)), new_ids(2)[1].endswith("-1")
    (3, True)
    """
    import secrets

    base = secrets.token_hex(8)
    return [f"{base}-{i}" for i in range(n)]


def encode_batch(
    version: str, role: str, ids: Sequence[Any], inputs: Any, predictions: Any, at: Any
) -> tuple[str, str, str | None, str | None, bytes | None, list[tuple[Any, ...]]] | None:
    if not _ROLE.match(role):
        raise InvalidInput(f"role must be a lower-case word like 'champion', got {role!r}")
    values = _values(predictions)
    if len(values) != len(ids):
        raise InvalidInput(f"{len(ids)} ids but {len(values)} predictions; one id per row")
    if not values:
        return None
    fmt, columns, blob = _encode_inputs(inputs, len(values))
    now = time.time() if at is None else float(at)
    rows = [(str(i), now, v, n) for n, (i, v) in enumerate(zip(ids, values, strict=True))]
    return version, role, fmt, columns, blob, rows


def encode_block(
    version: str,
    role: str,
    ids: Sequence[Any],
    inputs: Any,
    predictions: Any,
    at: Any,
    folder: Path | None = None,
) -> tuple[str, str, str | None, str | None, bytes | None, str, int, float, Any] | None:
    """A large batch of consecutive ids as one block (see :mod:`.blocks`), else None.

    Numeric input rows go to a file in ``folder`` when given (see :func:`inputs_file`).
    """
    from .blocks import BLOCK_MIN_ROWS, consecutive

    if len(ids) < BLOCK_MIN_ROWS:
        return None
    found = consecutive(ids)
    if found is None:
        return None
    if not _ROLE.match(role):
        raise InvalidInput(f"role must be a lower-case word like 'champion', got {role!r}")
    array = np.asarray(predictions)
    if array.ndim > 1:
        array = array.reshape(len(array), -1)[:, 0]
    if len(array) != len(ids):
        raise InvalidInput(f"{len(ids)} ids but {len(array)} predictions; one id per row")
    if folder is None:
        fmt, columns, blob = _encode_inputs(inputs, len(array))
    else:
        fmt, columns, blob = inputs_file(inputs, len(array), folder)
    now = time.time() if at is None else float(at)
    return version, role, fmt, columns, blob, found[0], found[1], now, array


def _values(predictions: Any) -> list[Any]:
    """One plain Python value (int, float, str) per row."""
    array = np.asarray(predictions)
    if array.ndim > 1:
        array = array.reshape(len(array), -1)[:, 0]
    if array.dtype.kind == "b":
        array = array.astype(int)
    out = array.tolist()
    return [v if isinstance(v, (int, float, str)) or v is None else str(v) for v in out]


def _rows(inputs: Any, n: int) -> tuple[str | None, np.ndarray]:
    """The input rows as a 2-D array, and their column names as JSON when a frame has some."""
    columns = None
    if hasattr(inputs, "columns") and hasattr(inputs, "to_numpy"):
        columns = json.dumps([str(c) for c in inputs.columns])
        values = inputs.to_numpy()
    else:
        values = np.asarray(inputs)
    if values.ndim == 1:
        values = values.reshape(n, -1)
    return columns, values


def _encode_inputs(inputs: Any, n: int) -> tuple[str | None, str | None, bytes | None]:
    """The rows as ``npy`` (numeric) or ``json`` bytes and their column names."""
    if inputs is None:
        return None, None, None
    columns, values = _rows(inputs, n)
    if len(values) != n:
        return None, None, None  # inputs that are not one row per prediction are not kept
    if values.dtype.kind in "biuf":
        buffer = io.BytesIO()
        np.save(buffer, values, allow_pickle=False)
        return "npy", columns, buffer.getvalue()
    return "json", columns, json.dumps(values.tolist(), default=str).encode()


def inputs_file(inputs: Any, n: int, folder: Path) -> tuple[str | None, str | None, bytes | None]:
    """A block's numeric input rows written to an ``.npy`` file in ``folder`` (its name kept).

    Other inputs are encoded as :func:`_encode_inputs` does, to stay in the database.
    """
    if inputs is None:
        return None, None, None
    columns, values = _rows(inputs, n)
    if len(values) != n or values.dtype.kind not in "biuf":
        return _encode_inputs(inputs, n)
    import uuid

    folder.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}.npy"
    np.save(folder / name, values, allow_pickle=False)
    return "npy-file", columns, name.encode()


def decode_inputs(
    fmt: str | None, columns: str | None, blob: bytes | None, folder: Path | None = None
) -> Any:
    import pandas as pd

    if fmt is None or blob is None:
        return None
    if fmt == "npy-file":
        try:
            values = np.load((folder or Path()) / blob.decode(), allow_pickle=False)
        except OSError:  # pruned meanwhile by another process
            return None
    elif fmt == "npy":
        values = np.load(io.BytesIO(blob), allow_pickle=False)
    else:
        values = np.array(json.loads(blob), dtype=object)
    frame = pd.DataFrame(values, columns=json.loads(columns) if columns else None)
    return frame.infer_objects() if fmt == "json" else frame


def request_id(value: Any, n: int) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or str(value) == "":
        raise InvalidInput(f"label {n + 1} has no request id; send the id each answer carried")
    return str(value)


def label_value(value: Any, key: str) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return int(value)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        raise InvalidInput(f"the label of id {key!r} is missing; send a class or a number")
    if not isinstance(value, (int, float, str)):
        raise InvalidInput(
            f"the label of id {key!r} is a {type(value).__name__}; send a class or a number"
        )
    return value
