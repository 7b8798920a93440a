"""Digests: canonical column bytes, blob keys, per-row hashes and the snapshot digest.

Every hash is computed from a canonical form of the values, never from memory
layout: nulls are zeroed under a separate mask, string offsets start at zero and
slices are taken by logical position. A copy, a re-chunked table or a frame
built another way with the same content therefore hashes the same.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

__all__ = [
    "FORMAT",
    "Canon",
    "blob_key",
    "canonical",
    "coded_words",
    "content_key",
    "row_hashes",
    "same_content",
    "snapshot_digest",
]

#: part of every hash: bump when the canonical form or chunking changes
FORMAT = "mlops-snapshot-1"
_MUL = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_NULL = np.uint64(0xD6E8FEB86659FD93)
#: keeps the low ``i`` bytes of a little-endian word
_BYTE_MASKS = np.array([(1 << (8 * i)) - 1 for i in range(8)] + [2**64 - 1], dtype=np.uint64)


@dataclass
class Canon:
    """Canonical bytes of one column (dictionary columns: their indices).

    ``kind`` is ``fixed`` (``data`` holds ``width`` bytes per row), ``var``
    (``offsets`` into ``data``, starting at 0), ``null`` or ``other``
    (hashed through its Arrow serialisation).
    """

    type_name: str
    length: int
    kind: str
    data: np.ndarray
    width: int = 0
    offsets: np.ndarray | None = None
    mask: np.ndarray | None = None
    array: Any = None
    #: the row words when known already (a categorical's, from its categories' words)
    words: np.ndarray | None = None

    def parts(self, start: int, stop: int) -> list[Any]:
        """Canonical byte strings of rows ``start:stop``."""
        # a slice without nulls hashes as such, whatever the rest of its column holds:
        # the same rows get the same key in every version, and a stored blob re-hashes to it
        nulls = self.mask is not None and bool(self.mask[start:stop].any())
        out: list[Any] = [f"{self.type_name}|{stop - start}|{nulls}".encode()]
        if nulls and self.mask is not None:
            out.append(self.mask[start:stop].tobytes())
        if self.kind == "fixed":
            out.append(self.data[start * self.width : stop * self.width].data)
        elif self.kind == "var":
            if self.offsets is None:
                raise ValueError("a variable-width column needs its offsets")
            offs = self.offsets[start : stop + 1]
            out.append(offs - offs[0] if len(offs) and offs[0] else offs)  # hashed as is, no copy
            out.append(self.data[offs[0] : offs[-1]].data)
        elif self.kind == "other":
            from .blobs import encode_blob

            out.append(encode_blob(self.array.slice(start, stop - start)))
        return out

    def row_words(self) -> np.ndarray:
        """One 64-bit word per row that changes when the row's value changes."""
        if self.words is not None:
            return self.words
        n = self.length
        if self.kind == "fixed":
            words = _fixed_words(self.data, n, self.width)
        elif self.kind == "var":
            if self.offsets is None:
                raise ValueError("a variable-width column needs its offsets")
            words = _var_words(self.data, self.offsets)
        else:
            words = np.zeros(n, dtype=np.uint64)
        if self.mask is not None:
            words = words ^ (self.mask.astype(np.uint64) * _NULL)
        return words


def canonical(array: pa.Array) -> Canon:
    """Return the canonical form of ``array`` (a column or a slice of one)."""
    import pyarrow as pa
    import pyarrow.types as pt

    if pt.is_dictionary(array.type):
        array = array.indices
    typ, n = array.type, len(array)
    mask = None
    if array.null_count and not pt.is_null(typ):
        mask = array.is_null().to_numpy(zero_copy_only=False)
    if pt.is_null(typ):
        return Canon(str(typ), n, "null", np.empty(0, np.uint8))
    if pt.is_boolean(typ):
        filled = array.fill_null(False) if mask is not None else array
        data = filled.to_numpy(zero_copy_only=False).view(np.uint8)
        return Canon(str(typ), n, "fixed", data, 1, mask=mask)
    if pt.is_string(typ) or pt.is_binary(typ) or pt.is_large_string(typ) or pt.is_large_binary(typ):
        return _var(array, mask)
    if pt.is_string_view(typ) or pt.is_binary_view(typ):
        target = pa.large_string() if pt.is_string_view(typ) else pa.large_binary()
        return _var(array.cast(target), mask)
    try:
        width = typ.bit_width // 8
    except ValueError:
        width = 0
    if width == 0 or array.buffers()[1] is None:
        return Canon(str(typ), n, "other", np.empty(0, np.uint8), mask=mask, array=array)
    raw = np.frombuffer(array.buffers()[1], dtype=np.uint8, count=(array.offset + n) * width)
    data = raw[array.offset * width :]
    if mask is not None:
        data = data.reshape(n, width).copy()
        data[mask] = 0
        data = data.reshape(-1)
    return Canon(str(typ), n, "fixed", data, width, mask=mask)


