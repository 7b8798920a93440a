"""Snapshots without MLflow: dtype round trips, digests, dedupe, refs, verify and gc.

Every test runs against a local folder and an in-memory fsspec store.
"""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from pandas.testing import assert_frame_equal

from jupyter_mlops.data import chunking
from jupyter_mlops.data.api import load, snapshot, snapshots
from jupyter_mlops.data.maintenance import collect_garbage, verify_store
from jupyter_mlops.data.reader import PIN_ENV
from jupyter_mlops.data.store import SnapshotStore, StoreUnwritable
from jupyter_mlops.errors import InvalidInput, NotFound

#: at the boundary with MLflow or pandas: run again in each environment of make test-compat
pytestmark = pytest.mark.compat


@pytest.fixture(params=["file", "memory"])
def uri(request: pytest.FixtureRequest, tmp_path, monkeypatch) -> str:
    monkeypatch.delenv(PIN_ENV, raising=False)
    monkeypatch.delenv("MLOPS_RUN_ID", raising=False)
    if request.param == "memory":
        return f"memory://snap-{uuid.uuid4().hex}"
    return str(tmp_path / "data")


def _all_dtypes(n: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "int": np.arange(n, dtype="int64"),
            "u8": np.arange(n, dtype="uint8"),
            "f32": rng.normal(size=n).astype("float32"),
            "float_nan": [np.nan if i % 3 == 0 else i / 7 for i in range(n)],
            "Int64": pd.array([None if i % 4 == 0 else i for i in range(n)], dtype="Int64"),
            "boolean": pd.array([None if i % 5 == 0 else i % 2 == 0 for i in range(n)], "boolean"),
            "bool": [i % 2 == 0 for i in range(n)],
            "obj_str": pd.Series([None if i == 2 else f"s{i}" for i in range(n)], dtype=object),
            "arrow_str": pd.Series([f"ü{i}" for i in range(n)], dtype="string[pyarrow]"),
            "str": pd.Series([None if i == 1 else f"t{i}" for i in range(n)], dtype="str"),
            "cat": pd.Categorical(
                [["lo", "mid", "hi"][i % 3] for i in range(n)],
                categories=["hi", "mid", "lo"],
                ordered=True,
            ),
            "dt": pd.date_range("2024-01-01", periods=n, freq="h"),
            "dt_tz": pd.date_range("2024-03-30", periods=n, freq="6h", tz="Europe/Paris"),
            "td": pd.to_timedelta(np.arange(n), unit="s"),
        },
        index=pd.Index([f"row{i}" for i in range(n)], name="key"),
    )


def test_every_common_dtype_round_trips_exactly(uri: str) -> None:
    frame = _all_dtypes()
    ref = snapshot(frame, "all", store=uri)
    back = load(ref.ref, store=uri)
    assert_frame_equal(back, frame, check_exact=True)
    assert list(back.dtypes) == list(frame.dtypes)


def test_multiindex_range_index_series_arrow_and_numpy_round_trip(uri: str) -> None:
    frame = _all_dtypes().reset_index().set_index(["int", "cat"])
    snapshot(frame, "multi", store=uri)
    assert_frame_equal(load("multi", store=uri), frame, check_exact=True)

    ranged = pd.DataFrame({"a": [1, 2, 3]}, index=pd.RangeIndex(10, 16, 2))
    snapshot(ranged, "ranged", store=uri)
    assert_frame_equal(load("ranged", store=uri), ranged, check_exact=True)

    series = pd.Series([1.5, None, 3.0], name="y")
    snapshot(series, "series", store=uri)
    pd.testing.assert_series_equal(load("series", store=uri), series, check_exact=True)

    table = pa.table({"a": [1, 2, None], "b": ["x", None, "z"]})
    snapshot(table, "table", store=uri)
    assert load("table", store=uri).equals(table)

    matrix = np.random.default_rng(1).normal(size=(50, 4)).astype("float32")
    snapshot(matrix, "matrix", store=uri)
    back = load("matrix", store=uri)
    assert back.dtype == matrix.dtype and np.array_equal(back, matrix)


def test_empty_frame_round_trips(uri: str) -> None:
    frame = pd.DataFrame({"a": pd.Series([], dtype="int64"), "b": pd.Series([], dtype="str")})
    ref = snapshot(frame, "empty", store=uri)
    assert ref.rows == 0 and ref.cols == 2
    assert_frame_equal(load("empty", store=uri), frame, check_exact=True)


def test_refused_inputs_name_the_problem(uri: str) -> None:
    with pytest.raises(InvalidInput, match=r"cannot snapshot a dict; give a pandas DataFrame"):
        snapshot({"a": 1}, "x", store=uri)
    with pytest.raises(InvalidInput, match=r"column 'd' holds lists or dicts"):
        snapshot(pd.DataFrame({"d": [{"k": 1}, {"k": 2}]}), "x", store=uri)
    with pytest.raises(InvalidInput, match=r"cannot store this frame faithfully"):
        snapshot(pd.DataFrame({"m": [1, "two", 3.0]}), "x", store=uri)
    with pytest.raises(InvalidInput, match=r"letters, digits"):
        snapshot(pd.DataFrame({"a": [1]}), "../x", store=uri)
    with pytest.raises(InvalidInput, match=r"1-128"):
        snapshot(pd.DataFrame({"a": [1]}), "x" * 129, store=uri)
    assert SnapshotStore(uri).names() == []  # nothing half-written


