"""REST speed on 10,000 runs: the sidebar's ``GET runs`` vs MLflow's own ``runs/search``.

Both servers run on 127.0.0.1 over the same SQLite file (the store of
``bench_panel.py``, built once with N runs of 2 metrics and 2 params each):

- ours: ``jupyter server`` with the ``jupyter_mlops`` extension, token auth,
  ``GET /mlops/api/v1/runs`` (answered from the shared runs index);
- MLflow: ``mlflow server``, ``POST /api/2.0/mlflow/runs/search``.

For each page (100 rows; default order, ordered by a metric, filtered by a metric)
it sends the same request repeatedly over one keep-alive connection and prints
p50/p95 with ratios. MLflow's metric-ordered search takes seconds per page here,
so it gets fewer requests (the ``n`` column says how many).

Usage: ``python bench/bench_server.py [--runs 10000] [--requests 50] [--store DIR]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).parent))
from _table import print_table
from bench_panel import build_store
from jupyter_mlops.testing.processes import free_port, running

REPO = Path(__file__).resolve().parents[1]
PAGE = 100
CASES = (
    ("default order (newest first)", "", ""),
    ("ordered by metrics.acc DESC", "", "metrics.acc DESC"),
    ("filtered metrics.acc > 0.5", "metrics.acc > 0.5", ""),
)


@contextmanager
def _server(cmd: list[str], env: dict[str, str], port: int, ready: str) -> Iterator[None]:
    try:
        with running(cmd, env, f"http://127.0.0.1:{port}{ready}"):
            yield
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None


def _jupyter(root: Path, port: int, token: str, work: Path) -> Any:
    config = work / "config" / "jupyter_server_config.d"
    config.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "jupyter-config" / "server-config" / "jupyter_mlops.json", config)
    env = dict(os.environ, MLOPS_HOME=str(root), JUPYTER_CONFIG_DIR=str(config.parent))
    env["JUPYTER_RUNTIME_DIR"] = str(work / "runtime")
    cmd = [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
           "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}"]  # fmt: skip
    return _server(cmd, env, port, f"/mlops/api/v1/status?token={token}")


def _mlflow(db: Path, port: int) -> Any:
    mlflow = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or "mlflow"
    cmd = [mlflow, "server", "--backend-store-uri", f"sqlite:///{db}", "--host", "127.0.0.1",
           "--port", str(port), "--workers", "1"]  # fmt: skip
    return _server(cmd, dict(os.environ), port, "/health")


def _timed(send: Callable[[], bytes], n: int) -> tuple[list[float], bytes]:
    times, body = [], b""
    for _ in range(n):
        t0 = time.perf_counter()
        body = send()
        times.append((time.perf_counter() - t0) * 1000)
    return times, body


def _p(times: list[float], q: float) -> float:
    if len(times) == 1:
        return times[0]
    return statistics.quantiles(times, n=100, method="inclusive")[int(q) - 1]


def _ours(port: int, token: str, exp: str, filt: str, order: str) -> Callable[[], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    query = {"experiment_id": exp, "max_results": PAGE, "filter": filt, "order_by": order}
    path = "/mlops/api/v1/runs?" + urlencode({k: v for k, v in query.items() if v})
    headers = {"Authorization": f"token {token}"}

    def send() -> bytes:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200, body[:300]
        return body

    return send


def _theirs(port: int, exp: str, filt: str, order: str) -> Callable[[], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    payload = {"experiment_ids": [exp], "max_results": PAGE, "filter": filt}
    if order:
        payload["order_by"] = [order]
    data = json.dumps(payload)

    def send() -> bytes:
        conn.request("POST", "/api/2.0/mlflow/runs/search", body=data,
                     headers={"Content-Type": "application/json"})  # fmt: skip
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200, body[:300]
        return body

    return send


def _same_ids(ours: bytes, theirs: bytes) -> bool:
    a = [r["run_id"] for r in json.loads(ours)["runs"]]
    b = [r["info"]["run_id"] for r in json.loads(theirs).get("runs", [])]
    return a == b


def measure(root: Path, exp: str, requests: int, slow_requests: int) -> list[list[object]]:
    """Return the table rows."""
    rows: list[list[object]] = []
    work = Path(tempfile.mkdtemp(prefix="mlops-bench-server-"))
    token, ours_port, mlflow_port = secrets.token_hex(16), free_port(), free_port()
    db = root / ".mlops" / "mlflow.db"
    with _jupyter(root, ours_port, token, work), _mlflow(db, mlflow_port):
        cold, _ = _timed(_ours(ours_port, token, exp, "", ""), 1)
        rows.append(["first request (builds the runs index)", 1, f"{cold[0]:.0f}", "", "", "", ""])
        for label, filt, order in CASES:
            ours_t, ours_body = _timed(_ours(ours_port, token, exp, filt, order), requests)
            n = slow_requests if order.startswith("metrics") else requests
            theirs_t, theirs_body = _timed(_theirs(mlflow_port, exp, filt, order), n)
            ratio = _p(theirs_t, 95) / _p(ours_t, 95)
            same = "yes" if _same_ids(ours_body, theirs_body) else "NO"
            rows.append([label, f"{requests}/{n}", f"{_p(ours_t, 50):.1f}", f"{_p(ours_t, 95):.1f}",
                         f"{_p(theirs_t, 50):.1f}", f"{_p(theirs_t, 95):.1f}",
                         f"{ratio:.1f}x (same page: {same})"])  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--slow-requests", type=int, default=5)
    parser.add_argument("--store", default="/tmp/mlops-bench-server")
    args = parser.parse_args()
    root = Path(args.store) / str(args.runs)  # built once, then reused
    root.mkdir(parents=True, exist_ok=True)
    exp = build_store(root, args.runs)
    rows = measure(root, exp, args.requests, args.slow_requests)
    print_table(
        f"GET a {PAGE}-row runs page, {args.runs:,} runs (2 metrics + 2 params each), ms",
        ["page", "n ours/MLflow", "ours p50", "ours p95", "MLflow p50", "MLflow p95",
         "MLflow p95 / ours p95"],
        rows,
    )  # fmt: skip
    print("\ngoal: ours p95 <= 150 ms on every page")


if __name__ == "__main__":
    main()