def _var(array: pa.Array, mask: np.ndarray | None) -> Canon:
    import pyarrow.types as pt

    if mask is not None:
        array = array.fill_null(
            "" if pt.is_string(array.type) or pt.is_large_string(array.type) else b""
        )
    n = len(array)
    dtype = (
        np.int64 if pt.is_large_string(array.type) or pt.is_large_binary(array.type) else np.int32
    )
    _, off_buf, data_buf = array.buffers()
    offsets = np.frombuffer(off_buf, dtype=dtype, count=array.offset + n + 1)[array.offset :]
    offsets = offsets.astype(np.int64, copy=False)
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.empty(0, np.uint8)
    )
    return Canon(str(array.type), n, "var", data, offsets=offsets, mask=mask)


def _fixed_words(data: np.ndarray, n: int, width: int) -> np.ndarray:
    if width == 8:
        return data.view(np.uint64)
    if width in (1, 2, 4):
        return data.view(f"u{width}").astype(np.uint64)
    rows = data.reshape(n, width)
    if width % 8 == 0:
        lanes = rows.view(np.uint64)
        words = lanes[:, 0].copy()
        for j in range(1, lanes.shape[1]):
            words = (words * _MUL) ^ lanes[:, j]
        return words
    words = np.zeros(n, dtype=np.uint64)
    for j in range(width):
        words = (words * _MUL) ^ rows[:, j].astype(np.uint64)
    return words


def _var_words(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """A word per value from its length and first and last 8 bytes.

    Only chunk boundaries use these words (blob keys hash every byte), so a
    change in the middle of a long string keeping boundaries in place is fine.
    """
    lengths = np.diff(offsets)
    base = int(offsets[0])
    padded = np.zeros(int(offsets[-1]) - base + 8, dtype=np.uint8)
    padded[:-8] = data[base : int(offsets[-1])]
    # a uint64 starting at every byte: unaligned reads through a 1-byte stride
    view = np.ndarray(shape=(len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))
    starts = offsets[:-1] - base
    keep = _BYTE_MASKS[np.minimum(lengths, 8)]
    first = view[starts] & keep
    last = view[np.maximum(starts + lengths - 8, starts)] & keep
    return (first * _MUL) ^ (last * _MIX1) ^ (lengths.astype(np.uint64) * _MIX2)


def coded_words(array: pa.Array) -> np.ndarray:
    """The row words of a dictionary array's values, from one word per category.

    Equal to ``canonical(array.dictionary_decode()).row_words()``, without hashing a
    value per row.
    """
    if len(array.dictionary) == 0:  # no categories: every row is null
        return canonical(array.dictionary_decode()).row_words()
    categories = canonical(array.dictionary).row_words()
    mask = array.is_null().to_numpy(zero_copy_only=False) if array.null_count else None
    codes = array.indices.fill_null(0).to_numpy(zero_copy_only=False)
    words = categories[codes]
    if mask is not None:
        words[mask] = 0
        words ^= mask.astype(np.uint64) * _NULL
    return words


def row_hashes(canons: Sequence[Canon], length: int) -> np.ndarray:
    """Combine every column into one well-mixed 64-bit hash per row."""
    h = np.full(length, 0x243F6A8885A308D3, dtype=np.uint64)
    for canon in canons:
        np.bitwise_xor(h, canon.row_words(), out=h)
        np.multiply(h, _MUL, out=h)
    np.bitwise_xor(h, h >> np.uint64(31), out=h)
    np.multiply(h, _MIX1, out=h)
    np.bitwise_xor(h, h >> np.uint64(29), out=h)
    np.multiply(h, _MIX2, out=h)
    np.bitwise_xor(h, h >> np.uint64(32), out=h)
    return h


def blob_key(parts: Iterable[Any]) -> str:
    """SHA-256 (hex) of a blob's canonical parts: the name it is stored under."""
    digest = hashlib.sha256(FORMAT.encode())
    for part in parts:
        digest.update(part)
    return digest.hexdigest()


def content_key(array: pa.Array) -> str:
    """The key of the blob holding ``array``: its canonical bytes hashed."""
    canon = canonical(array)
    return blob_key(canon.parts(0, canon.length))


def same_content(a: pa.Array, b: pa.Array) -> bool:
    """True when both arrays have the same canonical bytes (hence the same content key)."""
    if len(a) != len(b) or a.type != b.type:
        return False
    left, right = canonical(a), canonical(b)
    parts = zip(left.parts(0, left.length), right.parts(0, right.length), strict=False)
    return all(
        np.array_equal(np.frombuffer(x, np.uint8), np.frombuffer(y, np.uint8)) for x, y in parts
    )


def snapshot_digest(schema_text: str, kind: str, rows: int, keys: Iterable[str]) -> str:
    """The 128-bit digest (32 hex digits) naming a snapshot's content.

    ``keys`` are the whole-column hashes (and dictionary hashes) in column order,
    so the digest depends on the content only, not on how it is chunked.
    """
    digest = hashlib.sha256(f"{FORMAT}|{kind}|{schema_text}|{rows}|".encode())
    for key in keys:
        digest.update(key.encode())
    return digest.hexdigest()[:32]
