"""Snapshots vs. DVC over frame families and 1% edits: new bytes, load and first-snapshot time.

Each family (numbers; + a 3-value string; + a categorical; high-cardinality
strings with time-zoned datetimes; nullable columns; a sorted low-entropy
frame) is snapshotted, then every edit is taken alone, on a copy of the store
holding only that first snapshot (no edit finds another edit's blobs): append,
insert of fresh rows or of copies of the frame's own rows in the middle (index
renumbered or kept), a scattered delete (index kept or reset), changed cells,
and a column added, dropped or reordered. DVC stores the same frame as one zstd Parquet file.

"before" is the code of another git ref (``--before main`` by default) run in
a subprocess on the same frames in the same run, so the table shows what this
tree changes: new bytes per edit, load time and first-snapshot time.

Run: ``.venv/bin/python bench/bench_snapshots.py [--rows N] [--families a,b] [--before REF]``.
DVC is installed into a throwaway venv under ``~/.cache/jupyter-mlops-bench``
(never into the project); when it cannot be installed its column is skipped.
First-snapshot and load times are the best of several runs per version, the
two versions taking turns in one long-lived process each, so load from other
processes on a shared machine meets both alike; a time counts as a regression
only beyond a stated tolerance (``bench/_interleaved.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from _interleaved import MIN_SLOWER_S, TOLERANCE, TimingProcess, best_in_turns, slower

CACHE = Path.home() / ".cache" / "jupyter-mlops-bench"
REPO = Path(__file__).resolve().parent.parent
FAMILIES = ("numeric", "string3", "categorical", "strings_tz", "nullable", "low_entropy")
EDITS = {
    # edit: goal (share of the first snapshot's bytes)
    "append 1% rows": 0.03,
    "insert 1% fresh rows, middle": 0.03,
    "insert 1% copied rows, middle": 0.03,
    "insert 1% copied rows, kept index": 0.03,
    "delete 1% scattered, kept index": 0.05,
    "delete 1% scattered, reset_index": 0.03,
    "change 100 random cells": 0.03,
    "change a cell in 1% of rows": 0.05,
    "add a float column": 0.03,  # plus the column's own bytes: set per frame
    "drop a column": 0.03,
    "reorder columns": 0.03,
    # frames with a categorical column: one row takes a value that sorts before the others,
    # its categories inferred again (as astype("category") does), so every code moves
    "a new category sorting first": 0.03,
}


def make_frame(family: str, rows: int, seed: int = 0, start: int = 0) -> pd.DataFrame:
    """One frame of ``family``; ``start`` numbers the ids of rows made for an edit."""
    rng = np.random.default_rng(seed)
    if family in ("numeric", "string3", "categorical"):
        frame = pd.DataFrame({f"f{i}": rng.normal(size=rows) for i in range(6)})
        frame["id"] = np.arange(start, start + rows, dtype="int64")
        if family in ("string3", "categorical"):
            frame["colour"] = rng.choice(["red", "green", "blue"], rows)
        if family == "categorical":
            frame["segment"] = pd.Categorical(
                rng.choice(list("abcde"), rows), categories=list("abcde")
            )
        return frame
    if family == "strings_tz":
        seconds = rng.integers(0, 10**9, rows)
        return pd.DataFrame(
            {
                "user": [f"user-{v}" for v in rng.integers(0, 10**9, rows)],
                "at": pd.to_datetime(seconds, unit="s")
                .tz_localize("UTC")
                .tz_convert("Europe/Paris"),
                "amount": rng.normal(size=rows),
            }
        )
    if family == "nullable":
        score = pd.array(rng.integers(0, 100, rows), dtype="Int64")
        score[rng.random(rows) < 0.2] = pd.NA
        return pd.DataFrame(
            {
                "score": score,
                "weight": np.where(rng.random(rows) < 0.2, np.nan, rng.normal(size=rows)),
                "note": pd.Series(rng.choice(["ok", "late", None], rows), dtype=object),
                "value": rng.normal(size=rows),
            }
        )
    # low entropy: a few distinct rows, sorted, as in a frame of flags and codes
    frame = pd.DataFrame(
        {
            "country": rng.choice(["no", "it", "pe", "ua"], rows),
            "flag": rng.random(rows) < 0.3,
            "level": rng.integers(0, 5, rows).astype("int8"),
        }
    )
    return frame.sort_values(["country", "level"], kind="stable", ignore_index=True)


def edited_frames(family: str, frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every edit of :data:`EDITS`, each made from ``frame``."""
    rows = len(frame)
    some, mid = rows // 100, rows // 2
    rng = np.random.default_rng(2)
    fresh = make_frame(family, some, seed=1, start=rows)
    fresh.index = pd.RangeIndex(rows, rows + some)
    copies = frame.sample(n=some, random_state=3)
    gone = frame.index[rng.choice(rows, some, replace=False)]
    cells = frame.copy()
    for r, c in zip(rng.integers(0, rows, 100), rng.integers(0, frame.shape[1], 100), strict=True):
        cells.iloc[int(r), int(c)] = fresh.iloc[int(r) % some, int(c)]
    spread = frame.copy()
    for r in rng.choice(rows, some, replace=False).tolist():
        c = int(rng.integers(0, frame.shape[1]))
        spread.iloc[r, c] = fresh.iloc[r % some, c]
    return {
        "append 1% rows": pd.concat([frame, fresh], ignore_index=True),
        "insert 1% fresh rows, middle": pd.concat(
            [frame.iloc[:mid], fresh, frame.iloc[mid:]], ignore_index=True
        ),
        "insert 1% copied rows, middle": pd.concat(
            [frame.iloc[:mid], copies, frame.iloc[mid:]], ignore_index=True
        ),
        "insert 1% copied rows, kept index": pd.concat(
            [frame.iloc[:mid], copies, frame.iloc[mid:]]
        ),
        "delete 1% scattered, kept index": frame.drop(index=gone),
        "delete 1% scattered, reset_index": frame.drop(index=gone).reset_index(drop=True),
        "change 100 random cells": cells,
        "change a cell in 1% of rows": spread,
        "add a float column": frame.assign(added=rng.normal(size=rows)),
        "drop a column": frame.drop(columns=frame.columns[1]),
        "reorder columns": frame[list(reversed(frame.columns))],
        **_new_first_category(frame),
    }


