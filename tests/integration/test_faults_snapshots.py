"""The snapshot store failing mid-write: a clear error, nothing half-visible, old versions load.

Two real failures: an fsspec filesystem that runs out of space at a chosen
write (blob, later blob or the manifest), and a real 2 MB tmpfs filled up by a
snapshot that does not fit (skipped where mounting is not allowed).
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from fsspec.implementations.memory import MemoryFileSystem

import jupyter_mlops as mlops
from jupyter_mlops.data.maintenance import verify_store
from jupyter_mlops.data.store import TMP_MARK, SnapshotStore, StoreUnwritable

pytestmark = pytest.mark.integration


class FullMemoryFS(MemoryFileSystem):
    """An in-memory filesystem whose writes fail with ENOSPC once ``fail_when`` says so."""

    protocol = "fullmem"
    fail_when: ClassVar[Callable[[str, int], bool] | None] = None
    writes: ClassVar[int] = 0

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kw: Any) -> None:
        rule = type(self).fail_when
        if rule is not None and rule(path, type(self).writes):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        type(self).writes += 1
        super().pipe_file(path, value, mode=mode, **kw)


@pytest.fixture
def full_store(store) -> Iterator[str]:  # type: ignore[no-untyped-def]
    import fsspec

    fsspec.register_implementation("fullmem", FullMemoryFS, clobber=True)
    FullMemoryFS.fail_when, FullMemoryFS.writes = None, 0
    uri = f"fullmem://snapshots-{uuid.uuid4().hex}"
    yield uri
    FullMemoryFS.fail_when = None
    leftover = SnapshotStore(uri)
    if leftover.fs.exists(leftover.root):
        leftover.fs.rm(leftover.root, recursive=True)


def _frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(rows),
            "x": rng.normal(size=rows),
            "city": rng.choice(["oslo", "lima", "pune"], size=rows),
        }
    )


def _manifest(path: str, _n: int) -> bool:
    return "/snapshots/" in path


def _first_blob(path: str, n: int) -> bool:
    return "/blobs/" in path


def _third_write(path: str, n: int) -> bool:
    return n >= 2


@pytest.mark.parametrize(
    "fail_when", [_first_blob, _third_write, _manifest], ids=lambda f: f.__name__
)
def test_store_failing_mid_write_keeps_previous_version(full_store: str, fail_when) -> None:  # type: ignore[no-untyped-def]
    v1 = _frame(5_000, seed=1)
    first = mlops.snapshot(v1, name="train", store=full_store)
    FullMemoryFS.writes = 0
    FullMemoryFS.fail_when = fail_when
    v2 = pd.concat([v1, _frame(3_000, seed=2).assign(id=lambda d: d.id + 5_000)], ignore_index=True)

    with pytest.raises(StoreUnwritable) as failure:
        mlops.snapshot(v2, name="train", store=full_store)

    message = str(failure.value)
    assert "\n" not in message and "No space left on device" in message
    assert full_store in message and "MLOPS_DATA_URI" in message
    listed = mlops.snapshots("train", store=full_store)
    assert list(listed["version"]) == [1]
    report = verify_store(SnapshotStore(full_store))
    assert report.ok, report
    pd.testing.assert_frame_equal(mlops.load("train", store=full_store), v1)
    pd.testing.assert_frame_equal(mlops.load(f"train@{first.digest[:12]}", store=full_store), v1)

    FullMemoryFS.fail_when = None  # space is back: the same call now succeeds
    second = mlops.snapshot(v2, name="train", store=full_store)
    assert second.version == 2
    pd.testing.assert_frame_equal(mlops.load("train@v2", store=full_store), v2)
    assert verify_store(SnapshotStore(full_store)).ok


# -- a real filesystem running out of space ---------------------------------------------
@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    exe = str(Path(sys.executable).with_name("jupyter-mlops"))
    return subprocess.run([exe, *args], capture_output=True, text=True, check=False, timeout=300)


def test_full_disk_mid_snapshot_is_one_clear_error(store, tiny_tmpfs: Path) -> None:  # type: ignore[no-untyped-def]
    data_uri = str(tiny_tmpfs / "data")
    small = _frame(2_000, seed=3)
    mlops.snapshot(small, name="events", store=data_uri)
    rng = np.random.default_rng(4)
    # ~4 MB of incompressible floats cannot fit in the 2 MB filesystem
    big = pd.DataFrame({f"c{i}": rng.random(100_000) for i in range(5)})

    with pytest.raises(StoreUnwritable) as failure:
        mlops.snapshot(big, name="events", store=data_uri)

    assert "No space left on device" in str(failure.value)
    assert "\n" not in str(failure.value)
    assert list(mlops.snapshots("events", store=data_uri)["version"]) == [1]
    pd.testing.assert_frame_equal(mlops.load("events", store=data_uri), small)
    verify = _cli("data", "--store", data_uri, "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "Traceback" not in verify.stderr
    assert "OK:" in verify.stdout

    # Freeing the space the failed write used lets the next snapshot through.
    gc = _cli("data", "--store", data_uri, "gc", "--grace", "0")
    assert gc.returncode == 0, gc.stdout + gc.stderr
    assert not _partial_files(tiny_tmpfs)
    more = _frame(2_500, seed=5)
    assert mlops.snapshot(more, name="events", store=data_uri).version == 2
    pd.testing.assert_frame_equal(mlops.load("events@v1", store=data_uri), small)


def _partial_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if TMP_MARK in p.name)


def test_full_disk_leaves_no_partial_files(store, tiny_tmpfs: Path) -> None:  # type: ignore[no-untyped-def]
    data_uri = str(tiny_tmpfs / "data")
    rng = np.random.default_rng(6)
    big = pd.DataFrame({f"c{i}": rng.random(100_000) for i in range(5)})
    with pytest.raises(StoreUnwritable):
        mlops.snapshot(big, name="events", store=data_uri)
    assert _partial_files(tiny_tmpfs) == []
