"""What batch scoring writes: each batch's scores, to a Parquet or CSV file put in place at the end.

A batch's scores are the id column (or a ``row`` number and a ``request_id``), the
``prediction``, one ``proba_<class>`` column per class when the model has
probabilities, and the ``model_version``. Batches go to a temporary sibling of the
output, renamed into place by :meth:`Output.commit` once every batch succeeded.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from .batch_inputs import CSV, PARQUET

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Output", "scores_frame", "scores_table"]

#: the columns Parquet dictionary-encodes: the one version of every row. Unique values
#: (request ids, ids, probabilities) only cost a dictionary built then thrown away
_DICTIONARY = ["model_version"]


def _request_ids(run_id: str, row: Any, text: Any) -> Any:
    """``<run id>-<row>`` for each row number, joined by Arrow compute as ``text`` strings."""
    import pyarrow as pa
    import pyarrow.compute as pc

    prefix, nothing = pa.scalar(f"{run_id}-", text), pa.scalar("", text)
    return pc.binary_join_element_wise(prefix, pc.cast(row, text), nothing)


def scores_frame(
    batch: pd.DataFrame,
    id_column: str | None,
    offset: int,
    run_id: str,
    predictions: Any,
    proba: Any,
    classes: list[Any] | None,
    version: str,
) -> pd.DataFrame:
    """The output rows of one batch: id (or row and request id), prediction, probabilities."""
    import numpy as np
    import pandas as pd

    cols: dict[str, Any] = {}
    if id_column is not None:
        cols[id_column] = batch[id_column].to_numpy()
    else:
        import pyarrow as pa

        row = np.arange(offset, offset + len(batch))
        cols["row"] = row
        joined = _request_ids(run_id, pa.array(row), pa.string())
        cols["request_id"] = pd.Series(joined.to_pandas(), dtype="str")
    cols["prediction"] = np.asarray(predictions)
    if proba is not None and classes is not None:
        for n, cls in enumerate(classes):
            cols[f"proba_{cls}"] = np.asarray(proba)[:, n]
    cols["model_version"] = version
    return pd.DataFrame(cols)


def scores_table(
    offset: int,
    run_id: str,
    predictions: Any,
    proba: Any,
    classes: list[Any] | None,
    version: str,
    schema: Any,
) -> Any:
    """The scores :func:`scores_frame` gives without an id column, built in Arrow in ``schema``.

    No pandas frame and no conversion to Arrow: the arrays wrap the scores and the
    request ids are joined by Arrow compute, which runs without the GIL. ``None`` when
    a column would not have the type ``schema`` (the first batch's, from pandas) gives
    it, e.g. text classes: that batch goes through :func:`scores_frame`.
    """
    import numpy as np
    import pyarrow as pa

    text = pa.large_string()
    row = pa.array(np.arange(offset, offset + len(predictions)))
    arrays = [row, _request_ids(run_id, row, text)]
    arrays.append(pa.array(np.asarray(predictions)))
    if proba is not None and classes is not None:
        probabilities = np.asarray(proba)
        arrays += [pa.array(probabilities[:, n]) for n in range(len(classes))]
    arrays.append(pa.repeat(pa.scalar(version, text), len(row)))
    if [a.type for a in arrays] != list(schema.types):
        return None
    return pa.Table.from_arrays(arrays, schema=schema)


class Output:
    """Batches written to a temporary sibling of ``path``, renamed into place by :meth:`commit`.

    Raises
    ------
    InvalidInput
        ``path`` does not end in .parquet or .csv, or its folder does not exist.
    """

    def __init__(self, path: str) -> None:
        target = Path(path)
        suffix = target.suffix.lower()
        if suffix not in PARQUET + CSV:
            raise InvalidInput(f"the output must end in .parquet or .csv, got {path!r}")
        if not target.parent.is_dir():
            raise InvalidInput(f"no folder {str(target.parent)!r} to write {path!r} into")
        self.path, self.parquet = target, suffix in PARQUET
        self.tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
        self._writer: Any = None
        self._fh: Any = None

    @property
    def schema(self) -> Any:
        """The Parquet file's schema, once the first batch is written (else ``None``)."""
        return None if self._writer is None else self._writer.schema

    def write_table(self, table: Any) -> None:
        """Append one batch's scores as an Arrow table in :attr:`schema`."""
        self._writer.write_table(table)

    def write(self, frame: pd.DataFrame) -> None:
        """Append one batch's scores."""
        if self.parquet:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._writer is None:
                encoded = [c for c in _DICTIONARY if c in table.column_names]
                self._writer = pq.ParquetWriter(self.tmp, table.schema, use_dictionary=encoded)
            elif table.schema != self._writer.schema:
                table = table.cast(self._writer.schema)
            self._writer.write_table(table)
        else:
            first = self._fh is None
            if first:
                self._fh = open(self.tmp, "w", encoding="utf-8", newline="")  # noqa: SIM115
            frame.to_csv(self._fh, header=first, index=False)

    def _close(self) -> None:
        for handle in (self._writer, self._fh):
            if handle is not None:
                handle.close()
        self._writer = self._fh = None

    def commit(self) -> None:
        """Put the file in place (an empty file of the right kind when no row was scored)."""
        self._close()
        if not self.tmp.exists():
            Path(self.tmp).touch()
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        """Remove what was written."""
        self._close()
        self.tmp.unlink(missing_ok=True)