def _new_first_category(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The frame with one row's category a new value sorting first (none without categories)."""
    found = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    if not found:
        return {}
    edited = frame.copy()
    values = edited[found[0]].astype(str)  # the categories' own dtype, as astype gives it
    values.iloc[len(frame) // 2] = "0-new"
    edited[found[0]] = pd.Categorical(values)  # inferred, sorted: "0-new" first
    return {"a new category sorting first": edited}


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


# -- one code version, in its own process --------------------------------------------------
def measure(families: list[str], rows: int, work: Path) -> dict[str, Any]:
    """Bytes of the jupyter_mlops importable here, for every family and edit (and edit times)."""
    from jupyter_mlops.data.api import load, snapshot
    from jupyter_mlops.data.maintenance import verify_store
    from jupyter_mlops.data.store import SnapshotStore

    out: dict[str, Any] = {}
    for family in families:
        frame = make_frame(family, rows)
        store = str(work / family)
        first = snapshot(frame, "t", store=store)  # timed by :func:`interleaved_timings`
        pd.testing.assert_frame_equal(load("t@v1", store=store), frame, check_exact=True)
        edits: dict[str, Any] = {}
        goals = dict(EDITS)
        verified = True
        for case, edited in edited_frames(family, frame).items():
            # each edit alone, on a copy of the store holding the original only: no edit
            # finds another edit's blobs
            alone = str(work / f"{family}-edit")
            shutil.copytree(store, alone)
            t_edit, ref = timed(lambda e=edited, s=alone: snapshot(e, "t", store=s))
            t_back, back = timed(lambda s=alone: load("t@v2", store=s))
            pd.testing.assert_frame_equal(back, edited, check_exact=True)
            verified = verified and verify_store(SnapshotStore(alone)).ok
            shutil.rmtree(alone)
            if case == "add a float column":  # its goal: what the new column costs alone
                column = snapshot(edited[["added"]], "a", store=str(work / f"{family}-alone"))
                goals[case] = 1.03 * column.bytes_stored / first.bytes_stored
            edits[case] = {
                "share": ref.bytes_stored / first.bytes_stored,
                "s": t_edit,
                "load": t_back,
                "goal": goals[case],
            }
        out[family] = {
            "first_bytes": first.bytes_stored,
            "edits": edits,
            "verify_ok": verified and verify_store(SnapshotStore(store)).ok,
        }
    return out


def run_version(src: Path, families: list[str], rows: int) -> dict[str, Any]:
    """:func:`measure` with ``src`` first on the import path, in a fresh interpreter."""
    with tempfile.TemporaryDirectory(prefix="bench-snapshots-") as tmp:
        result = Path(tmp) / "result.json"
        env = {**os.environ, "PYTHONPATH": str(src)}
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--measure",
                str(result),
                "--rows",
                str(rows),
                "--families",
                ",".join(families),
                "--work",
                tmp,
            ],
            check=True,
            env=env,
        )
        data: dict[str, Any] = json.loads(result.read_text())
        return data


