"""Snapshots vs. DVC on a 2,000,000-row frame: time and new bytes, side by side.

Edits include index churn: an insert keeping the original (now non-range) Int64
index, and a row filter dropping 1% of rows scattered through the frame, with
its index kept or reset. Each edit is taken relative to the original frame
(re-snapshotted first, which stores nothing).

Run: ``.venv/bin/python bench/bench_snapshots.py [--rows N]``. DVC is installed
into a throwaway venv under ``~/.cache/jupyter-mlops-bench`` (never into the
project); when it cannot be installed its column is skipped with a message.
Fast cases take the best of three runs to damp noise from other processes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jupyter_mlops.data.api import load, snapshot
from jupyter_mlops.data.maintenance import verify_store
from jupyter_mlops.data.store import SnapshotStore

CACHE = Path.home() / ".cache" / "jupyter-mlops-bench"


def make_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """16 float64 + 1 categorical + 1 string + 1 int column."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"f{i}": rng.normal(size=rows) for i in range(16)})
    frame["segment"] = pd.Categorical(rng.choice(["a", "b", "c", "d", "e"], rows))
    frame["user"] = [f"user-{v}" for v in rng.integers(0, 1_000_000, rows)]
    frame["id"] = np.arange(rows, dtype="int64")
    return frame


def dvc_binary() -> Path | None:
    """DVC in a cached venv, installed on first use; None when that fails."""
    exe = CACHE / "dvc-venv" / "bin" / "dvc"
    if exe.exists():
        return exe
    print("installing dvc into", exe.parent.parent, "(bench only) ...", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(exe.parent.parent)], check=True)
        subprocess.run([str(exe.parent / "pip"), "install", "-q", "dvc"], check=True, timeout=600)
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"DVC column skipped: cannot install dvc ({exc})")
        return None
    return exe if exe.exists() else None


