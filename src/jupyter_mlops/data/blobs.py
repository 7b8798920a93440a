"""The blob file format: one column slice, compressed, as the snapshot store keeps it.

Plain fixed-width values are raw bytes, a few strings their offsets and bytes, the rest
single-column Arrow IPC streams; a slice of a categorical column is its values,
dictionary-encoded over the slice's own values.
"""

from __future__ import annotations

import functools
import struct
from typing import TYPE_CHECKING, Any

import numpy as np

from . import steps

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

__all__ = ["STORED_VALUES", "as_values", "decode_blob", "encode_blob"]

#: in a manifest, a categorical column whose chunk blobs hold its values (before: its codes)
STORED_VALUES = "values"


#: blobs of plain fixed-width values: magic, schema, codec, raw length, compressed bytes
_RAW_MAGIC = b"MLR1"
#: the same with the type as its short name instead of a serialised schema (small blobs:
#: residual rows, masks, order blobs pay 120 bytes less); written whenever the name round-trips
_RAW_MAGIC_2 = b"MLR2"
#: steps-zstd: the steps (differences; a boolean's bits) as a mode and its exceptions (.steps)
_CODECS = ("lz4", "zstd", "none", "delta-zstd", "steps-zstd")
#: a few strings (the residual rows of a changed chunk): magic, type name, rows, byte counts
#: of the offsets, the values and the validity bits (0 without nulls), then all three
#: zstd-compressed; an Arrow stream's headers alone
#: are 300+ bytes, more than the handful of values such a blob holds
_TEXT_MAGIC = b"MLS1"
#: a slice of a categorical column: magic, the byte count of the blob of the values it uses,
#: that blob, then the blob of its codes in those values (narrow integers, -1 for a null);
#: blobs written before it are dictionary-encoded Arrow streams, which still read
_DICT_MAGIC = b"MLD1"
_TEXT_ROWS = 4096
#: keep compressed bytes only when they save at least this share of the raw size
_WORTH = 0.9
#: steps listed in under a bit per this many rows are taken without trying zstd
_FEW_BITS = 8


def _is_plain(array: pa.Array) -> bool:
    import pyarrow.types as pt

    t = array.type
    fixed = pt.is_integer(t) or pt.is_floating(t) or pt.is_temporal(t) or pt.is_boolean(t)
    return fixed and array.null_count == 0 and array.buffers()[1] is not None


def _plain_bytes(array: pa.Array) -> tuple[Any, int]:
    """The values' bytes and the length to record: bytes, or rows for booleans (bits)."""
    import pyarrow as pa
    import pyarrow.types as pt

    if pt.is_boolean(array.type):
        bits = np.packbits(array.to_numpy(zero_copy_only=False), bitorder="little")
        return pa.py_buffer(bits.tobytes()), len(array)
    width = array.type.bit_width // 8
    raw = array.buffers()[1][array.offset * width : (array.offset + len(array)) * width]
    return raw, raw.size


def encode_blob(array: pa.Array) -> bytes:
    """Serialise one column slice, compressed.

    Plain fixed-width values without nulls (booleans as packed bits: row masks
    are booleans) are stored as their raw bytes (cheap to decode); everything
    else as an Arrow IPC stream, or a few strings as their offsets, bytes and
    validity bits when that is smaller. Floating-point data
    rarely compresses, so it gets fast lz4; the rest zstd. Raw bytes that do
    not shrink by a tenth are kept uncompressed, so loading them is a plain
    read with no decompression. A dictionary array (a slice of a categorical column) is
    stored as its values, dictionary-encoded over the slice's own values.
    """
    import pyarrow as pa
    import pyarrow.types as pt

    codec = "lz4" if pt.is_floating(array.type) else "zstd"
    if _is_plain(array):
        codec, length, packed = _pack_plain(array, codec)
        text = _type_text(array.type)
        if text is not None:
            header = struct.pack("<4sB", _RAW_MAGIC_2, len(text)) + text
        else:
            schema = pa.schema([("v", array.type)]).serialize().to_pybytes()
            header = struct.pack("<4sI", _RAW_MAGIC, len(schema)) + schema
        return header + struct.pack("<BQ", _CODECS.index(codec), length) + packed
    if pt.is_dictionary(array.type):  # a categorical's values, coded over this slice only
        return _encode_dictionary(array)
    stream = _ipc_stream(array, codec)
    if _is_small_text(array):  # whichever is smaller: the stream compresses each buffer apart
        return min(_encode_text(array), stream, key=len)
    return stream


@functools.lru_cache(maxsize=1)
def _zstd3() -> pa.Codec:
    """zstd at level 3: level 1 leaves long runs of equal differences barely compressed."""
    import pyarrow as pa

    return pa.Codec("zstd", compression_level=3)