# -- first-snapshot and load times, both versions taking turns -------------------------------
#: each time is the best of this many runs per version; the versions alternate, run by run
ROUNDS = 7


def serve_timings(rows: int, work: Path) -> None:
    """A child's loop: for each ``family op`` line on stdin, time ``op`` once, print seconds.

    ``first`` snapshots the family's frame into an empty store, ``load`` loads it from one.
    """
    from jupyter_mlops.data.api import load, snapshot

    work.mkdir(parents=True)
    frames: dict[str, pd.DataFrame] = {}
    for count, line in enumerate(sys.stdin):
        family, op = line.split()
        stored = str(work / f"{family}-load")
        if family not in frames:
            frames[family] = make_frame(family, rows)
            snapshot(frames[family], "t", store=stored)
        if op == "first":
            target = work / f"first-{count}"
            seconds, _ = timed(lambda f=frames[family], t=target: snapshot(f, "t", store=str(t)))
            shutil.rmtree(target)
        else:
            seconds, _ = timed(lambda s=stored: load("t@v1", store=s))
        print(json.dumps(seconds), flush=True)


def interleaved_timings(
    sources: dict[str, Path], families: list[str], rows: int, work: Path
) -> dict[str, dict[str, dict[str, float]]]:
    """``{version: {family: {"first_s", "load_s"}}}``: the best of :data:`ROUNDS` runs each."""
    command = [sys.executable, __file__, "--serve-timings", "--rows", str(rows), "--work"]
    timers = {
        name: TimingProcess([*command, str(work / f"timing-{name}")], src)
        for name, src in sources.items()
    }
    cases = [(family, op) for family in families for op in ("first", "load")]
    best = best_in_turns(timers, cases, ROUNDS, _looks_slower)
    return {
        name: {f: {"first_s": got[f, "first"], "load_s": got[f, "load"]} for f in families}
        for name, got in best.items()
    }


def _looks_slower(best: dict[str, float]) -> bool:
    return "before" in best and "now" in best and slower(best["now"], best["before"])


def source_of(ref: str, into: Path) -> Path | None:
    """``src/`` of git ref ``ref``, extracted into ``into``; None when git cannot give it."""
    archive = into / "src.tar"
    try:
        with archive.open("wb") as fh:
            subprocess.run(["git", "-C", str(REPO), "archive", ref, "src"], check=True, stdout=fh)
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"'before' column skipped: cannot extract {ref} ({exc})")
        return None
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


# -- DVC -------------------------------------------------------------------------------------
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

    def cache_bytes(self) -> int:
        cache = self.root / ".dvc" / "cache"
        return sum(p.stat().st_size for p in cache.rglob("*") if p.is_file())


