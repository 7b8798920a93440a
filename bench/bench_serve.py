"""Scoring speed: ``jupyter mlops serve --monitor`` vs MLflow's ``mlflow models serve``.

One scikit-learn model (a gradient-boosting classifier on the wine data set,
registered with its training snapshot) is served by both servers on
127.0.0.1, in turns, from the same MLflow model folder:

- ours: ``jupyter mlops serve wine@production --monitor --alert ...`` (metrics on
  every request, drift of the 1,000-row window computed in the background at the
  default interval, 5 s);
- MLflow: ``mlflow models serve -m <model folder> --env-manager local``.

For 1-row and 100-row ``dataframe_split`` requests, ``--clients`` threads each
send requests over their own keep-alive connection for ``--requests`` requests in
total; the table shows requests/s and p50/p99 latency with ratios (goal:
throughput >= 0.9 x MLflow's, p99 <= 1.2 x). Every answer is checked to be 200.

Usage: ``python bench/bench_serve.py [--requests 400] [--clients 4] [--rounds 2]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
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


def _load(port: int, body: bytes, requests: int, clients: int) -> tuple[float, list[float]]:
    """Send ``requests`` POSTs from ``clients`` threads; return wall seconds and latencies."""
    latencies: list[float] = []
    failures: list[int] = []
    per_client = [requests // clients + (i < requests % clients) for i in range(clients)]
    headers = {"Content-Type": "application/json"}

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for _ in range(n):
            start = time.perf_counter()
            conn.request("POST", "/invocations", body, headers)
            response = conn.getresponse()
            response.read()
            latencies.append(time.perf_counter() - start)
            if response.status != 200:
                failures.append(response.status)
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in per_client]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    if failures:
        raise SystemExit(f"{len(failures)} requests failed (statuses {sorted(set(failures))})")
    return wall, latencies


def _bodies(X: Any) -> dict[int, bytes]:
    out = {}
    for rows in ROWS:
        frame = X.sample(rows, replace=rows > len(X), random_state=rows)
        out[rows] = json.dumps({"dataframe_split": frame.to_dict(orient="split")}).encode()
    return out


def _measure(ports: dict[str, int], X: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Per case the servers take turns, first one then the other, then the other way round.

    Each server's turn at a case sits next to the other's, and the order swaps
    every round, so a change of machine load hits both alike.
    """
    bodies = _bodies(X)
    walls = {(s, n): 0.0 for s in ports for n in ROWS}
    lats: dict[tuple[str, int], list[float]] = {(s, n): [] for s in ports for n in ROWS}
    for port in ports.values():
        for body in bodies.values():
            _load(port, body, 20, 1)  # warm-up
    for round_ in range(args.rounds):
        order = list(ports) if round_ % 2 == 0 else list(reversed(ports))
        for rows, body in bodies.items():
            for server in order:
                wall, latencies = _load(ports[server], body, args.requests, args.clients)
                walls[server, rows] += wall
                lats[server, rows] += latencies
    out: dict[str, Any] = {s: {} for s in ports}
    for (server, rows), values in lats.items():
        p50, p99 = np.quantile(values, [0.5, 0.99])
        out[server][rows] = (len(values) / walls[server, rows], p50 * 1000, p99 * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per case and round")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client connections")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        (root / ".mlops").mkdir(parents=True)
        model_dir, X = _register(root)
        scripts = os.path.dirname(sys.executable)
        env = {**os.environ, "MLOPS_HOME": str(root), "PATH": f"{scripts}:{os.environ['PATH']}"}
        exe = str(Path(sys.executable).with_name("jupyter-mlops"))
        ours_port, theirs_port = free_port(), free_port()
        ours = [exe, "serve", "wine@production", "--port", str(ours_port), "--monitor",
                "--window", "1000", "--alert", "error_rate > 0.5"]  # fmt: skip
        theirs = [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_dir,
                  "--env-manager", "local", "--host", "127.0.0.1",
                  "--port", str(theirs_port)]  # fmt: skip
        with _serving(ours, env, ours_port), _serving(theirs, env, theirs_port):
            results = _measure({"ours": ours_port, "mlflow": theirs_port}, X, args)
    _print(results, args)


def _print(
    results: dict[str, dict[int, tuple[float, float, float]]], args: argparse.Namespace
) -> None:
    rows = []
    for n in ROWS:
        o, m = results["ours"][n], results["mlflow"][n]
        rows.append(
            [
                f"{n} row(s)",
                "`jupyter mlops serve --monitor`",
                f"{o[0]:,.0f}",
                f"{o[1]:.1f}",
                f"{o[2]:.1f}",
                "",
            ]
        )
        rows.append(
            [
                f"{n} row(s)",
                "`mlflow models serve`",
                f"{m[0]:,.0f}",
                f"{m[1]:.1f}",
                f"{m[2]:.1f}",
                "",
            ]
        )
        ratios = [f"**{o[0] / m[0]:.2f}×**", f"{o[1] / m[1]:.2f}×", f"**{o[2] / m[2]:.2f}×**"]
        rows.append(["", "ratio ours / MLflow", *ratios, "goal: req/s ≥ 0.9×, p99 ≤ 1.2×"])
    title = f"Scoring, {args.clients} clients × {args.requests * args.rounds} requests per case"
    print_table(title, ["request", "server", "req/s", "p50 ms", "p99 ms", ""], rows)


if __name__ == "__main__":
    main()
