"""Dedupe that survives index churn: renumbered, kept and filtered indexes on 200k rows.

Each edit must store about what its changed rows cost, load back exactly, keep
the digest a fresh store gives the same data, and keep verify and gc honest.
"""

from __future__ import annotations

import json
import uuid

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from jupyter_mlops.data.api import load, snapshot
from jupyter_mlops.data.maintenance import collect_garbage, verify_store
from jupyter_mlops.data.store import SnapshotStore

ROWS = 200_000


def _frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"f{i}": rng.normal(size=rows) for i in range(8)})
    frame["city"] = rng.choice(["oslo", "rome", "lima", "kyiv"], rows)
    return frame


@pytest.fixture(scope="module")
def base() -> pd.DataFrame:
    return _frame(ROWS, 0)


def _edit(base: pd.DataFrame, case: str) -> pd.DataFrame:
    extra = _frame(ROWS // 100, 1)
    mid = ROWS // 2
    cut = base["f3"].quantile(0.01)
    return {
        "insert renumbered": lambda: pd.concat(
            [base.iloc[:mid], extra, base.iloc[mid:]], ignore_index=True
        ),
        "insert kept Int64 index": lambda: pd.concat([base.iloc[:mid], extra, base.iloc[mid:]]),
        "filter kept index": lambda: base[base["f3"] > cut],
        "filter reset_index": lambda: base[base["f3"] > cut].reset_index(drop=True),
    }[case]()


@pytest.mark.parametrize(
    ("case", "goal"),
    [
        ("insert renumbered", 0.03),
        ("insert kept Int64 index", 0.03),
        ("filter kept index", 0.05),
        ("filter reset_index", 0.05),
    ],
)
def test_index_churn_stores_about_the_changed_rows(tmp_path, base, case: str, goal: float) -> None:
    uri = str(tmp_path / "data")
    edited = _edit(base, case)
    first = snapshot(base, "t", store=uri)
    second = snapshot(edited, "t", store=uri)
    assert 0 < second.bytes_stored <= goal * first.bytes_stored, (case, second, first)
    assert second.dedup_ratio > 0.8  # row selections count as reused, not as written
    assert_frame_equal(load("t@v2", store=uri), edited, check_exact=True)
    assert_frame_equal(load("t@v1", store=uri), base, check_exact=True)
    fresh = snapshot(edited, "t", store=str(tmp_path / "fresh"))
    assert fresh.digest == second.digest  # the digest names the content, not how it is stored
    report = verify_store(SnapshotStore(uri))
    assert report.ok and report.derived_checked > 0, report


def test_chained_edits_gc_and_verify(base) -> None:
    uri = f"memory://churn-{uuid.uuid4().hex}"
    versions = [base, _edit(base, "filter kept index")]
    versions.append(versions[-1][versions[-1]["f5"] > -2.0])  # a filter of a filtered version
    versions.append(pd.concat([versions[-1].iloc[:500], _frame(300, 7), versions[-1].iloc[500:]]))
    refs = [snapshot(v, "c", store=uri) for v in versions]
    assert all(r.bytes_stored <= 0.05 * refs[0].bytes_stored for r in refs[1:])
    store = SnapshotStore(uri)
    manifest = store.read_manifest("c", 3)
    bases = {p[0] for pieces in manifest["derived"].values() for p in pieces}
    v1_keys = {k for c in store.read_manifest("c", 1)["columns"] for k in c["blobs"]}
    assert bases & v1_keys  # derived from derived still points at stored blobs
    assert not bases & set(store.read_manifest("c", 2)["derived"])
    gone = collect_garbage(store, grace_seconds=0)
    assert gone.removed == []
    for ref, frame in zip(refs, versions, strict=True):
        assert_frame_equal(load(ref.ref, store=uri), frame, check_exact=True)
    assert verify_store(store).ok


def test_verify_reports_a_broken_mask_and_a_tampered_selection(tmp_path, base) -> None:
    uri = str(tmp_path / "data")
    snapshot(base, "t", store=uri)
    snapshot(_edit(base, "filter reset_index"), "t", store=uri)
    store = SnapshotStore(uri)
    manifest = store.read_manifest("t", 2)
    key, pieces = next(iter(manifest["derived"].items()))
    mask = pieces[0][1]
    path = store.blob_path(mask)
    data = bytearray(store.fs.cat_file(path))
    data[len(data) // 2] ^= 0xFF
    store.fs.pipe_file(path, bytes(data))
    report = verify_store(store)
    assert not report.ok and any(mask in line for line in report.corrupt)

    other = next(k for k in manifest["derived"] if manifest["derived"][k][0][1] != mask)
    manifest["derived"][key] = manifest["derived"][other]  # a selection rebuilding other rows
    store.fs.pipe_file(store.manifest_path("t", 2), json.dumps(manifest).encode())
    report = verify_store(store)
    assert any(line.startswith(f"{key}: ") for line in report.corrupt), report.corrupt


def test_duplicate_rows_and_strings_alike_at_both_ends_load_exactly(tmp_path) -> None:
    rng = np.random.default_rng(3)
    rows = 60_000
    middle = rng.choice(list("xyz"), rows)
    frame = pd.DataFrame(
        {
            "code": rng.integers(0, 3, rows),
            "label": [f"prefix--{m}--suffix" for m in middle],  # equal first/last 8 bytes
        }
    )
    uri = str(tmp_path / "data")
    first = snapshot(frame, "d", store=uri)
    kept = frame[rng.random(rows) > 0.01]
    changed = kept.assign(label=kept["label"].str.replace("--x--", "--w--", regex=False))
    for edited in (kept, changed):
        ref = snapshot(edited, "d", store=uri)
        assert_frame_equal(load(ref.ref, store=uri), edited, check_exact=True)
    assert snapshot(kept, "d", store=uri).bytes_stored < 0.05 * first.bytes_stored
    assert verify_store(SnapshotStore(uri)).ok


def _few_distinct_rows(rows: int, start: int) -> pd.DataFrame:
    """Codes and flags, sorted: rows no content tells apart from their look-alikes."""
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "country": rng.choice(["no", "it", "pe", "ua"], rows),
            "flag": rng.random(rows) < 0.3,
            "level": rng.integers(0, 5, rows).astype("int8"),
        }
    )
    frame = frame.sort_values(["country", "level"], kind="stable", ignore_index=True)
    frame.index = pd.RangeIndex(start, start + rows)
    return frame