def _unlist_steps(body: memoryview, typ: pa.DataType, rows: int) -> pa.Buffer:
    """The raw buffer of a ``steps-zstd`` body: a boolean's packed bits, else the values."""
    import pyarrow as pa

    (size,) = struct.unpack_from("<Q", body, 0)
    listed = pa.decompress(body[8:], decompressed_size=size, codec="zstd")
    if typ.bit_width == 1:
        bits = steps.decode_steps(listed, rows, np.dtype(np.uint8)).view(bool)
        return pa.py_buffer(np.packbits(bits, bitorder="little").tobytes())
    width = typ.bit_width // 8
    return pa.py_buffer(steps.decode_values(listed, rows, np.dtype(f"<u{width}")))


def _pack_plain(array: pa.Array, codec: str) -> tuple[str, int, bytes]:
    """The codec, the length to record and the body of a plain fixed-width slice: the smallest.

    Floats get lz4 (they rarely compress). Integers, temporals and booleans get the smallest
    of zstd, zstd over the differences of neighbours (ids, a kept index, timestamps) and the
    steps listed (:mod:`.steps`); when the steps cost under a bit per :data:`_FEW_BITS` rows
    (an id, a sorted column, a mask of a sparse edit) nothing is smaller to find, and the
    other two are not tried.
    """
    import pyarrow as pa
    import pyarrow.types as pt

    raw, length = _plain_bytes(array)
    options: list[tuple[str, bytes]] = []
    if codec == "zstd":
        if pt.is_boolean(array.type):  # row masks: the rows outside the common value
            values = array.to_numpy(zero_copy_only=False).view(np.uint8)
        else:
            width = array.type.bit_width // 8
            values = steps.deltas(np.frombuffer(raw, dtype=f"<u{width}"))
        body = steps.encode_steps(values)
        if body is not None:
            listed = struct.pack("<Q", len(body)) + _zstd3().compress(body, asbytes=True)
            if 8 * len(listed) * _FEW_BITS <= len(values):
                return "steps-zstd", length, listed
            options.append(("steps-zstd", listed))
        if not pt.is_boolean(array.type):
            options.append(("delta-zstd", _zstd3().compress(values.tobytes(), asbytes=True)))
    options.append((codec, pa.compress(raw, codec=codec, asbytes=True)))
    codec, packed = min(options, key=lambda option: len(option[1]))
    if len(packed) > _WORTH * raw.size:
        codec, packed = "none", raw.to_pybytes()
    return codec, length, packed


def _encode_dictionary(array: pa.DictionaryArray) -> bytes:
    """A slice of a categorical column as the values it uses and its codes in them.

    So the blob depends on the slice's values only: a categorical column's codes change
    with its categories (a new one sorting first shifts them all), its values do not. The
    codes (-1 for a null) are narrow plain integers, encoded as any other (zstd, differences
    or steps), as small and as quick to write as the column's own codes; an Arrow stream of a
    dictionary array holds 32-bit indices and costs twice the bytes and three times the time.
    """
    import pyarrow as pa

    indices = array.indices
    codes = indices.fill_null(-1) if indices.null_count else indices
    codes = codes.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    valid = codes[codes >= 0] if indices.null_count else codes
    used = np.flatnonzero(np.bincount(valid, minlength=len(array.dictionary)))
    width = next(w for w in (np.int8, np.int16, np.int32) if len(used) <= np.iinfo(w).max)
    local = np.full(len(array.dictionary) + 1, -1, dtype=width)
    local[used] = np.arange(len(used), dtype=width)
    used_values = array.dictionary.take(pa.array(used, type=pa.int64()))
    # a few strings (as categories mostly are): their bytes, without an Arrow stream to compare
    small = _is_small_text(used_values) and len(used_values) <= 64
    values = _encode_text(used_values) if small else encode_blob(used_values)
    coded = encode_blob(pa.array(local[codes]))  # a null (-1) reads the last slot: -1
    return _DICT_MAGIC + struct.pack("<I", len(values)) + values + coded


def _decode_dictionary(data: bytes) -> pa.DictionaryArray:
    import pyarrow as pa

    (size,) = struct.unpack_from("<I", data, 4)
    values = decode_blob(data[8 : 8 + size])
    codes = decode_blob(data[8 + size :])
    nulls = codes.to_numpy(zero_copy_only=False) < 0
    if nulls.any():
        codes = pa.array(codes.to_numpy(zero_copy_only=False), mask=nulls)
    return pa.DictionaryArray.from_arrays(codes, values)


def _ipc_stream(array: pa.Array, codec: str) -> bytes:
    import pyarrow as pa

    batch = pa.record_batch([array], names=["v"])
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression=pa.Codec(codec))
    with pa.ipc.new_stream(sink, batch.schema, options=options) as writer:
        writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def _is_small_text(array: pa.Array) -> bool:
    import pyarrow.types as pt

    t = array.type
    text = pt.is_string(t) or pt.is_large_string(t) or pt.is_binary(t) or pt.is_large_binary(t)
    if not text or len(array) > _TEXT_ROWS or array.buffers()[1] is None:
        return False
    return _type_text(t) is not None


