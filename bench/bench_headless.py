"""Per-execution wall time of a trivial 3-cell parameterized notebook, side by side.

    jupyter mlops run, warm worker   (CLI process + worker: run, params, notebooks, HTML)
    jupyter mlops run, no worker     (MLOPS_NO_WORKER=1: everything in a cold process)
    papermill CLI                    (cold process, no tracking)
    papermill.execute_notebook in an already-warm process (no tracking)

The four are measured in turns (one of each per round) so that the load of a
shared machine weighs on all of them alike. The worker is started, used once
as a warm-up, and stopped at the end.

Usage: ``python bench/bench_headless.py [--repeat 5]``. Prints medians and ratios
against the goals of issue 5 (<= 0.75 x papermill CLI, <= 1.3 x warm in-process).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _commands import timed_command
from jupyter_mlops.testing.notebooks import code, params, write_notebook

BIN = Path(sys.executable).parent


def _notebook(path: Path) -> Path:
    return write_notebook(path, [params("x = 1"), code("y = x * 2"), code("print(y)")])


def _executor(root: Path) -> str:
    """The executor tag of the newest run (to show the warm rows really used the worker)."""
    from mlflow import MlflowClient

    from jupyter_mlops.config import sqlite_uri

    client = MlflowClient(sqlite_uri(root / ".mlops" / "mlflow.db"))
    ids = [e.experiment_id for e in client.search_experiments()]
    (run,) = client.search_runs(ids, order_by=["attributes.start_time DESC"], max_results=1)
    return run.data.tags.get("mlops.executor", "in-process")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / ".mlops").mkdir()
        nb = _notebook(root / "trivial.ipynb")
        out = root / "out.ipynb"
        env = {k: v for k, v in os.environ.items() if k != "MLOPS_NO_WORKER"}
        env["MLOPS_HOME"] = str(root)  # this bench's own store, hence its own worker
        cold_env = {**env, "MLOPS_NO_WORKER": "1"}
        mlops = [str(BIN / "jupyter-mlops"), "run", str(nb), "-p", "x", "3", "-q"]
        pm_cmd = [str(BIN / "papermill"), str(nb), str(out), "-p", "x", "3", "--no-progress-bar"]
        worker_cmd = [str(BIN / "jupyter-mlops"), "worker"]
        subprocess.run([*worker_cmd, "start"], env=env, check=True, capture_output=True)
        try:
            return _measure(args.repeat, root, nb, out, env, cold_env, mlops, pm_cmd)
        finally:
            subprocess.run([*worker_cmd, "stop"], env=env, check=False, capture_output=True)


def _measure(
    repeat: int,
    root: Path,
    nb: Path,
    out: Path,
    env: dict[str, str],
    cold_env: dict[str, str],
    mlops: list[str],
    pm_cmd: list[str],
) -> int:
    import papermill

    def warm() -> float:
        start = time.perf_counter()
        papermill.execute_notebook(str(nb), str(out), {"x": 3}, progress_bar=False)
        return time.perf_counter() - start

    variants: dict[str, Callable[[], float]] = {
        "jupyter mlops run, warm worker": timed_command(mlops, root, env),
        "jupyter mlops run, no worker (cold process)": timed_command(mlops, root, cold_env),
        "papermill CLI": timed_command(pm_cmd, root, env),
        "papermill.execute_notebook, warm process": warm,
    }
    for fn in variants.values():  # warm-up: store schema, worker's spare kernel, imports
        fn()
    times: dict[str, list[float]] = {name: [] for name in variants}
    executors = []
    for _ in range(repeat):
        for name, fn in variants.items():
            times[name].append(fn())
            if name.endswith("warm worker"):
                executors.append(_executor(root))
    med = {name: statistics.median(values) for name, values in times.items()}
    print(f"median of {repeat} executions each (taken in turns), trivial 3-cell notebook")
    print(f"runs of the warm rows executed by: {', '.join(sorted(set(executors)))}\n")
    print(f"{'':<46}{'median s':>9}{'min s':>8}{'max s':>8}")
    for name, values in times.items():
        print(f"{name:<46}{med[name]:>9.2f}{min(values):>8.2f}{max(values):>8.2f}")
    ours, cold = (
        med["jupyter mlops run, warm worker"],
        med["jupyter mlops run, no worker (cold process)"],
    )
    pm_cli, pm_warm = med["papermill CLI"], med["papermill.execute_notebook, warm process"]
    print()
    print(f"warm worker / papermill CLI        {ours / pm_cli:5.2f}   (goal <= 0.75)")
    print(f"warm worker / warm in-process      {ours / pm_warm:5.2f}   (goal <= 1.30)")
    print(f"no worker   / papermill CLI        {cold / pm_cli:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
