"""Batch scoring: ``jupyter mlops predict`` vs ``mlflow models predict --env-manager local``.

One scikit-learn model (a logistic regression on 20 numeric columns, registered
with its training snapshot) scores the same rows with both tools, each in its
own process, side by side in one run:

- ours: ``jupyter mlops predict bench@production in.parquet -o scores.parquet``
  (streamed in 100,000-row batches; a run with drift against the training
  snapshot; every prediction appended to the prediction log with role ``batch``);
- MLflow: ``mlflow models predict -m <model folder> -i in.csv -t csv -o out.json
  --env-manager local`` (MLflow reads CSV or JSON, not Parquet; it loads the
  whole input, scores it and records nothing).

The table shows wall time and each process's peak resident memory (its
``ru_maxrss``, read by a small wrapper process), with ratios. The issue's goal
(10,000,000 rows: >= 2x MLflow's speed, peak <= 1.5 GB) is the default of
``--rows`` divided by ten, to keep a run on a shared machine short.

Usage: ``python bench/bench_predict.py [--rows 1000000]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _table import print_table

COLUMNS = 20
_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(code)\n"
)


def _frame(rows: int, seed: int) -> object:
    import pandas as pd

    rng = np.random.default_rng(seed)
    data = rng.normal(size=(rows, COLUMNS))
    return pd.DataFrame(data, columns=[f"x{i}" for i in range(COLUMNS)])


def _register(root: Path) -> str:
    """Register the bench model in a fresh store at ``root``; return a copy of its folder."""
    os.environ["MLOPS_HOME"] = str(root)
    from mlflow.artifacts import download_artifacts
    from sklearn.linear_model import LogisticRegression

    import jupyter_mlops as mlops
    from jupyter_mlops.models.loading import artifact_location
    from jupyter_mlops.models.refs import resolve
    from jupyter_mlops.tracking.api import tracker

    X = _frame(5_000, 0)
    y = (X.sum(axis=1) > 0).astype(int)  # type: ignore[attr-defined]
    clf = LogisticRegression().fit(X, y)
    with mlops.start_run():
        mlops.snapshot(X, name="bench-train")
        mlops.register_model(clf, "bench", data="bench-train", alias="production")
    t = tracker()
    version = resolve(t.client, "bench@production")
    folder = download_artifacts(
        artifact_uri=artifact_location(t.client, version),
        dst_path=str(root / "mlflow-copy"),
        tracking_uri=t.settings.tracking_uri,
    )
    t.flush()
    return str(folder)


def _measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak resident MB of ``cmd`` run in its own process."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *cmd], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{cmd[0]} failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    return seconds, int(done.stdout.strip().splitlines()[-1]) / 1024


def main() -> None:
    """Write the input, run both tools, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    root = Path(tempfile.mkdtemp(prefix="mlops-bench-predict-"))
    try:
        (root / ".mlops").mkdir()
        folder = _register(root)
        env["MLOPS_HOME"] = str(root)
        frame = _frame(args.rows, 1)
        frame.to_parquet(root / "in.parquet")  # type: ignore[attr-defined]
        frame.to_csv(root / "in.csv", index=False)  # type: ignore[attr-defined]
        del frame
        ours = [str(bin_dir / "jupyter-mlops"), "predict", "bench@production"]
        mlflow = [str(bin_dir / "mlflow"), "models", "predict", "-m", folder]
        turns = [
            ("ours (Parquet)", [*ours, str(root / "in.parquet"), "-o", str(root / "o.parquet")]),
            ("ours (CSV)", [*ours, str(root / "in.csv"), "-o", str(root / "o.csv")]),
            ("mlflow models predict (CSV)", [*mlflow, "-i", str(root / "in.csv"), "-t", "csv",
             "-o", str(root / "o.json"), "--env-manager", "local"]),
        ]  # fmt: skip
        results = {name: _measure(cmd, env) for name, cmd in turns}
        base_s, base_mb = results["mlflow models predict (CSV)"]
        rows = [
            [name, f"{s:.1f}", f"{args.rows / s:,.0f}", f"{mb:,.0f}",
             f"{base_s / s:.2f}x" if not name.startswith("mlflow") else "1.00x"]
            for name, (s, mb) in results.items()
        ]  # fmt: skip
        title = (
            f"Batch scoring, {args.rows:,} rows x {COLUMNS} columns (load {os.getloadavg()[0]:.1f})"
        )
        print_table(title, ["tool", "seconds", "rows/s", "peak MB", "speed vs MLflow"], rows)
        print(f"\npeak memory: MLflow {base_mb:,.0f} MB")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
