"""Finding snapshots by reference (with pinning) and reading them back."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ..config import PINNED_SNAPSHOTS_ENV as PIN_ENV
from ..errors import InvalidInput, NotFound, StoreError
from .blobs import STORED_VALUES, as_values, decode_blob
from .codec import from_table, load_schema
from .refs import parse_ref
from .selection import assemble, logical_keys, physical_keys
from .store import SnapshotStore

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

__all__ = ["PIN_ENV", "iter_tables", "manifests", "pinned", "read_snapshot", "resolve"]

_THREADS = max(4, 2 * (os.cpu_count() or 2))


def pinned() -> dict[str, str]:
    """The pins from ``$MLOPS_PINNED_SNAPSHOTS`` (empty when unset)."""
    text = os.environ.get(PIN_ENV, "").strip()
    if not text:
        return {}
    try:
        pins = json.loads(text)
    except ValueError:
        pins = None
    if not isinstance(pins, dict) or not all(isinstance(v, str) for v in pins.values()):
        raise InvalidInput(
            f'${PIN_ENV} must be a JSON object of name to digest, e.g. {{"train": "3f9c2a..."}}'
        )
    return {str(k): v.lower() for k, v in pins.items()}


def manifests(store: SnapshotStore, name: str) -> list[dict[str, Any]]:
    """Every version of ``name``, oldest first."""
    return [store.read_manifest(name, v) for v in store.versions(name)]


def resolve(store: SnapshotStore, ref: str, *, use_pins: bool = True) -> dict[str, Any]:
    """The manifest ``ref`` names: ``name`` (latest or pinned), ``name@v3``, ``name@3f9c``."""
    parsed = parse_ref(ref)
    versions = store.versions(parsed.name)
    if not versions:
        known = store.names()
        hint = f"known: {', '.join(known[:20])}" if known else "the store has no snapshots yet"
        raise NotFound(f"no snapshot named {parsed.name!r} in {store.uri} ({hint})")
    if parsed.version is not None:
        if parsed.version not in versions:
            raise NotFound(
                f"{parsed.name} has no version v{parsed.version}; versions are "
                f"v{versions[0]}..v{versions[-1]}"
            )
        return store.read_manifest(parsed.name, parsed.version)
    prefix = parsed.digest_prefix
    if prefix is None and use_pins:
        prefix = pinned().get(parsed.name)
    if prefix is None:
        return store.read_manifest(parsed.name, versions[-1])
    return _by_digest(store, parsed.name, prefix)


def _by_digest(store: SnapshotStore, name: str, prefix: str) -> dict[str, Any]:
    found = [m for m in manifests(store, name) if m["digest"].startswith(prefix)]
    digests = sorted({m["digest"] for m in found})
    if not found:
        raise NotFound(f"{name} has no version whose digest starts with {prefix!r}")
    if len(digests) > 1:
        listed = ", ".join(f"{name}@v{m['version']} ({m['digest'][:12]})" for m in found)
        raise InvalidInput(f"digest prefix {prefix!r} is ambiguous: {listed}; give more digits")
    return found[-1]


def read_table(store: SnapshotStore, manifest: dict[str, Any]) -> pa.Table:
    """Fetch and decode every blob of ``manifest`` into an Arrow table."""
    import pyarrow as pa

    schema = load_schema(manifest["schema"])
    derived = manifest.get("derived") or {}
    arrays = _fetch(store, physical_keys(logical_keys(manifest), derived))
    for key, pieces in derived.items():
        arrays[key] = _assembled(manifest, key, pieces, arrays)
    columns = list(zip(schema, manifest["columns"], strict=False))
    return pa.Table.from_arrays(_chunked(columns, arrays), schema=schema)


def iter_tables(store: SnapshotStore, manifest: dict[str, Any], rows: int) -> Iterator[pa.Table]:
    """The snapshot as Arrow tables of about ``rows`` rows, in order, a few chunks at a time.

    Chunks are whole (a table holds at least ``rows`` rows, or the rest): memory holds the
    chunks of one table, their bases when derived, and the dictionaries.
    """
    import pyarrow as pa

    schema = load_schema(manifest["schema"])
    derived = manifest.get("derived") or {}
    columns = list(zip(schema, manifest["columns"], strict=False))
    dictionaries = _fetch(store, {c["dictionary"] for _, c in columns if c["dictionary"]})
    sizes = manifest.get("chunks") or []
    if not sizes and manifest.get("rows"):  # a manifest without chunk sizes: read it whole
        yield read_table(store, manifest)
        return
    start = 0
    while start < len(sizes):
        end, total = start, 0
        while end < len(sizes) and (total < rows or end == start):
            total, end = total + sizes[end], end + 1
        keys = {k for _, c in columns for k in c["blobs"][start:end]}
        arrays = _fetch(store, physical_keys(keys, derived))
        arrays.update(dictionaries)
        for key in keys & set(derived):
            arrays[key] = _assembled(manifest, key, derived[key], arrays)
        picked = [(f, {**c, "blobs": c["blobs"][start:end]}) for f, c in columns]
        yield pa.Table.from_arrays(_chunked(picked, arrays), schema=schema)
        start = end


def _assembled(manifest: dict[str, Any], key: str, pieces: Any, arrays: Any) -> pa.Array:
    needed = physical_keys({key}, manifest.get("derived") or {})
    bases = {k: as_values(arrays[k]) for k in needed if k in arrays}
    try:
        return assemble(pieces, bases)
    except (KeyError, ValueError) as exc:
        raise StoreError(
            f"chunk {key[:16]} of {manifest['name']}@v{manifest.get('version')} cannot be "
            f"rebuilt ({exc}); run jupyter mlops data verify"
        ) from None


def _chunked(columns: list[tuple[Any, dict[str, Any]]], arrays: Any) -> list[pa.ChunkedArray]:
    import pyarrow as pa
    import pyarrow.types as pt

    # blobs are content-addressed: a categorical's dictionary-encoded chunk may be another
    # column's chunk (or categories) too, which reads it as values
    out = []
    for field, col in columns:
        chunks = [arrays[k] for k in col["blobs"]]
        if pt.is_dictionary(field.type):
            dictionary = as_values(arrays[col["dictionary"]])
            if col.get("stored") == STORED_VALUES:  # values: their codes in the categories
                chunks = [_codes(c, dictionary, field.type.index_type) for c in chunks]
            else:  # codes, as snapshots before values were stored
                chunks = [as_values(c) for c in chunks]
            chunks = [
                pa.DictionaryArray.from_arrays(c, dictionary, ordered=field.type.ordered)
                for c in chunks
            ]
        else:
            chunks = [as_values(c) for c in chunks]
        out.append(pa.chunked_array(chunks, type=field.type))
    return out


def _codes(chunk: pa.Array, categories: pa.Array, index_type: pa.DataType) -> pa.Array:
    """The codes in ``categories`` of a chunk of a categorical's values.

    A chunk stored dictionary-encoded maps its few values, then takes; else each value is
    looked up.
    """
    import pyarrow.compute as pc
    import pyarrow.types as pt

    if pt.is_dictionary(chunk.type):
        mapping = pc.index_in(chunk.dictionary, value_set=categories)
        return mapping.take(chunk.indices).cast(index_type)
    return pc.index_in(chunk, value_set=categories).cast(index_type)


def _fetch(store: SnapshotStore, keys: set[str]) -> dict[str, pa.Array]:
    """Decoded blobs by key: in turn from local disk, concurrently from anywhere else.

    Local reads and decoding are too short for threads to pay their overhead
    (measured: four threads take twice as long as one loop); remote reads wait
    on the network and overlap well.
    """

    def fetch(key: str) -> pa.Array:
        return decode_blob(store.get_blob(key), keep_dictionary=True)

    if store.local:
        return {k: fetch(k) for k in keys}
    with ThreadPoolExecutor(_THREADS) as pool:
        return dict(zip(keys, pool.map(fetch, keys), strict=True))


def read_snapshot(store: SnapshotStore, manifest: dict[str, Any]) -> Any:
    """Rebuild the object the snapshot was taken of."""
    return from_table(read_table(store, manifest), manifest.get("meta", {}))
