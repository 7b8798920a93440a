"""Cold start: whole commands in fresh processes, ours beside the tool each one replaces.

    jupyter mlops run t.ipynb -p lr 0.2      vs  papermill t.ipynb out.ipynb -p lr 0.2
    jupyter mlops runs --max 10 (20 runs)    vs  MlflowClient(uri).search_runs(...) in python -c
    jupyter mlops pipeline show / a fully cached pipeline run   (goal: <= 1.0 s each)
    %load_ext jupyter_mlops in a fresh kernel vs  a bare cell in the same kind of kernel

"Cold" means what a CI job or a first-time user gets: no warm worker
(``MLOPS_NO_WORKER=1``), a new interpreter per command, caches as after install
(the parameter-inspection cache, ``XDG_CACHE_HOME``, starts empty in the bench's
folder and is filled by the project's first pipeline run, as any first use fills it).
Each pair runs in turns (ours, then the anchor, per round) so that the load of a
shared machine weighs on both alike; the table shows medians and ratios.

Usage: ``python bench/bench_cold.py [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _commands import timed_command
from _table import print_table
from bench_logging import bench_load_ext
from jupyter_mlops.testing.notebooks import code, params, write_notebook, write_pipeline

BIN = Path(sys.executable).parent
GOALS = {"run": 0.75, "runs": 0.5}


def _project(root: Path) -> tuple[Path, Path]:
    (root / ".mlops").mkdir()
    nb = write_notebook(
        root / "t.ipynb", [params("lr = 0.1"), code("y = lr * 2"), code("print(y)")]
    )
    spec = write_pipeline(
        root / "pipeline.yaml",
        """
        name: cold
        steps:
          first: {notebook: t.ipynb, params: {lr: 0.3}}
          second: {notebook: t.ipynb, sweep: grid, params: {lr: [0.1, 0.2]}, needs: [first]}
        """,
    )
    return nb, spec


def _seed_runs(root: Path, env: dict[str, str]) -> str:
    """Twenty runs with metrics and params in experiment ``cold``; return the tracking URI."""
    script = (
        "import jupyter_mlops as mlops\n"
        "mlops.experiment('cold')\n"
        "for i in range(20):\n"
        "    with mlops.start_run(name=f'r{i}'):\n"
        "        mlops.log(acc=i / 20, loss=1 - i / 20, lr=0.01 * i, model='rf', step=0)\n"
        "print(mlops.status()['tracking_uri'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=root, env=env, check=True, capture_output=True
    )
    return done.stdout.decode().strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        nb, spec = _project(root)
        env = {
            **os.environ,
            "MLOPS_HOME": str(root),
            "MLOPS_NO_WORKER": "1",
            "XDG_CACHE_HOME": str(root / "cache"),
        }
        uri = _seed_runs(root, env)
        mlops = str(BIN / "jupyter-mlops")
        search = (
            f"from mlflow import MlflowClient; c = MlflowClient({uri!r}); "
            "e = c.get_experiment_by_name('cold'); "
            "print(len(c.search_runs([e.experiment_id], max_results=10)))"
        )
        pairs = {
            "run": (
                timed_command([mlops, "run", str(nb), "-p", "lr", "0.2", "-q"], root, env),
                timed_command(
                    [
                        str(BIN / "papermill"),
                        str(nb),
                        str(root / "out.ipynb"),
                        "-p",
                        "lr",
                        "0.2",
                        "--no-progress-bar",
                    ],
                    root,
                    env,
                ),
            ),
            "runs": (
                timed_command([mlops, "runs", "--experiment", "cold", "--max", "10"], root, env),
                timed_command([sys.executable, "-c", search], root, env),
            ),
            "pipeline show": (
                timed_command([mlops, "pipeline", "show", str(spec)], root, env),
                None,
            ),
            "pipeline run (all cached)": (
                timed_command([mlops, "pipeline", "run", str(spec), "-q"], root, env),
                None,
            ),
        }
        # one real run first: afterwards every step is cached
        subprocess.run([mlops, "pipeline", "run", str(spec), "-q"], cwd=root, env=env, check=True)
        rows = []
        for name, (ours, anchor) in pairs.items():
            ours_s, anchor_s = [], []
            for _ in range(args.repeat):
                ours_s.append(ours())
                if anchor is not None:
                    anchor_s.append(anchor())
            rows.append(_row(name, ours_s, anchor_s))
        bare_ms, ext_ms = bench_load_ext(max(3, args.repeat // 2), root, env)
        rows.append(
            [
                "%load_ext jupyter_mlops",
                f"{ext_ms:.0f} ms",
                f"bare cell {bare_ms:.0f} ms",
                "",
                "<= 150 ms",
                "yes" if ext_ms <= 150 else "NO",
            ]
        )
    print_table(
        f"Cold commands, medians of {args.repeat} alternated runs",
        ["command", "ours", "anchor", "ratio", "goal", "met"],
        rows,
    )
    return 0


def _row(name: str, ours: list[float], anchor: list[float]) -> list[str]:
    o = statistics.median(ours)
    if not anchor:
        return [name, f"{o:.2f} s", "", "", "<= 1.0 s", "yes" if o <= 1.0 else "NO"]
    a = statistics.median(anchor)
    goal = GOALS[name]
    return [
        name,
        f"{o:.2f} s",
        f"{a:.2f} s",
        f"{o / a:.2f} x",
        f"<= {goal} x",
        "yes" if goal is not None and o / a <= goal else "NO",
    ]


if __name__ == "__main__":
    sys.exit(main())
