"""Forked kernels against launched ones (issue 32's goals), for ``bench_pipelines.py --fork``.

Side by side in one run: papermill per unit (``papermill.execute_notebook`` in this warm
process, a kernel launched per notebook, nothing tracked), today's path (a headless run with
``MLOPS_FORK_KERNELS=0``: a launched kernel) and ours (the kernel forked from the project's
template). Per-unit overhead is a unit's wall time minus its work cells' own time (papermill's
per-cell durations, the import cell left out: importing is the overhead a template removes),
median of alternated rounds after one warm-up of each side.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from jupyter_mlops.testing.notebooks import code, params, write_notebook

FORK_ENV = "MLOPS_FORK_KERNELS"
ML_IMPORTS = (
    "import pandas as pd\nfrom sklearn.datasets import load_iris\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "from sklearn.ensemble import RandomForestClassifier"
)
ML_WORK = (
    "X, y = load_iris(return_X_y=True, as_frame=True)\n"
    "model = LogisticRegression(max_iter=200).fit(X, y)\n"
    "import jupyter_mlops as mlops\nmlops.log(acc=float(model.score(X, y)))"
)


def _work_seconds(executed: Path) -> float:
    """The executed notebook's cell durations, its first (import) code cell left out."""
    cells = [c for c in json.loads(executed.read_text())["cells"] if c["cell_type"] == "code"]
    return sum(float(c["metadata"].get("papermill", {}).get("duration") or 0) for c in cells[1:])


def _papermill_unit(nb: Path, out: Path) -> float:
    import papermill

    start = time.perf_counter()
    papermill.execute_notebook(str(nb), str(out), progress_bar=False, kernel_name="python3")
    return time.perf_counter() - start - _work_seconds(out)


def _headless_unit(nb: Path, fork: bool) -> float:
    from jupyter_mlops.headless.execution import execute_notebook

    os.environ[FORK_ENV] = "1" if fork else "0"
    start = time.perf_counter()
    result = execute_notebook(nb)
    wall = time.perf_counter() - start
    assert result.ok, result.message()
    return wall - _work_seconds(Path(result.output_path))


def _overheads(
    root: Path, name: str, cells: list[Any], rounds: int
) -> list[tuple[str, float, str]]:
    nb = write_notebook(root / f"{name}.ipynb", cells)
    sides = {
        "papermill per unit": lambda: _papermill_unit(nb, root / f"{name}.out.ipynb"),
        "today (kernel launched)": lambda: _headless_unit(nb, fork=False),
        "ours (kernel forked)": lambda: _headless_unit(nb, fork=True),
    }
    seen: dict[str, list[float]] = {side: [] for side in sides}
    for run in sides.values():
        run()  # warm-up: imports of this process, the template's start
    for _ in range(rounds):
        for side, run in sides.items():
            seen[side].append(run())
    ours = statistics.median(seen["ours (kernel forked)"])
    return [
        (
            f"{name}: per-unit overhead, {side}",
            statistics.median(values),
            "" if side.startswith("ours") else f"{statistics.median(values) / ours:.1f} x ours",
        )
        for side, values in seen.items()
    ]


def _search(root: Path, trials: int) -> list[tuple[str, float, str]]:
    import jupyter_mlops as mlops

    write_notebook(
        root / "trial.ipynb",
        [code(ML_IMPORTS), params("C = 1.0"), code(ML_WORK.replace("max_iter=200", "C=C"))],
    )
    path = root / "search.yaml"
    path.write_text(
        "name: search\nsteps:\n  s:\n    notebook: trial.ipynb\n"
        "    params: {C: {low: 0.01, high: 100.0, log: true}}\n"
        f"    sweep: {{method: random, trials: {trials}, metric: acc, seed: 0}}\n"
    )
    times = {}
    for fork in (False, True):
        os.environ[FORK_ENV] = "1" if fork else "0"
        start = time.perf_counter()
        result = mlops.run_pipeline(path, jobs=2, force=True)
        times[fork] = time.perf_counter() - start
        assert result.ok, result.table()
    return [
        (f"{trials}-trial scikit-learn search, --jobs 2, today", times[False], ""),
        (
            f"{trials}-trial scikit-learn search, --jobs 2, ours",
            times[True],
            f"{times[False] / times[True]:.1f} x faster",
        ),
    ]


def _warm_worker_run(root: Path, rounds: int) -> list[tuple[str, float, str]]:
    """``jupyter mlops run`` handed to a warm worker, its kernel launched or forked."""
    nb = write_notebook(
        root / "t.ipynb", [params("lr = 0.1"), code("y = lr * 2"), code("print(y)")]
    )
    cli = [str(Path(sys.executable).parent / "jupyter-mlops")]
    rows = []
    for fork in (False, True):
        env = {**os.environ, FORK_ENV: "1" if fork else "0"}
        env.pop("MLOPS_NO_WORKER", None)
        subprocess.run([*cli, "worker", "start"], env=env, check=True, capture_output=True)
        times = []
        for _ in range(rounds + 1):
            start = time.perf_counter()
            subprocess.run([*cli, "run", str(nb), "-q"], env=env, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        subprocess.run([*cli, "worker", "stop"], env=env, check=True, capture_output=True)
        rows.append(statistics.median(times[1:]))
    return [
        ("jupyter mlops run, warm worker, kernel launched", rows[0], ""),
        ("jupyter mlops run, warm worker, kernel forked", rows[1], f"{rows[0] / rows[1]:.1f} x"),
    ]


def fork_cases(root: Path, trials: int, rounds: int) -> list[tuple[str, float, str]]:
    """Every case of the fork goals, as ``(case, seconds, ratio)`` rows."""
    from jupyter_mlops.headless.fork.templates import retire_templates

    try:
        rows = _overheads(root, "pandas + scikit-learn", [code(ML_IMPORTS), code(ML_WORK)], rounds)
        rows += _overheads(root, "trivial", [code("x = 1"), code("y = x + 1")], rounds)
        rows += _search(root, trials)
        rows += _warm_worker_run(root, rounds)
    finally:
        os.environ.pop(FORK_ENV, None)
        retire_templates(root)
    return rows


FORK_GOALS = (
    "fork goals: per-unit overhead <= 0.3 s (pandas + scikit-learn) and <= 0.15 s (trivial); "
    "the search >= 5 x faster than today; a warm-worker run <= 0.4 s"
)
