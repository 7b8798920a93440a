"""What batch scoring reads: a DataFrame, CSV/Parquet files or folders (fsspec URLs), a snapshot.

Each input is a digest (of the content, or the snapshot's own) and a function yielding
DataFrames of at most ``size`` rows, so the scorer never holds more than one batch of a file.
A file's digest is computed on a thread while it is scored (hashing releases the GIL):
reading a large file twice in a row would otherwise add a full pass before the first batch.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["CSV", "PARQUET", "BatchInput", "open_input"]

#: file name endings read as Parquet and as CSV
PARQUET = (".parquet", ".pq")
CSV = (".csv",)
_READ_BUFFER = 1 << 20  # bytes of a Parquet file read at a time


@dataclass
class BatchInput:
    """One input: where it comes from, its digest and its batches.

    Attributes
    ----------
    source : str
        The input as given (a path, URL, snapshot ref or ``DataFrame``).
    digest : str or _FileDigest
        The content digest, or the thread computing it (read :meth:`content_digest`).
    batches : callable
        ``batches(size)`` yields DataFrames of at most ``size`` rows.
    manifest : dict, optional
        A snapshot's manifest.
    count : callable, optional
        ``count()`` is the number of rows when known before reading them (a frame, a
        snapshot, Parquet files from their footers), else ``None``.
    """

    source: str
    digest: str | _FileDigest
    batches: Callable[[int], Iterator[pd.DataFrame]]
    manifest: dict[str, Any] | None = None
    count: Callable[[], int | None] = lambda: None

    def content_digest(self) -> str:
        """The digest (waits for a file's to be computed).

        Raises
        ------
        InvalidInput
            A file could not be read.
        """
        return self.digest if isinstance(self.digest, str) else self.digest.result()

    def close(self) -> None:
        """Stop computing the digest (when scoring stopped before it was needed)."""
        if not isinstance(self.digest, str):
            self.digest.cancel()


class _FileDigest:
    """SHA-256 of each file's name and bytes, in order, computed on a thread."""

    def __init__(self, fs: Any, paths: list[str]) -> None:
        self._fs, self._paths = fs, paths
        self._stop = threading.Event()
        self._value: str | None = None
        self._error: InvalidInput | None = None
        self._thread = threading.Thread(target=self._run, name="mlops-digest", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        digest = hashlib.sha256()
        for path in self._paths:
            digest.update(path.rsplit("/", 1)[-1].encode() + b"\0")
            try:
                with self._fs.open(path, "rb") as fh:
                    while (chunk := fh.read(1 << 20)) and not self._stop.is_set():
                        digest.update(chunk)
            except OSError as exc:
                self._error = InvalidInput(f"cannot read {path!r}: {exc}")
                return
            if self._stop.is_set():
                return  # a part of the bytes is no digest
        self._value = digest.hexdigest()

    def result(self) -> str:
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._value is None:
            raise InvalidInput("the input's digest was not computed (scoring was stopped)")
        return self._value

    def cancel(self) -> None:
        self._stop.set()
        self._thread.join()


def _frame_input(frame: Any) -> BatchInput:
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise InvalidInput(
            f"cannot score a {type(frame).__name__}; pass a DataFrame, a .csv/.parquet path "
            "or a snapshot ref like customers@v7"
        )
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).values).hexdigest()

    def batches(size: int) -> Iterator[pd.DataFrame]:
        for start in range(0, len(frame), size):
            yield frame.iloc[start : start + size].reset_index(drop=True)

    return BatchInput("DataFrame", digest, batches, count=lambda: len(frame))


def _files(url: str) -> tuple[Any, list[str]] | None:
    """The filesystem and data files of ``url`` (a file or a folder), or ``None`` if absent."""
    import fsspec

    try:
        fs, path = fsspec.core.url_to_fs(url)
        if fs.isdir(path):
            found = sorted(p for p in fs.find(path) if p.lower().endswith(PARQUET + CSV))
            if not found:
                raise InvalidInput(f"folder {url!r} holds no .parquet or .csv file to score")
            return fs, found
        if fs.isfile(path):
            return fs, [path]
    except InvalidInput:
        raise
    except (OSError, ValueError, ImportError) as exc:
        raise InvalidInput(f"cannot read {url!r}: {exc}") from None
    return None


