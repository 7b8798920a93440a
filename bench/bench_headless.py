"""Per-execution wall time of a trivial 3-cell parameterized notebook, side by side.

    jupyter mlops run      (cold process: CLI + run creation + papermill + artifacts + HTML)
    papermill CLI          (cold process, no tracking)
    papermill.execute_notebook in an already-warm process (no tracking)

Usage: ``python bench/bench_headless.py [--repeat 5]``. Prints medians and ratios
against the goals of issue 5 (<= 0.75 x papermill CLI, <= 1.3 x warm in-process).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def _notebook(path: Path) -> Path:
    cells = [("x = 1", ["parameters"]), ("y = x * 2", []), ("print(y)", [])]
    doc = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "cells": [
            {
                "cell_type": "code",
                "metadata": {"tags": t},
                "source": s,
                "outputs": [],
                "execution_count": None,
                "id": f"c{i}",
            }
            for i, (s, t) in enumerate(cells)
        ],
    }
    path.write_text(json.dumps(doc))
    return path


def _time_cmd(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def _median(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    return statistics.median(fn() for _ in range(repeat))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / ".mlops").mkdir()
        nb = _notebook(root / "trivial.ipynb")
        out = root / "out.ipynb"
        ours_cmd = [str(BIN / "jupyter-mlops"), "run", str(nb), "-p", "x", "3", "-q"]
        pm_cmd = [str(BIN / "papermill"), str(nb), str(out), "-p", "x", "3", "--no-progress-bar"]
        _time_cmd(ours_cmd, root)  # creates the store schema once, as any first use does
        ours = _median(lambda: _time_cmd(ours_cmd, root), args.repeat)
        pm_cli = _median(lambda: _time_cmd(pm_cmd, root), args.repeat)

        import papermill

        def warm() -> float:
            start = time.perf_counter()
            papermill.execute_notebook(str(nb), str(out), {"x": 3}, progress_bar=False)
            return time.perf_counter() - start

        warm()
        pm_warm = _median(warm, args.repeat)
    rows = [
        ("jupyter mlops run (logs run, artifacts, HTML)", ours),
        ("papermill CLI", pm_cli),
        ("papermill.execute_notebook, warm process", pm_warm),
    ]
    print(f"median of {args.repeat} executions, trivial 3-cell parameterized notebook\n")
    print(f"{'':<48}{'seconds':>9}")
    for name, value in rows:
        print(f"{name:<48}{value:>9.2f}")
    print()
    print(f"jupyter mlops run / papermill CLI       {ours / pm_cli:5.2f}   (goal <= 0.75)")
    print(f"jupyter mlops run / warm in-process     {ours / pm_warm:5.2f}   (goal <= 1.30)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