class Dvc:
    """A DVC repo without git; the frame lives in it as one zstd Parquet file."""

    def __init__(self, exe: Path, root: Path) -> None:
        self.exe, self.root = exe, root
        root.mkdir(parents=True)
        self._run("init", "--no-scm", "-q")
        self.file = root / "train.parquet"

    def _run(self, *args: str) -> None:
        subprocess.run([str(self.exe), *args], cwd=self.root, check=True, capture_output=True)

    def write_and_add(self, frame: pd.DataFrame) -> float:
        start = time.perf_counter()
        frame.to_parquet(self.file, compression="zstd")
        self._run("add", "-q", self.file.name)
        return time.perf_counter() - start

    def add(self) -> float:
        start = time.perf_counter()
        self._run("add", "-q", self.file.name)
        return time.perf_counter() - start

    def cache_bytes(self) -> int:
        cache = self.root / ".dvc" / "cache"
        return sum(p.stat().st_size for p in cache.rglob("*") if p.is_file())


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def edits(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The edited versions: appends, changed cells, inserts and a scattered filter."""
    rows = len(frame)
    extra, inserted, kept = (make_frame(rows // 100, seed=s) for s in (1, 3, 4))
    for added in (extra, inserted, kept):  # each case its own new rows: none is stored yet
        added["id"] += rows
    rng = np.random.default_rng(2)
    changed = frame.copy()
    for r, c in zip(rng.integers(0, rows, 100), rng.integers(0, 16, 100), strict=True):
        changed.iat[int(r), int(c)] = 123.456
    mid = rows // 2
    cut = frame["f3"].quantile(0.01)
    return {
        "append 1% rows": pd.concat([frame, extra], ignore_index=True),
        "change 100 random cells": changed,
        "insert 1% rows in the middle": pd.concat(
            [frame.iloc[:mid], inserted, frame.iloc[mid:]], ignore_index=True
        ),
        "insert 1% rows, kept Int64 index": pd.concat([frame.iloc[:mid], kept, frame.iloc[mid:]]),
        "drop 1% by a filter, kept index": frame[frame["f3"] > cut],
        "drop 1% by a filter, reset_index": frame[frame["f3"] > cut].reset_index(drop=True),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2_000_000)
    args = parser.parse_args()
    exe = dvc_binary()
    frame = make_frame(args.rows)
    print(
        f"frame: {args.rows:,} rows x {frame.shape[1]} cols, "
        f"{frame.memory_usage(deep=True).sum() / 1e6:.0f} MB in memory; cpus={os.cpu_count()}"
    )
    work = Path(tempfile.mkdtemp(prefix="bench-snapshots-"))
    try:
        rows = run_cases(frame, work, exe)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(rows)


def run_cases(frame: pd.DataFrame, work: Path, exe: Path | None) -> list[tuple[str, ...]]:
    store = str(work / "store")
    dvc = Dvc(exe, work / "dvc") if exe else None
    out: list[tuple[str, ...]] = []

    t_first, first = timed(lambda: snapshot(frame, "train", store=store))
    t_pq, _ = timed(lambda: frame.to_parquet(work / "once.parquet", compression="zstd"))
    t_dvc_first = dvc.write_and_add(frame) if dvc else float("nan")
    dvc_first_bytes = dvc.cache_bytes() if dvc else 0
    budget = 1.2 * t_dvc_first if dvc else 1.2 * t_pq
    out.append(
        (
            "first snapshot",
            f"{t_first:.2f} s, {first.bytes_stored / 1e6:.0f} MB",
            f"{t_dvc_first:.2f} s, {dvc_first_bytes / 1e6:.0f} MB (parquet+add)",
            f"{t_first / t_dvc_first:.2f}x" if dvc else "-",
            "<= 1.2x parquet+dvc add",
            _ok(t_first <= budget),
        )
    )

    t_same, same = timed(lambda: snapshot(frame, "train", store=store), repeat=3)
    t_dvc_same = min(dvc.add() for _ in range(3)) if dvc else float("nan")
    out.append(
        (
            "re-snapshot unchanged",
            f"{t_same:.2f} s, {same.bytes_stored} B new",
            f"{t_dvc_same:.2f} s (dvc add)",
            f"{t_same / t_dvc_same:.2f}x" if dvc else "-",
            "<= 0.5 s, 0 B",
            _ok(t_same <= 0.5 and same.bytes_stored == 0),
        )
    )

    goals = {
        "append 1% rows": 0.03,
        "change 100 random cells": 0.05,
        "insert 1% rows in the middle": 0.03,
        "insert 1% rows, kept Int64 index": 0.03,
        "drop 1% by a filter, kept index": 0.05,
        "drop 1% by a filter, reset_index": 0.05,
    }
    versions = {}
    for case, edited in edits(frame).items():
        snapshot(frame, "train", store=store)  # the edit is relative to the original
        t_ours, ref = timed(lambda e=edited: snapshot(e, "train", store=store))
        versions[case] = ref.version
        ours = ref.bytes_stored / first.bytes_stored
        theirs = "-"
        if dvc:
            before = dvc.cache_bytes()
            t_dvc = dvc.write_and_add(edited)
            grown = (dvc.cache_bytes() - before) / dvc_first_bytes
            theirs = f"{grown:.1%} new ({t_dvc:.1f} s)"
        out.append(
            (
                case,
                f"{ours:.2%} new ({t_ours:.1f} s)",
                theirs,
                "-",
                f"<= {goals[case]:.0%}",
                _ok(ours <= goals[case]),
            )
        )

    t_load, back = timed(lambda: load("train@v1", store=store), repeat=3)
    t_read, _ = timed(lambda: pd.read_parquet(work / "once.parquet"), repeat=3)
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    out.append(_load_row("load a version", t_load, t_read))
    case = "drop 1% by a filter, kept index"
    filtered = edits(frame)[case]
    t_sel, back = timed(lambda: load(f"train@v{versions[case]}", store=store), repeat=3)
    pd.testing.assert_frame_equal(back, filtered, check_exact=True)
    out.append(_load_row("load the filtered version (row masks)", t_sel, t_read))
    t_verify, report = timed(lambda: verify_store(SnapshotStore(store)))
    assert report.ok, report
    out.append(
        (
            "verify the whole store",
            f"{t_verify:.2f} s ({report.blobs_checked} blobs, {report.derived_checked} derived)",
            "-",
            "-",
            "OK",
            _ok(report.ok),
        )
    )
    return out


def _load_row(case: str, ours: float, read: float) -> tuple[str, ...]:
    return (
        case,
        f"{ours:.2f} s",
        f"{read:.2f} s (read_parquet)",
        f"{ours / read:.2f}x",
        "<= 1.5x",
        _ok(ours <= 1.5 * read),
    )


def _ok(flag: bool) -> str:
    return "yes" if flag else "NO"


def print_table(rows: list[tuple[str, ...]]) -> None:
    header = ("case", "jupyter-mlops", "DVC / baseline", "ratio", "goal", "met")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    print("\n" + line + "\n" + "-|-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