def _encode_text(array: pa.Array) -> bytes:
    """A few strings as their offsets (from 0) and bytes, compressed together."""
    import pyarrow as pa
    import pyarrow.types as pt

    wide = pt.is_large_string(array.type) or pt.is_large_binary(array.type)
    _, off_buf, data_buf = array.buffers()
    count = array.offset + len(array) + 1
    offsets = np.frombuffer(off_buf, dtype=np.int64 if wide else np.int32, count=count)
    offsets = offsets[array.offset :]
    start, stop = int(offsets[0]), int(offsets[-1])
    data = data_buf.to_pybytes()[start:stop] if data_buf is not None else b""
    valid = b""
    if array.null_count:
        bits = array.is_valid().to_numpy(zero_copy_only=False)
        valid = np.packbits(bits, bitorder="little").tobytes()
    spans = (len(array), 8 * len(offsets) if wide else 4 * len(offsets), len(data), len(valid))
    raw = (offsets - offsets[0]).tobytes() + data + valid
    text = _type_text(array.type) or b""
    header = struct.pack("<4sB", _TEXT_MAGIC, len(text)) + text
    packed = pa.compress(raw, codec="zstd", asbytes=True)
    return header + struct.pack("<QQQQ", *spans) + packed


def _decode_text(data: bytes) -> pa.Array:
    import pyarrow as pa

    size = data[4]
    typ = _type_from_text(data[5 : 5 + size])
    rows, offset_bytes, data_bytes, valid_bytes = struct.unpack_from("<QQQQ", data, 5 + size)
    raw = pa.decompress(
        memoryview(data)[5 + size + 32 :],
        decompressed_size=offset_bytes + data_bytes + valid_bytes,
        codec="zstd",
    )
    offsets = raw.slice(0, offset_bytes)
    values = raw.slice(offset_bytes, data_bytes)
    valid = raw.slice(offset_bytes + data_bytes) if valid_bytes else None
    return pa.Array.from_buffers(typ, rows, [valid, offsets, values])


@functools.lru_cache(maxsize=256)
def _type_text(typ: pa.DataType) -> bytes | None:
    """The type's short name when :func:`_type_from_text` gives the same type back."""
    text = str(typ).encode()
    try:
        same = len(text) < 256 and _type_from_text(text) == typ
    except (ValueError, KeyError, TypeError):
        same = False
    return text if same else None


@functools.lru_cache(maxsize=256)
def _type_from_text(text: bytes) -> pa.DataType:
    import re

    import pyarrow as pa

    name = text.decode()
    zoned = re.fullmatch(r"timestamp\[(s|ms|us|ns), tz=(.+)\]", name)
    if zoned:
        return pa.timestamp(zoned[1], tz=zoned[2])
    return pa.type_for_alias(name)


@functools.lru_cache(maxsize=256)
def _raw_field(schema: bytes) -> pa.Field:
    """The one field of a raw blob's header (a handful of distinct ones per store)."""
    import pyarrow as pa

    return pa.ipc.read_schema(pa.py_buffer(schema)).field(0)


def decode_blob(data: bytes, keep_dictionary: bool = False) -> pa.Array:
    """Inverse of :func:`encode_blob`: the values, or with ``keep_dictionary`` the
    dictionary-encoded array a categorical's blob may hold (cheaper to turn into codes)."""
    import pyarrow as pa

    if data[:4] in (_RAW_MAGIC, _RAW_MAGIC_2):
        if data[:4] == _RAW_MAGIC:
            (size,) = struct.unpack_from("<I", data, 4)
            typ, at = _raw_field(data[8 : 8 + size]).type, 8 + size
        else:
            size = data[4]
            typ, at = _type_from_text(data[5 : 5 + size]), 5 + size
        codec, length = struct.unpack_from("<BQ", data, at)
        body = memoryview(data)[at + 9 :]
        width = max(typ.bit_width // 8, 1)
        if typ.bit_width == 1:  # booleans record rows; their bytes are packed bits
            rows, length = length, (length + 7) // 8
        else:
            rows = length // width
        if _CODECS[codec] == "none":
            raw = pa.py_buffer(body)
        elif _CODECS[codec] == "delta-zstd":
            plain = pa.decompress(body, decompressed_size=length, codec="zstd")
            raw = pa.py_buffer(steps.undo_deltas(np.frombuffer(plain, dtype=f"<u{width}")))
        elif _CODECS[codec] == "steps-zstd":
            raw = _unlist_steps(body, typ, rows)
        else:
            raw = pa.decompress(body, decompressed_size=length, codec=_CODECS[codec])
        return pa.Array.from_buffers(typ, rows, [None, raw])
    if data[:4] == _TEXT_MAGIC:
        return _decode_text(data)
    if data[:4] == _DICT_MAGIC:
        found = _decode_dictionary(data)
        return found if keep_dictionary else as_values(found)
    with pa.ipc.open_stream(pa.py_buffer(data)) as reader:
        table = reader.read_all()
    column = table.column(0)
    array = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    return array if keep_dictionary else as_values(array)


def as_values(array: pa.Array) -> pa.Array:
    """The values of a blob as decoded with ``keep_dictionary``.

    A blob is dictionary-encoded only to be small; no blob holds a column's codes.
    """
    import pyarrow.types as pt

    return array.dictionary_decode() if pt.is_dictionary(array.type) else array