def _second_within(tmp_path, frame: pd.DataFrame, edited: pd.DataFrame, share: float) -> str:
    """Snapshot ``frame`` then ``edited``: at most ``share`` of the first's bytes, loaded back
    exactly, the digest a fresh store gives. Returns the store's URI."""
    uri = str(tmp_path / "data")
    first = snapshot(frame, "t", store=uri)
    second = snapshot(edited, "t", store=uri)
    assert second.bytes_stored <= share * first.bytes_stored, (second, first)
    assert_frame_equal(load("t@v2", store=uri), edited, check_exact=True)
    assert snapshot(edited, "t", store=str(tmp_path / "fresh")).digest == second.digest
    return uri


@pytest.mark.parametrize("start", [0, 1000])
def test_copies_inserted_with_their_labels_cost_only_the_new_index(tmp_path, start: int) -> None:
    rows = 100_000
    frame = _few_distinct_rows(rows, start)
    copies = frame.sample(n=rows // 100, random_state=3)  # keep their labels: out of order
    edited = pd.concat([frame.iloc[: rows // 2], copies, frame.iloc[rows // 2 :]])
    # the copies' labels are new data (random draws: ~2.3% of this frame); their rows are not
    uri = _second_within(tmp_path, frame, edited, 0.03)

    rng = np.random.default_rng(6)
    later = edited.iloc[np.sort(rng.choice(len(edited), len(edited) - 500, replace=False))]
    snapshot(later, "t", store=uri)  # derived from the gathered chunks in turn
    store = SnapshotStore(uri)
    report = verify_store(store)
    assert report.ok and report.derived_checked > 0, report
    store.remove(store.manifest_path("t", 1))  # the bases must survive gc through v2 and v3
    store.remove(store.manifest_path("t", 2))
    collect_garbage(store, grace_seconds=0)
    assert_frame_equal(load("t@v3", store=uri), later, check_exact=True)
    report = verify_store(store)
    assert report.ok and not report.missing, report


def test_a_scattered_delete_of_rows_alike_stores_about_one_mask_per_chunk(tmp_path) -> None:
    # rows alike: cells of unmatched rows equal the old ones by chance, each column others;
    # matching them column by column gave each column a row mask of its own
    rows = 100_000
    frame = _few_distinct_rows(rows, 0)
    rng = np.random.default_rng(2)
    gone = frame.index[rng.choice(rows, rows // 100, replace=False)]
    edited = frame.drop(index=gone).reset_index(drop=True)
    uri = _second_within(tmp_path, frame, edited, 0.03)
    report = verify_store(SnapshotStore(uri))
    assert report.ok and report.derived_checked > 0, report
