"""Run diff speed: our cell alignment vs nbdime's notebook diff alone, side by side in one run.

Two notebooks of N code cells differ by three edited cells, a moved cell and an added
cell (what ``tests/ui/test_run_diff_browser.py`` shows in the browser). Measured:
- ``compare_code`` (cells aligned, split at identical unique cells before nbdime aligns
  the gaps, each changed cell as a unified diff) vs ``nbdime.diff_notebooks`` on the
  same two notebooks (its diff only, no rendering);
- the whole ``jupyter mlops diff`` service on two runs holding those notebooks as
  artifacts (embedded store: run reads, notebooks, params, metrics, environment).

Usage: ``python bench/bench_diff.py [--cells 50,200,1000] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _table import print_table
from jupyter_mlops.config import load_settings
from jupyter_mlops.testing.notebooks import code, write_notebook
from jupyter_mlops.tracking.diff.api import diff_runs
from jupyter_mlops.tracking.diff.code import compare_code
from jupyter_mlops.tracking.mlflow_bridge.store import open_client


def _sources(n: int, edited: bool) -> list[str]:
    cells = [f"x{i} = {i}\ny{i} = x{i} * 2" for i in range(n)]
    if edited:
        for i in (n // 20, n // 4, (3 * n) // 5):
            cells[i] = cells[i].replace("* 2", "* 3  # tuned")
        cells.insert((3 * n) // 4, cells.pop(n // 10 + 1))
        cells.append("print('one more cell')")
    return cells


def _notebook(sources: list[str]) -> dict[str, Any]:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {
                "cell_type": "code",
                "source": s,
                "metadata": {},
                "outputs": [],
                "execution_count": None,
            }
            for s in sources
        ],
    }


def _median_ms(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def bench_alignment(n: int, repeat: int) -> list[object]:
    import nbdime

    a, b = _notebook(_sources(n, False)), _notebook(_sources(n, True))
    counts = compare_code(a, b, {}, {}).counts()
    ours = _median_ms(lambda: compare_code(a, b, {}, {}), repeat)
    theirs = _median_ms(lambda: nbdime.diff_notebooks(a, b), max(1, min(repeat, 3)))
    shown = ", ".join(f"{v} {k}" for k, v in counts.items() if v and k != "unchanged")
    return [n, shown, f"{ours:.1f}", f"{theirs:.1f}", f"{theirs / ours:.0f}x"]


def bench_service(n: int, repeat: int) -> list[object]:
    root = Path(tempfile.mkdtemp(prefix="mlops-bench-diff-"))
    (root / ".mlops").mkdir()
    client = open_client(load_settings(home=str(root)))
    exp = client.create_experiment("bench", artifact_location=(root / "artifacts").as_uri())
    ids = []
    for edited in (False, True):
        run = client.create_run(exp, run_name="edited" if edited else "base")
        client.log_param(run.info.run_id, "lr", "0.3" if edited else "0.1")
        client.log_metric(run.info.run_id, "acc", 0.9 if edited else 0.8)
        nb = write_notebook(root / "train.ipynb", [code(s) for s in _sources(n, edited)])
        client.log_artifact(run.info.run_id, str(nb), artifact_path="notebook")
        client.set_terminated(run.info.run_id)
        ids.append(run.info.run_id)
    diff_runs(ids[0], ids[1], client=client)  # warm: imports and the store's first queries
    ms = _median_ms(lambda: diff_runs(ids[0], ids[1], client=client), repeat)
    return [n, f"{ms:.0f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", default="50,200,1000", help="notebook sizes, comma-separated")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(s) for s in args.cells.split(",") if s]
    print_table(
        "Cell alignment of two notebooks (median ms)",
        ["cells", "changes found", "ours: compare_code", "nbdime.diff_notebooks", "ratio"],
        [bench_alignment(n, args.repeat) for n in sizes],
    )
    print_table(
        "Whole run diff of two runs (median ms, warm process)",
        ["cells", "diff_runs (jupyter mlops diff)"],
        [bench_service(n, args.repeat) for n in sizes],
    )


if __name__ == "__main__":
    main()