def _file_input(url: str, fs: Any, paths: list[str]) -> BatchInput:
    kinds = {p.lower().endswith(PARQUET) for p in paths}
    if not all(p.lower().endswith(PARQUET + CSV) for p in paths):
        raise InvalidInput(f"cannot score {url!r}: give a .csv or .parquet file, or a folder")
    if len(kinds) > 1:
        raise InvalidInput(f"folder {url!r} mixes .csv and .parquet files; score one kind")

    def batches(size: int) -> Iterator[pd.DataFrame]:
        for path in paths:
            yield from _read_file(fs, path, size)

    def count() -> int | None:
        if True in kinds:
            return _parquet_rows(fs, paths)
        return None

    return BatchInput(url, _FileDigest(fs, paths), batches, count=count)


def _parquet_rows(fs: Any, paths: list[str]) -> int | None:
    """The rows of Parquet files, from their footers (``None`` if one cannot be read)."""
    import pyarrow.parquet as pq

    total = 0
    try:
        for path in paths:
            with fs.open(path, "rb") as fh:
                total += pq.ParquetFile(fh).metadata.num_rows
    except (OSError, ValueError):
        return None  # reading the batches says what is wrong
    return total


def _read_file(fs: Any, path: str, size: int) -> Iterator[pd.DataFrame]:
    import pandas as pd
    import pyarrow.parquet as pq

    try:
        with fs.open(path, "rb") as fh:
            if path.lower().endswith(PARQUET):
                # without pre-buffering: pre-buffered ranges are held until the file is closed
                # (the whole file by its end), read through a small buffer instead
                reader = pq.ParquetFile(fh, pre_buffer=False, buffer_size=_READ_BUFFER)
                for batch in reader.iter_batches(batch_size=size):
                    yield batch.to_pandas()
            else:
                yield from pd.read_csv(fh, chunksize=size)
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidInput(f"cannot read {path!r}: {first}") from None


def _snapshot_input(ref: str) -> BatchInput | None:
    from ..data import api as data_api
    from ..data.reader import iter_tables
    from ..data.reader import resolve as resolve_snapshot
    from ..data.refs import parse_ref as parse_snapshot
    from ..errors import NotFound

    try:
        parse_snapshot(ref)
    except InvalidInput:
        return None
    store = data_api.open_store()
    try:
        manifest = resolve_snapshot(store, ref)
    except NotFound:
        return None

    def batches(size: int) -> Iterator[pd.DataFrame]:
        import pyarrow as pa

        pending = None  # rows read but not yet handed out: batches of exactly ``size`` rows
        for table in iter_tables(store, manifest, size):
            pending = table if pending is None else pa.concat_tables([pending, table])
            while pending.num_rows >= size:
                yield pending.slice(0, size).to_pandas()
                pending = pending.slice(size)
        if pending is not None and pending.num_rows:
            yield pending.to_pandas()

    rows = manifest.get("rows")
    return BatchInput(
        ref.removeprefix("mlops://"), str(manifest["digest"]), batches, manifest,
        count=lambda: int(rows) if rows is not None else None,
    )  # fmt: skip


def open_input(data: Any) -> BatchInput:
    """The batches of ``data``: a DataFrame, a CSV/Parquet file or folder (fsspec URL), a snapshot.

    Raises
    ------
    InvalidInput
        Neither a readable file nor a known snapshot.
    """
    if not isinstance(data, (str, os.PathLike)):
        return _frame_input(data)
    text = os.fspath(data)
    if not text.startswith("mlops://"):
        found = _files(text)
        if found is not None:
            return _file_input(text, *found)
    snap = _snapshot_input(text)
    if snap is not None:
        return snap
    raise InvalidInput(
        f"no file, folder or snapshot named {text!r}; give a .csv/.parquet path or URL, "
        "or a snapshot ref like customers@v7"
    )
