"""A store written before run matching, interleaved recipes and compact blobs still works.

``data/store-format1`` was written by the previous release's code (its raw blobs
carry a serialised schema, its recipes are plain piece lists with mask blobs)
from :func:`_frame`: two versions, the second a filter of the first. Today's
code must load both exactly, give the same digests for the same data, verify
the store, and dedupe a new version against the old blobs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from jupyter_mlops.data import chunking
from jupyter_mlops.data.api import load, snapshot
from jupyter_mlops.data.maintenance import collect_garbage, verify_store
from jupyter_mlops.data.reader import PIN_ENV
from jupyter_mlops.data.store import SnapshotStore

OLD_STORE = Path(__file__).parent / "data" / "store-format1"


def _frame() -> pd.DataFrame:
    """The frame ``store-format1`` holds as v1 (v2 keeps the rows with x > -2.3)."""
    rng = np.random.default_rng(29)
    n = 4000
    return pd.DataFrame(
        {
            "id": np.arange(n, dtype="int64"),
            "x": np.round(rng.normal(size=n), 2),
            "flag": rng.random(n) < 0.5,
            "city": rng.choice(["oslo", "rome", "lima"], n),
            "cat": pd.Categorical(rng.choice(["a", "b", "c"], n)),
            "score": pd.array(
                np.where(rng.random(n) < 0.1, None, rng.integers(0, 9, n)), dtype="Int64"
            ),
            "when": pd.date_range("2024-01-01", periods=n, freq="h", tz="Europe/Paris"),
        }
    )


@pytest.fixture
def old_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv(PIN_ENV, raising=False)
    monkeypatch.delenv("MLOPS_RUN_ID", raising=False)
    monkeypatch.setattr(chunking, "TARGET_CHUNK_BYTES", 1024 * 24)  # as it was written
    copy = tmp_path / "store"
    shutil.copytree(OLD_STORE, copy)
    return str(copy)


def test_old_versions_load_exactly_and_keep_their_digests(old_store: str, tmp_path: Path) -> None:
    frame = _frame()
    versions = {1: frame, 2: frame[frame["x"] > -2.3]}
    store = SnapshotStore(old_store)
    assert store.read_manifest("train", 2).get("derived"), "the fixture has derived chunks"
    for version, expected in versions.items():
        assert_frame_equal(load(f"train@v{version}", store=old_store), expected, check_exact=True)
        fresh = snapshot(expected, f"v{version}", store=str(tmp_path / "fresh"))
        assert fresh.digest == store.read_manifest("train", version)["digest"]
    assert snapshot(versions[2], "train", store=old_store).unchanged
    assert verify_store(store).ok


def test_a_new_version_dedupes_against_old_blobs(old_store: str) -> None:
    frame = _frame()
    kept = frame[frame["x"] > -2.3]
    copies = kept.sample(n=40, random_state=1)
    edited = pd.concat([kept.iloc[:2000], copies, kept.iloc[2000:]], ignore_index=True)
    blobs = Path(old_store, "blobs")
    had = {p.name: p.stat().st_size for p in blobs.rglob("*") if p.is_file()}
    before = sum(had.values())
    third = snapshot(edited, "train", store=old_store)
    store = SnapshotStore(old_store)
    # a categorical's chunks used to hold its codes; from now on its values: that column is
    # stored anew once, and only the rows the edit added for the others
    (cat,) = [c for c in store.read_manifest("train", 3)["columns"] if c["name"] == "cat"]
    assert cat["stored"] == "values"
    sizes = {p.name: p.stat().st_size for p in blobs.rglob("*") if p.is_file()}
    recoded = sum(sizes.get(k, 0) for k in set(cat["blobs"]) - had.keys())
    assert third.version == 3 and 0 < third.bytes_stored - recoded < 0.1 * before
    assert collect_garbage(store, grace_seconds=0).removed == []
    assert_frame_equal(load("train@v3", store=old_store), edited, check_exact=True)
    assert_frame_equal(load("train@v1", store=old_store), frame, check_exact=True)
    report = verify_store(store)
    assert report.ok and report.derived_checked > 0, report
