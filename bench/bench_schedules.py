"""Claiming a schedule's tick: ours (a write-once MLflow param in the tracking store) vs a
plain SQLite claims table (``INSERT OR IGNORE`` on a primary key, what a scheduler with its
own job store does), side by side, on one embedded store.

Both are atomic; ours needs nothing besides the tracking store, so it works unchanged with a
team tracking server. Also: two processes racing for the same ticks (each tick must be won once).

Usage: ``python bench/bench_schedules.py [--ticks 200]``
"""

from __future__ import annotations

import argparse
import multiprocessing
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _table import print_table
from jupyter_mlops.config import load_settings
from jupyter_mlops.schedules.spec import Schedule
from jupyter_mlops.schedules.store import Claim, ScheduleStore, scheduler_id

_T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _store() -> tuple[ScheduleStore, Schedule]:
    root = Path(tempfile.mkdtemp(prefix="mlops-bench-"))
    (root / ".mlops").mkdir()
    store = ScheduleStore(load_settings(home=str(root)))
    schedule = Schedule("bench", "x.ipynb", "notebook", "* * * * *", created=_T0.isoformat())
    return store, store.add(schedule)


def _ticks(n: int) -> list[datetime]:
    return [_T0 + timedelta(minutes=i + 1) for i in range(n)]


def bench_ours(n: int) -> list[float]:
    store, schedule = _store()
    me = scheduler_id()
    times = []
    for tick in _ticks(n):
        started = time.perf_counter()
        assert store.claim(schedule, tick, Claim(tick.isoformat(), "run", me))
        times.append(time.perf_counter() - started)
    return times


def bench_sqlite_table(n: int) -> list[float]:
    path = Path(tempfile.mkdtemp(prefix="mlops-bench-")) / "claims.db"
    con = sqlite3.connect(path, timeout=60, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(
        "CREATE TABLE claims (schedule TEXT, tick TEXT, value TEXT, PRIMARY KEY (schedule, tick))"
    )
    times = []
    for tick in _ticks(n):
        started = time.perf_counter()
        cur = con.execute(
            "INSERT OR IGNORE INTO claims VALUES (?, ?, ?)", ("bench", tick.isoformat(), "run")
        )
        assert cur.rowcount == 1
        times.append(time.perf_counter() - started)
    return times


def _race(args: tuple[str, int, float]) -> int:
    home, n, start_at = args
    store = ScheduleStore(load_settings(home=home))
    schedule = store.get("bench")
    me = scheduler_id()
    time.sleep(max(0.0, start_at - time.time()))  # both start claiming together
    return sum(store.claim(schedule, t, Claim(t.isoformat(), "run", me)) for t in _ticks(n))


def race(n: int) -> tuple[list[int], float]:
    store, _ = _store()
    home = str(store.settings.root)
    start_at = time.time() + 20.0  # after both processes imported MLflow
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        won = pool.map(_race, [(home, n, start_at)] * 2)
    return won, time.time() - start_at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ticks", type=int, default=200)
    args = parser.parse_args()
    ours, table = bench_ours(args.ticks), bench_sqlite_table(args.ticks)
    m_ours, m_table = statistics.median(ours) * 1e3, statistics.median(table) * 1e3
    print_table(
        f"Claiming one tick, median of {args.ticks} (ms)",
        ["", "median ms", "p90 ms", "ratio"],
        [
            ["ours: write-once MLflow param", f"{m_ours:.2f}",
             f"{sorted(ours)[int(0.9 * len(ours))] * 1e3:.2f}", f"{m_ours / m_table:.1f} ×"],
            ["SQLite INSERT OR IGNORE (own claims table)", f"{m_table:.3f}",
             f"{sorted(table)[int(0.9 * len(table))] * 1e3:.3f}", "1.0 ×"],
        ],
    )  # fmt: skip
    won, seconds = race(args.ticks // 2)
    print_table(
        "Two processes racing for the same ticks (ours)",
        ["ticks", "won by process 1", "won by process 2", "won twice", "seconds after the start"],
        [[args.ticks // 2, won[0], won[1], sum(won) - args.ticks // 2, f"{seconds:.1f}"]],
    )


if __name__ == "__main__":
    main()