def test_digest_ignores_memory_layout_and_sees_every_change(uri: str) -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=(2000, 3))
    frame = pd.DataFrame(values, columns=["a", "b", "c"])  # one 2-D block, strided columns
    frame["s"] = [f"v{i}" for i in range(2000)]
    rebuilt = pd.DataFrame({c: frame[c].to_numpy().copy() for c in frame.columns})
    chunked = pa.concat_tables(
        [pa.Table.from_pandas(frame.iloc[:700]), pa.Table.from_pandas(frame.iloc[700:])]
    ).to_pandas()
    digests = {snapshot(f, "d", store=uri).digest for f in (frame, rebuilt, chunked)}
    assert len(digests) == 1
    assert len(next(iter(digests))) == 32  # 128 bits

    changed_cell = frame.copy()
    changed_cell.iloc[1234, 1] += 1e-12
    retyped = frame.astype({"a": "float32"})
    reordered = frame[["b", "a", "c", "s"]]
    renamed = frame.rename(columns={"c": "C"})
    reindexed = frame.set_axis(pd.RangeIndex(1, 2001))
    variants = (changed_cell, retyped, reordered, renamed, reindexed)
    seen = {snapshot(frame, "d", store=uri).digest}
    for variant in variants:
        seen.add(snapshot(variant, "v", store=uri).digest)
    assert len(seen) == 1 + len(variants)


def test_unchanged_snapshot_is_free_and_keeps_the_version(uri: str) -> None:
    frame = _all_dtypes(100)
    first = snapshot(frame, "same", store=uri)
    again = snapshot(frame.copy(), "same", store=uri)
    assert (again.version, again.digest, again.bytes_stored) == (1, first.digest, 0)
    assert again.unchanged and not first.unchanged
    snapshot(frame.head(3), "same", store=uri)
    back = snapshot(frame, "same", store=uri)  # same content as v1, but not the latest
    assert (back.version, back.digest, back.bytes_stored, back.unchanged) == (
        3,
        first.digest,
        0,
        False,
    )
    assert len(snapshots("same", store=uri)) == 3


