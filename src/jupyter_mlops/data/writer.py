"""Taking a snapshot: hash, chunk, write the missing blobs, then the manifest."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from . import chunking
from .blobs import STORED_VALUES, encode_blob
from .codec import dump_schema, to_table
from .derivation import Derivation, NewVersion
from .derive import derive
from .hashing import FORMAT, Canon, blob_key, canonical, coded_words, row_hashes, snapshot_digest
from .profile import index_columns, mlflow_schema, profile
from .refs import check_name
from .store import SnapshotStore, now_iso

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

__all__ = ["take_snapshot"]

_THREADS = max(2, os.cpu_count() or 2)


def take_snapshot(store: SnapshotStore, obj: Any, name: str) -> tuple[dict[str, Any], bool]:
    """Store ``obj`` as the next version of ``name``.

    Returns
    -------
    (manifest, created)
        ``created`` is False when ``obj`` equals the latest version, which is returned as is.
    """
    import pyarrow.types as pt

    check_name(name)
    table, meta = to_table(obj)
    columns = [_single(table.column(i)) for i in range(table.num_columns)]
    categorical = [pt.is_dictionary(c.type) for c in columns]
    storage = [_storage(c) for c in columns]
    with ThreadPoolExecutor(_THREADS) as pool:
        canons = list(pool.map(canonical, storage))
        for column, canon, cat in zip(columns, canons, categorical, strict=True):
            if cat:  # a word per category, not per row
                canon.words = coded_words(column)
        # the digest hashes whole columns, so unchanged data is recognised before chunking;
        # a categorical column by its codes and categories, as it always was
        coded = [
            canonical(c) if cat else k
            for c, k, cat in zip(columns, canons, categorical, strict=True)
        ]
        column_keys = list(pool.map(lambda c: blob_key(c.parts(0, c.length)), coded))
        dict_keys = list(pool.map(_dictionary_key, columns))
    fingerprint = _fingerprint(table.schema, meta)
    flat = [k for ck, dk in zip(column_keys, dict_keys, strict=True) for k in (ck, dk or "")]
    digest = snapshot_digest(fingerprint, meta["kind"], table.num_rows, flat)
    latest = _latest(store, name)
    if latest is not None and latest["digest"] == digest:
        return latest, False
    data_columns = _data_columns(table.schema)
    hashes = row_hashes([canons[i] for i in data_columns], table.num_rows)
    starts, ends, keys = _chunk_keys(canons, hashes)
    have = store.existing_keys()
    new = NewVersion(
        [f.name for f in table.schema],
        [str(f.type) for f in table.schema],
        storage,
        keys,
        starts,
        ends,
        data_columns,
        hashes,
        [STORED_VALUES if cat else "" for cat in categorical],
    )
    derivation = derive(store, latest, new, have)
    jobs = _missing(have, columns, storage, keys, dict_keys, starts, ends, derivation)
    with ThreadPoolExecutor(_THREADS * 2) as pool:
        profiled = pool.submit(profile, table)
        encoded = derivation.encoded
        sizes = dict(
            pool.map(lambda job: _write_blob(store, job[0], job[1], encoded.get(job[0])), jobs)
        )
    manifest = {
        "format": FORMAT,
        "chunker": chunking.CHUNKER,
        "name": name,
        "digest": digest,
        "created": now_iso(),
        "kind": meta["kind"],
        "meta": meta,
        "rows": table.num_rows,
        "cols": table.num_columns - len(index_columns(table.schema)),
        "schema": dump_schema(table.schema),
        "chunks": [b - a for a, b in zip(starts, ends, strict=True)],
        "columns": [
            {"name": f.name, "type": str(f.type), "blobs": k, "dictionary": dk, **_stored(dk)}
            for f, k, dk in zip(table.schema, keys, dict_keys, strict=False)
        ],
        "bytes_stored": sum(sizes.values()),
        "blobs_stored": len(sizes),
        # chunks stored whole: derived ones reuse stored rows and count as deduplicated
        "chunks_written": len(sizes.keys() & _logical(keys, dict_keys)),
        "blobs_total": sum(len(k) for k in keys) + sum(1 for dk in dict_keys if dk),
        "derived": derivation.derived,
        "parent": latest["digest"] if latest else None,
        "profile": profiled.result(),
        "mlflow_schema": mlflow_schema(table.schema),
        "store": store.uri,
    }
    store.write_manifest(name, manifest)
    return manifest, True


def _logical(keys: list[list[str]], dict_keys: list[str | None]) -> set[str]:
    return {k for column in keys for k in column} | {k for k in dict_keys if k}


def _data_columns(schema: pa.Schema) -> list[int]:
    """Positions of the columns that are not a pandas index (all of them when none is)."""
    hidden = set(index_columns(schema))
    data = [i for i, f in enumerate(schema) if f.name not in hidden]
    return data or list(range(len(schema)))


def _chunk_keys(
    canons: list[Canon], hashes: np.ndarray
) -> tuple[list[int], list[int], list[list[str]]]:
    """Content-defined chunk bounds and, per column, the key of each chunk's blob.

    ``hashes`` are row hashes of the data columns only: a renumbered, kept or
    filtered index then moves no boundary, and the data's chunks dedupe as they are.
    """
    ends = chunking.boundaries(hashes, chunking.average_rows(_row_bytes(canons)))
    starts = [0, *ends[:-1]] if ends else []
    with ThreadPoolExecutor(_THREADS) as pool:
        keys = list(
            pool.map(
                lambda c: [blob_key(c.parts(a, b)) for a, b in zip(starts, ends, strict=False)],
                canons,
            )
        )
    return starts, ends, keys


def _single(column: pa.ChunkedArray) -> pa.Array:
    """The column as one array, without copying when it already is one chunk."""
    if column.num_chunks == 1:
        return column.chunk(0)
    return column.combine_chunks()


def _storage(column: pa.Array) -> pa.Array:
    """What a column's chunks hold: a categorical column's values, not its codes.

    Codes follow the order of the categories, and inferred categories are sorted: one new
    value that sorts first shifts every code. Values keep each chunk's content (and the
    row hashes that place the chunk boundaries) what the rows are; the categories are one
    blob of their own, and the chunk blobs are stored dictionary-encoded
    (:func:`~.blobs.encode_blob`), so they stay about as small as codes.
    """
    import pyarrow.types as pt

    return column.dictionary_decode() if pt.is_dictionary(column.type) else column


def _stored(dictionary_key: str | None) -> dict[str, str]:
    """The manifest's note of what a categorical column's chunks hold (none: codes)."""
    return {"stored": STORED_VALUES} if dictionary_key else {}


def _dictionary_key(column: pa.Array) -> str | None:
    import pyarrow.types as pt

    if not pt.is_dictionary(column.type):
        return None
    dictionary = canonical(column.dictionary)
    return blob_key(dictionary.parts(0, dictionary.length))


def _row_bytes(canons: list[Canon]) -> float:
    total = 0.0
    for c in canons:
        if c.kind == "fixed":
            total += c.width
        elif c.kind == "var":
            total += 4 + (len(c.data) / max(c.length, 1))
        else:
            total += 8
    return total


def _fingerprint(schema: pa.Schema, meta: dict[str, Any]) -> str:
    """Schema text for the digest, free of library versions."""
    pandas_meta = dict(schema.pandas_metadata or {})
    pandas_meta.pop("creator", None)
    pandas_meta.pop("pandas_version", None)
    fields = [[f.name, str(f.type), f.nullable] for f in schema]
    return json.dumps({"fields": fields, "pandas": pandas_meta, "meta": meta}, sort_keys=True)


def _latest(store: SnapshotStore, name: str) -> dict[str, Any] | None:
    versions = store.versions(name)
    return store.read_manifest(name, versions[-1]) if versions else None


def _missing(
    have: set[str],
    columns: list[pa.Array],
    storage: list[pa.Array],
    keys: list[list[str]],
    dict_keys: list[str | None],
    starts: list[int],
    ends: list[int],
    derivation: Derivation,
) -> list[tuple[str, pa.Array]]:
    """(key, array) for every blob the store lacks, each key once; derived chunks need none."""
    jobs: dict[str, pa.Array] = dict(derivation.blobs)
    skip = have | derivation.derived.keys()
    for col, arr, col_keys, dk in zip(columns, storage, keys, dict_keys, strict=False):
        source = col if dk else arr  # a categorical's chunk: its values, encoded from its codes
        for key, a, b in zip(col_keys, starts, ends, strict=False):
            if key not in skip and key not in jobs:
                jobs[key] = source.slice(a, b - a)
        if dk and dk not in skip and dk not in jobs:
            jobs[dk] = col.dictionary
    return list(jobs.items())


def _write_blob(
    store: SnapshotStore, key: str, array: pa.Array, data: bytes | None = None
) -> tuple[str, int]:
    if data is None:
        data = encode_blob(array)
    store.put_blob(key, data)
    return key, len(data)
