"""Reading a snapshot a few chunks at a time: the same rows as reading it whole, in order."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from jupyter_mlops.data.reader import PIN_ENV, iter_tables, read_table
from jupyter_mlops.data.store import SnapshotStore

OLD_STORE = Path(__file__).parent / "data" / "store-format1"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SnapshotStore:
    monkeypatch.delenv(PIN_ENV, raising=False)
    copy = tmp_path / "store"
    shutil.copytree(OLD_STORE, copy)
    return SnapshotStore(str(copy))


@pytest.mark.parametrize("version", [1, 2])  # v2 is made of derived chunks
@pytest.mark.parametrize("rows", [1, 500, 1700, 100_000])
def test_tables_in_turn_equal_the_whole_snapshot(
    store: SnapshotStore, version: int, rows: int
) -> None:
    manifest = store.read_manifest("train", version)
    assert len(manifest["chunks"]) > 3, "the fixture has several chunks"
    if version == 2:
        assert manifest.get("derived"), "the fixture's v2 has derived chunks"
    whole = read_table(store, manifest)
    parts = list(iter_tables(store, manifest, rows))
    assert pa.concat_tables(parts).equals(whole)
    biggest = max(manifest["chunks"])
    for part in parts[:-1]:  # whole chunks: at least ``rows``, at most one chunk more
        assert rows <= part.num_rows < rows + biggest
    assert len(parts) <= max(1, -(-whole.num_rows // rows))
