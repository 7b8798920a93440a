"""The blob format: compressed when it pays, stored raw when it does not, always faithful."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_mlops.data.blobs import decode_blob, encode_blob

#: at the boundary with MLflow or pandas: run again in each environment of make test-compat
pytestmark = pytest.mark.compat


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(1).normal(size=10_000),  # noise: does not compress
        np.arange(10_000, dtype="int64"),  # compresses well
        np.zeros(10_000, dtype="float32"),
        np.arange(10_000, dtype="int64").astype("datetime64[ns]"),
    ],
    ids=["noise", "arange", "zeros", "datetimes"],
)
def test_plain_columns_round_trip_bit_for_bit(values: np.ndarray) -> None:
    array = pa.array(values)
    back = decode_blob(encode_blob(array))
    assert back.type == array.type
    assert back.equals(array)


def test_incompressible_values_are_kept_raw_and_compressible_ones_shrink() -> None:
    noise = pa.array(np.random.default_rng(2).normal(size=50_000))
    ramp = pa.array(np.arange(50_000, dtype="int64"))
    raw_size = 50_000 * 8
    # Raw storage costs the values plus a small header, never more.
    assert raw_size < len(encode_blob(noise)) < raw_size + 256
    assert len(encode_blob(ramp)) < raw_size / 2


def test_a_slice_encodes_only_its_own_values() -> None:
    array = pa.array(np.random.default_rng(3).normal(size=1_000))
    part = array.slice(250, 500)
    assert decode_blob(encode_blob(part)).equals(part)


def test_values_with_nulls_and_strings_round_trip() -> None:
    for array in (
        pa.array([1.5, None, 3.0]),
        pa.array(["a", None, "ccc"], type=pa.large_string()),
    ):
        assert decode_blob(encode_blob(array)).equals(array)


@pytest.mark.parametrize("rows", [0, 1, 7, 8, 9, 1000, 4099])
def test_booleans_pack_to_bits_and_round_trip_from_any_offset(rows: int) -> None:
    bits = np.random.default_rng(rows).random(rows + 5) < 0.9
    array = pa.array(bits[:rows])
    assert decode_blob(encode_blob(array)).equals(array)
    part = pa.array(bits).slice(3, rows)  # a slice starting inside a byte
    assert decode_blob(encode_blob(part)).equals(part)
    assert len(encode_blob(array)) <= rows // 8 + 64  # a row mask costs its bits, not bytes


def test_small_blobs_name_their_type_in_a_few_bytes() -> None:
    for array in (
        pa.array(np.arange(5, dtype="int64")),
        pa.array(np.arange(5, dtype="int64")).cast(pa.timestamp("ns", tz="Europe/Paris")),
        pa.array(np.arange(5, dtype="int32")).cast(pa.date32()),
    ):
        blob = encode_blob(array)
        assert len(blob) < 80, (array.type, len(blob))  # a serialised schema alone is 120+
        back = decode_blob(blob)
        assert back.type == array.type and back.equals(array)


@pytest.mark.parametrize("typ", [pa.string(), pa.large_string(), pa.binary(), pa.large_binary()])
def test_a_few_strings_cost_their_bytes_not_stream_headers(typ: pa.DataType) -> None:
    words = [f"user-{i * 7919}".encode() for i in range(40)]
    array = pa.array(words, type=pa.binary()).cast(typ)
    for part in (array.slice(0, 6), array.slice(13, 5), array.slice(2, 0), array):
        blob = encode_blob(part)
        back = decode_blob(blob)
        assert back.type == part.type and back.equals(part)
        content = sum(len(w) for w in part.to_pylist()) + 8 * (len(part) + 1)  # bytes, offsets
        assert len(blob) <= 64 + content, (typ, len(part), len(blob))  # a stream's headers: 300+
    many = pa.array([f"v{i}" for i in range(5000)], type=typ if typ != pa.binary() else None)
    assert decode_blob(encode_blob(many)).equals(many)  # many rows: an Arrow stream, as before
    nulls = pa.array(["a", None, "ccc", None, "dd", "e", None, "f", "g"], type=pa.string()).cast(
        typ
    )
    for part in (nulls, nulls.slice(1, 4), nulls.slice(3, 6)):
        blob = encode_blob(part)
        assert decode_blob(blob).equals(part) and len(blob) < 120, (typ, len(blob))


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["int8", "uint8", "int16", "int32", "uint32", "int64", "uint64", "bool"]),
    st.integers(1, 3000),
    st.integers(0, 2**16),
    st.floats(0.0, 0.3),
    st.sampled_from([0, 1, 3]),
)
def test_a_common_step_with_exceptions_round_trips_in_any_width(
    dtype: str, rows: int, seed: int, share: float, common: int
) -> None:
    """Counting runs broken here and there (a kept index, a row mask) and runs of equal values
    (a sorted column: a common step of 0) decode bit for bit."""
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        values = rng.random(rows + 3) >= share
    else:
        steps = np.full(rows + 3, common, dtype=np.int64)
        odd = rng.random(rows + 3) < share
        steps[odd] = rng.integers(-(2**62), 2**62, int(odd.sum()))
        values = np.cumsum(steps).astype(dtype)  # wraps in narrow widths, as a column may
    for array in (pa.array(values[:rows]), pa.array(values).slice(3, rows)):
        back = decode_blob(encode_blob(array))
        assert back.type == array.type and back.equals(array)


@pytest.mark.parametrize("dtype", ["int8", "uint16", "int32", "int64"])
def test_a_sorted_column_of_a_few_values_is_a_few_runs_and_decodes_exactly(dtype: str) -> None:
    rng = np.random.default_rng(6)
    values = np.sort(rng.integers(-2, 3, 100_000)).astype(dtype)  # 5 runs: a common step of 0
    for array in (pa.array(values), pa.array(values).slice(7, 50_000)):
        blob = encode_blob(array)
        assert decode_blob(blob).equals(array)
        assert len(blob) < 100, len(blob)  # the runs' starts and values, not the rows


def test_a_kept_index_after_a_scattered_delete_costs_about_a_byte_per_deleted_row() -> None:
    rng = np.random.default_rng(4)
    kept = np.delete(np.arange(200_000, dtype="int64"), rng.choice(200_000, 2000, replace=False))
    mask = np.ones(200_000, dtype=bool)
    mask[rng.choice(200_000, 2000, replace=False)] = False
    for array in (pa.array(kept), pa.array(mask)):
        blob = encode_blob(array)
        assert decode_blob(blob).equals(array)
        assert len(blob) < 1.5 * 2000, (array.type, len(blob))  # zstd over the steps: 2.2+ per row


def test_a_categorical_slice_costs_about_its_codes_and_keeps_its_values() -> None:
    import pandas as pd

    rng = np.random.default_rng(5)
    values = rng.choice(["alpha", "beta", "gamma", None], 50_000, p=[0.5, 0.3, 0.15, 0.05])
    column = pa.array(pd.Categorical(values, categories=["gamma", "beta", "alpha", "unused"]))
    codes = pa.array(column.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype("int8"))
    for part in (column, column.slice(7, 20_000), column.slice(3, 0)):
        blob = encode_blob(part)
        back = decode_blob(blob, keep_dictionary=True)
        assert back.dictionary_decode().equals(part.dictionary_decode())
        assert decode_blob(blob).equals(part.dictionary_decode())
        assert len(back.dictionary) <= 3  # the values the slice uses, not every category
    # the values are stored once per slice, the rows as narrow codes (an Arrow stream: 2x)
    assert len(encode_blob(column)) <= 1.1 * len(encode_blob(codes)) + 64
