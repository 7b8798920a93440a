"""Scoring under ``wrk``: ``jupyter mlops serve`` (monitoring, prediction log) vs MLflow's server.

One scikit-learn model (a gradient-boosting classifier on the wine data set,
registered with its training snapshot) is served by both servers on
127.0.0.1, in turns, from the same MLflow model folder:

- ours: ``jupyter mlops serve wine@production --monitor --alert ...`` (metrics on
  every request, every answer kept in the prediction log with its request ids,
  drift of the 1,000-row window computed in the background);
- ours again with ``--workers 2`` (two forked processes on the port, metrics summed over
  them, one background loop);
- MLflow: ``mlflow models serve -m <model folder> --env-manager local``.

For 1-row and 100-row ``dataframe_split`` bodies, ``wrk`` (a native load
generator: ``apt-get install -y wrk`` on Debian/Ubuntu) keeps ``--connections``
connections busy for ``--seconds`` per turn; the servers take turns, the order
swapping every round. The table shows requests/s and p50/p99 latency with
ratios; goals: 1 row >= 3x MLflow's requests/s with p99 <= 0.5x, 100 rows >= 1.5x.
A non-2xx answer fails the bench. The load average is printed with the table:
on a shared machine the ratios, measured side by side, are what to read.

Usage: ``python bench/bench_serve.py [--seconds 10] [--connections 16] [--rounds 2]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _table import print_table
from jupyter_mlops.testing.processes import free_port, running

ROWS = (1, 100)


def _register(root: Path) -> tuple[str, object]:
    """Register the bench model in a fresh store at ``root``; return its folder and the data."""
    os.environ["MLOPS_HOME"] = str(root)
    from mlflow.artifacts import download_artifacts
    from sklearn.datasets import load_wine
    from sklearn.ensemble import GradientBoostingClassifier

    import jupyter_mlops as mlops
    from jupyter_mlops.models.loading import artifact_location
    from jupyter_mlops.models.refs import resolve
    from jupyter_mlops.tracking.api import tracker

    X, y = load_wine(return_X_y=True, as_frame=True)
    clf = GradientBoostingClassifier(n_estimators=50, random_state=0).fit(X, y)
    with mlops.start_run():
        mlops.snapshot(X, name="wine-train")
        mlops.register_model(clf, "wine", data="wine-train", alias="production")
    t = tracker()
    version = resolve(t.client, "wine@production")
    location = artifact_location(t.client, version)
    folder = download_artifacts(
        artifact_uri=location,
        dst_path=str(root / "mlflow-copy"),
        tracking_uri=t.settings.tracking_uri,
    )
    return str(folder), X


@contextmanager
def _serving(cmd: list[str], env: dict[str, str], port: int) -> Iterator[None]:
    try:
        with running(cmd, env, f"http://127.0.0.1:{port}/ping", 180):
            yield
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None


def _wrk(port: int, body: bytes, seconds: float, connections: int, folder: Path) -> dict[str, Any]:
    """One ``wrk`` turn: requests/s, p50/p99 ms and the count of non-2xx answers."""
    script = folder / f"post-{len(body)}.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(body.decode())}\n"
    )
    threads = min(connections, 2)
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency",
         "-s", str(script), f"http://127.0.0.1:{port}/invocations"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rate": rate,
        "p50": _ms(re.search(r"\s50%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "p99": _ms(re.search(r"\s99%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "failed": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(0) if errors else "",
    }


def _ms(text: str) -> float:
    number = float(re.match(r"[\d.]+", text).group(0))  # type: ignore[union-attr]
    unit = text[len(re.match(r"[\d.]+", text).group(0)) :]  # type: ignore[union-attr]
    return number * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def _bodies(X: Any) -> dict[int, bytes]:
    out = {}
    for rows in ROWS:
        frame = X.sample(rows, replace=rows > len(X), random_state=rows)
        out[rows] = json.dumps({"dataframe_split": frame.to_dict(orient="split")}).encode()
    return out


def _measure(ports: dict[str, int], X: Any, args: argparse.Namespace, folder: Path) -> Any:
    """Per case the servers take turns, first one then the other, then the other way round."""
    bodies = _bodies(X)
    turns: dict[tuple[str, int], list[dict[str, Any]]] = {(s, n): [] for s in ports for n in ROWS}
    for port in ports.values():
        for body in bodies.values():
            _wrk(port, body, 2, args.connections, folder)  # warm-up
    for round_ in range(args.rounds):
        order = list(ports) if round_ % 2 == 0 else list(reversed(ports))
        for rows, body in bodies.items():
            for server in order:
                turn = _wrk(ports[server], body, args.seconds, args.connections, folder)
                if turn["failed"]:
                    raise SystemExit(f"{server}: {turn['failed']} non-2xx answers ({rows} rows)")
                turns[server, rows].append(turn)
    out: dict[str, Any] = {s: {} for s in ports}
    for (server, rows), found in turns.items():
        out[server][rows] = (
            float(np.mean([t["rate"] for t in found])),
            float(np.median([t["p50"] for t in found])),
            float(np.median([t["p99"] for t in found])),
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10, help="seconds per wrk turn")
    parser.add_argument("--connections", type=int, default=16, help="open connections")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per server")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench_serve needs wrk: apt-get install -y wrk (Debian/Ubuntu)")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        (root / ".mlops").mkdir(parents=True)
        model_dir, X = _register(root)
        scripts = os.path.dirname(sys.executable)
        env = {**os.environ, "MLOPS_HOME": str(root), "PATH": f"{scripts}:{os.environ['PATH']}"}
        exe = str(Path(sys.executable).with_name("jupyter-mlops"))
        ours_port, workers_port, theirs_port = free_port(), free_port(), free_port()
        ours = [exe, "serve", "wine@production", "--port", str(ours_port), "--monitor",
                "--window", "1000", "--alert", "error_rate > 0.5"]  # fmt: skip
        workers = [*ours[:3], "--port", str(workers_port), *ours[5:], "--workers", "2"]
        ours += ["--workers", "1"]  # one process (the default is one per core)
        theirs = [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_dir,
                  "--env-manager", "local", "--host", "127.0.0.1",
                  "--port", str(theirs_port)]  # fmt: skip
        with (
            _serving(ours, env, ours_port),
            _serving(workers, env, workers_port),
            _serving(theirs, env, theirs_port),
        ):
            ports = {"ours": ours_port, "ours-2": workers_port, "mlflow": theirs_port}
            results = _measure(ports, X, args, Path(tmp))
            logged = _logged_rows(root)
    _print(results, args, load_before, os.getloadavg(), logged)


def _logged_rows(root: Path) -> int:
    """Rows our server kept in the prediction log (the bench checks it was on)."""
    from jupyter_mlops.models.prediction_log import PredictionLog

    time.sleep(1.0)  # the log's writer runs every 0.1 s
    return PredictionLog(root / ".mlops" / "predictions.db", "wine").rows()


def _print(
    results: dict[str, dict[int, tuple[float, float, float]]],
    args: argparse.Namespace,
    before: tuple[float, float, float],
    after: tuple[float, float, float],
    logged: int,
) -> None:
    goals = {1: "goal: req/s ≥ 3×, p99 ≤ 0.5×", 100: "goal: req/s ≥ 1.5×"}
    rows = []
    for n in ROWS:
        o, w, m = results["ours"][n], results["ours-2"][n], results["mlflow"][n]
        for name, r in (
            ("`jupyter mlops serve --monitor` (prediction log on)", o),
            ("`jupyter mlops serve --monitor --workers 2`", w),
            ("`mlflow models serve`", m),
        ):
            rows.append([f"{n} row(s)", name, f"{r[0]:,.0f}", f"{r[1]:.1f}", f"{r[2]:.1f}", ""])
        for name, a, b, goal in (
            ("ratio ours / MLflow", o, m, goals[n]),
            ("ratio ours --workers 2 / MLflow", w, m, ""),
            ("ratio --workers 2 / --workers 1", w, o, ""),
        ):
            ratios = [f"**{a[0] / b[0]:.2f}×**", f"{a[1] / b[1]:.2f}×", f"**{a[2] / b[2]:.2f}×**"]
            rows.append(["", name, *ratios, goal])
    title = (
        f"Scoring under wrk, {args.connections} connections, {args.rounds} × {args.seconds:g} s "
        f"per case and server; {os.cpu_count()} CPUs, load average {before[0]:.2f} before, "
        f"{after[0]:.2f} after; {logged:,} rows in our prediction log"
    )
    print_table(title, ["request", "server", "req/s", "p50 ms", "p99 ms", ""], rows)


if __name__ == "__main__":
    main()