def measure_dvc(exe: Path, families: list[str], rows: int, work: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for family in families:
        frame = make_frame(family, rows)
        dvc = Dvc(exe, work / f"dvc-{family}")
        t_first = dvc.write_and_add(frame)
        first = dvc.cache_bytes()
        parquet = work / f"{family}.parquet"
        frame.to_parquet(parquet, compression="zstd")
        t_read, _ = timed(lambda p=parquet: pd.read_parquet(p), repeat=3)
        edits = {}
        for case, edited in edited_frames(family, frame).items():
            before = dvc.cache_bytes()
            dvc.write_and_add(edited)
            edits[case] = (dvc.cache_bytes() - before) / first
        out[family] = {"first_s": t_first, "read_s": t_read, "edits": edits}
    return out


# -- the table -------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--before", default="main", help="git ref to compare with ('' for none)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--serve-timings", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    families = [f for f in args.families.split(",") if f]
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown:
        parser.error(f"unknown families {', '.join(unknown)}; choose from {', '.join(FAMILIES)}")
    if args.serve_timings:  # a child process timing one code version
        serve_timings(args.rows, Path(args.work))
        return
    if args.measure:  # a child process: one code version
        result = measure(families, args.rows, Path(args.work))
        Path(args.measure).write_text(json.dumps(result))
        return

    print(f"{args.rows:,} rows per frame; families: {', '.join(families)}; cpus={os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="bench-snapshots-") as tmp:
        work = Path(tmp)
        old_src = source_of(args.before, work) if args.before else None
        # family by family, the two versions in turn: load from other processes hits both alike
        before: dict[str, Any] | None = {} if old_src else None
        now: dict[str, Any] = {}
        for family in families:
            if old_src and before is not None:
                before.update(run_version(old_src, [family], args.rows))
            now.update(run_version(REPO / "src", [family], args.rows))
        sources = {"now": REPO / "src", **({"before": old_src} if old_src else {})}
        times = interleaved_timings(sources, families, args.rows, work)
        for family in families:
            now[family].update(times["now"][family])
            if before is not None:
                before[family].update(times["before"][family])
        exe = dvc_binary()
        dvc = measure_dvc(exe, families, args.rows, work) if exe else None
    print_tables(families, now, before, dvc, args.before)


def _ok(flag: bool) -> str:
    return "yes" if flag else "NO"


def print_tables(
    families: list[str],
    now: dict[str, Any],
    before: dict[str, Any] | None,
    dvc: dict[str, Any] | None,
    ref: str,
) -> None:
    was = f"before ({ref})"
    rows: list[tuple[str, ...]] = []
    for family in families:
        ours, old = now[family], before[family] if before else None
        theirs = dvc[family] if dvc else None
        for case in (c for c in EDITS if c in ours["edits"]):
            share, goal = ours["edits"][case]["share"], ours["edits"][case]["goal"]
            rows.append(
                (
                    family,
                    case,
                    f"{share:.2%} ({ours['edits'][case]['s']:.2f} s)",
                    f"{old['edits'][case]['share']:.2%}" if old and case in old["edits"] else "-",
                    f"{theirs['edits'][case]:.1%}" if theirs else "-",
                    f"<= {goal:.1%}" if case == "add a float column" else f"<= {goal:.0%}",
                    _ok(share <= goal),
                )
            )
    _table(("frame", "1% edit", "new bytes", was, "DVC", "goal", "met"), rows)

    rows = []
    for family in families:
        ours, old = now[family], before[family] if before else None
        theirs = dvc[family] if dvc else None
        regressed = bool(old) and any(slower(ours[t], old[t]) for t in ("first_s", "load_s"))
        first_ratio = ours["first_s"] / old["first_s"] if old else float("nan")
        load_ratio = ours["load_s"] / old["load_s"] if old else float("nan")
        rows.append(
            (
                family,
                f"{ours['first_bytes'] / 1e6:.1f} MB",
                f"{ours['first_s']:.3f} s",
                f"{old['first_s']:.3f} s" if old else "-",
                f"{first_ratio:.2f}x",
                f"{theirs['first_s']:.2f} s" if theirs else "-",
                f"{ours['load_s']:.3f} s",
                f"{old['load_s']:.3f} s" if old else "-",
                f"{load_ratio:.2f}x",
                f"{theirs['read_s']:.2f} s" if theirs else "-",
                _ok(ours["verify_ok"] and not regressed),
            )
        )
    _table(
        (
            "frame",
            "stored",
            "first snapshot",
            was,
            "ratio",
            "parquet+dvc add",
            "load v1",
            was,
            "ratio",
            "read_parquet",
            "no regression",
        ),
        rows,
    )
    print(
        f"\nTimes: the best of {ROUNDS} runs per version ({3 * ROUNDS} while ours looks "
        "slower), the versions taking turns run by run in one process each; 'no regression' "
        f"is 'NO' when verify fails or ours is over {TOLERANCE:.0%} and "
        f"{MIN_SLOWER_S * 1000:.0f} ms slower than before."
    )


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Print a Markdown table, columns padded to line up."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print()
    for line in [header, tuple("-" * w for w in widths), *rows]:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")


if __name__ == "__main__":
    main()