def _blob_bytes(uri: str) -> int:
    store = SnapshotStore(uri)
    return sum(len(store.fs.cat_file(p)) for p in store.blob_files())


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of ~256 rows so dedupe is measurable on frames of a few thousand rows."""
    monkeypatch.setattr(chunking, "TARGET_CHUNK_BYTES", 256 * 24)


def _numbers(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "x": rng.normal(size=n),
            "s": [f"k{v}" for v in rng.integers(0, 99, n)],
        }
    )


@pytest.mark.parametrize(
    "edit",
    ["append", "insert_middle", "delete_middle", "change_cells"],
)
def test_edits_store_only_the_changed_chunks(uri: str, small_chunks: None, edit: str) -> None:
    frame = _numbers(40_000)
    first = snapshot(frame, "t", store=uri)
    extra = _numbers(400, seed=9)
    edited = {
        "append": lambda: pd.concat([frame, extra], ignore_index=True),
        "insert_middle": lambda: pd.concat(
            [frame.iloc[:20_000], extra, frame.iloc[20_000:]], ignore_index=True
        ),
        "delete_middle": lambda: frame.drop(index=range(20_000, 20_400)).reset_index(drop=True),
        "change_cells": lambda: frame.assign(x=frame["x"].where(frame.index % 15_000 != 7, 0.0)),
    }[edit]()
    second = snapshot(edited, "t", store=uri)
    assert second.version == 2 and second.digest != first.digest
    assert 0 < second.bytes_stored <= 0.05 * first.bytes_stored, (edit, second, first)
    assert second.dedup_ratio > 0.9
    assert _blob_bytes(uri) == first.bytes_stored + second.bytes_stored
    assert_frame_equal(load("t@v2", store=uri), edited, check_exact=True)
    assert_frame_equal(load("t@v1", store=uri), frame, check_exact=True)


def test_refs_by_version_digest_prefix_and_pin(uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    v1 = snapshot(pd.DataFrame({"a": [1, 2]}), "r", store=uri)
    v2 = snapshot(pd.DataFrame({"a": [1, 2, 3]}), "r", store=uri)
    assert len(load("r", store=uri)) == 3
    assert len(load("r@v1", store=uri)) == 2
    assert len(load(f"r@{v1.digest[:6]}", store=uri)) == 2
    assert len(load(f"mlops://r@{v2.digest}", store=uri)) == 3
    monkeypatch.setenv(PIN_ENV, f'{{"r": "{v1.digest}"}}')
    assert len(load("r", store=uri)) == 2
    assert len(load("r@v2", store=uri)) == 3  # explicit versions win over pins
    table = snapshots("r", store=uri)
    assert list(table["ref"]) == ["r@v1", "r@v2"]
    assert list(table["rows"]) == [2, 3]


def test_unknown_refs_say_what_exists(uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot(pd.DataFrame({"a": [1]}), "known", store=uri)
    with pytest.raises(NotFound, match=r"no snapshot named 'nope'.*known: known"):
        load("nope", store=uri)
    with pytest.raises(NotFound, match=r"no version v7; versions are v1..v1"):
        load("known@v7", store=uri)
    with pytest.raises(NotFound, match=r"no version whose digest starts with 'ffffffff'"):
        load("known@ffffffff", store=uri)
    with pytest.raises(InvalidInput, match=r"name@v3"):
        load("known@latest", store=uri)
    monkeypatch.setenv(PIN_ENV, "not json")
    with pytest.raises(InvalidInput, match=PIN_ENV):
        load("known", store=uri)


def test_ambiguous_digest_prefix_lists_candidates(uri: str) -> None:
    snapshot(pd.DataFrame({"a": [1]}), "amb", store=uri)
    store = SnapshotStore(uri)
    manifest = store.read_manifest("amb", 1)
    for tail in ("1111", "2222"):  # two versions whose digests share a prefix
        store.write_manifest("amb", {**manifest, "digest": "abcd" + tail * 7})
    with pytest.raises(InvalidInput, match=r"'abcd' is ambiguous: amb@v2 .*amb@v3"):
        load("amb@abcd", store=uri)
    assert load("amb@abcd2", store=uri)["a"].tolist() == [1]


def test_verify_detects_a_flipped_byte_and_a_missing_blob(uri: str) -> None:
    snapshot(_numbers(3000), "v", store=uri)
    store = SnapshotStore(uri)
    assert verify_store(store).ok
    paths = sorted(store.blob_files())
    data = bytearray(store.fs.cat_file(paths[0]))
    data[len(data) // 2] ^= 0x01
    store.fs.pipe_file(paths[0], bytes(data))
    store.fs.rm_file(paths[1])
    report = verify_store(store)
    assert not report.ok
    assert len(report.corrupt) == 1 and paths[0].rsplit("/", 1)[-1] in report.corrupt[0]
    assert "v@v1" in report.corrupt[0]
    assert len(report.missing) == 1 and paths[1].rsplit("/", 1)[-1] in report.missing[0]


def test_gc_keeps_referenced_blobs_and_removes_the_rest(uri: str, small_chunks: None) -> None:
    store = SnapshotStore(uri)
    frame = _numbers(5000)
    snapshot(frame, "g", store=uri)
    orphan = "0" * 64
    store.put_blob(orphan, b"left by a crashed snapshot")
    before = store.existing_keys()
    assert collect_garbage(store).removed == []  # recent files are kept by default
    report = collect_garbage(store, grace_seconds=0)
    assert report.removed == [orphan]
    assert store.existing_keys() == before - {orphan}
    assert verify_store(store).ok
    assert_frame_equal(load("g", store=uri), frame, check_exact=True)


def test_unwritable_store_is_one_clear_error(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(
        StoreUnwritable, match=r"cannot write to the snapshot store .*MLOPS_DATA_URI"
    ):
        snapshot(pd.DataFrame({"a": [1]}), "x", store=str(blocker / "data"))
    assert StoreUnwritable.is_usage


def test_a_new_category_sorting_first_stores_only_its_rows(uri: str) -> None:
    """Inferred categories are sorted: a new first one shifts every code, not the values."""
    rng = np.random.default_rng(7)
    n = 60_000
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "city": pd.Categorical(rng.choice(["oslo", "rome", "lima"], n)),
            "size": pd.Categorical(rng.choice([10, 20, 30], n), ordered=True),
        }
    )
    first = snapshot(frame, "cities", store=uri)
    edited = frame.copy()
    edited["city"] = pd.Categorical(
        edited["city"].astype(str).where(edited.index != n // 2, "accra")
    )
    assert edited["city"].cat.categories[0] == "accra"  # every code moved by one
    second = snapshot(edited, "cities", store=uri)
    assert second.bytes_stored < 0.05 * first.bytes_stored, (second, first)
    assert_frame_equal(load("cities", store=uri), edited, check_exact=True)
    assert_frame_equal(load("cities@v1", store=uri), frame, check_exact=True)
    assert verify_store(SnapshotStore(uri)).ok
    again = snapshot(frame, "other", store=uri)  # the same data: the same digest as before
    assert again.digest == first.digest


def test_categories_of_zoned_timestamps_keep_their_zone(uri: str) -> None:
    when = pd.to_datetime([0, 86400, 0, None], unit="s", utc=True).tz_convert("Asia/Tokyo")
    frame = pd.DataFrame({"day": pd.Categorical(when), "n": [1, 2, 3, 4]})
    snapshot(frame, "days", store=uri)
    back = load("days", store=uri)
    assert str(back["day"].cat.categories.tz) == "Asia/Tokyo"
    assert_frame_equal(back, frame, check_exact=True)
