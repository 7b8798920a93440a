"""REST speed on 10,000 runs: the sidebar's ``GET runs`` and the runs table's ``GET runs-table``
vs MLflow's own ``runs/search``.

Both servers run on 127.0.0.1 over the same SQLite file (the store of
``bench_panel.py``, built once with N runs of 4 metrics and 4 params each):

- ours: ``jupyter server`` with the ``jupyter_mlops`` extension, token auth,
  ``GET /mlops/api/v1/runs`` and ``GET /mlops/api/v1/runs-table`` (both answered
  from the shared runs index);
- MLflow: ``mlflow server``, ``POST /api/2.0/mlflow/runs/search``.

First table: one 100-row page (default order, ordered by a metric, filtered by a
metric). Second table: what the runs table view asks for, with 4 metric and 4 param
columns: its first page (the top 200 rows of the grouped table, ``nested=true``; it
is drawn from this while the rest loads) against MLflow's first ``runs/search`` page
of 200, then every matching run in one request against MLflow paging through
``runs/search`` 1,000 runs at a time (its largest useful page). Ours is timed both on
a new query (each request asks for the columns in another order, so no answer is
reused) and on a repeated one (asked once before timing, then answered from the cache
of encoded answers, as when a view is opened again or the table polls). Sorting is
not a request any more: with every matching run loaded the view sorts in the browser
(``tests/ui/test_runs_table.py`` times it).
Each request is sent repeatedly over one keep-alive connection; p50/p95 with ratios.
MLflow's metric-ordered search takes seconds per page here, so it gets fewer requests
(the ``n`` column says how many).

Usage: ``python bench/bench_server.py [--runs 10000] [--requests 50] [--store DIR]``
"""

from __future__ import annotations

import argparse
import http.client
import itertools
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
#: the runs table's columns in the second table (the wide store's 4 metrics and 4 params)
COLUMNS = [*(f"metrics.{k}" for k in ("acc", "loss", "f1", "auc")),
           *(f"params.{k}" for k in ("model", "depth", "lr", "seed"))]  # fmt: skip
#: runs per ``runs/search`` request when reading every run
ALL_PAGE = 1000
#: rows of the runs table view's first page (``FIRST_PAGE`` in labextension/src/tableModel.ts)
FIRST_PAGE = 200
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


def _get(port: int, token: str, path: str | Callable[[], str]) -> Callable[[], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    headers = {"Authorization": f"token {token}"}

    def send() -> bytes:
        conn.request("GET", path if isinstance(path, str) else path(), headers=headers)
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200, body[:300]
        return body

    return send


def _ours(port: int, token: str, exp: str, filt: str, order: str) -> Callable[[], bytes]:
    query = {"experiment_id": exp, "max_results": PAGE, "filter": filt, "order_by": order}
    return _get(
        port, token, "/mlops/api/v1/runs?" + urlencode({k: v for k, v in query.items() if v})
    )


def _ours_table(
    port: int, token: str, exp: str, filt: str, order: str, *, new: bool, first: bool
) -> Callable[[], bytes]:
    """``GET runs-table``: a ``new`` query each time (columns in another order) or the same."""
    query = [("experiment_id", exp), ("filter", filt), ("order_by", order)]
    if first:
        query += [("limit", str(FIRST_PAGE)), ("nested", "true")]
    orders = itertools.permutations(COLUMNS)
    next(orders)  # the plain order is the repeated query's

    def path() -> str:
        columns = next(orders) if new else COLUMNS
        query_ = query + [("column", c) for c in columns]
        return "/mlops/api/v1/runs-table?" + urlencode([q for q in query_ if q[1]])

    return _get(port, token, path)


def _post(port: int, payload: dict[str, Any]) -> Callable[[], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def send() -> bytes:
        conn.request("POST", "/api/2.0/mlflow/runs/search", body=json.dumps(payload),
                     headers={"Content-Type": "application/json"})  # fmt: skip
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200, body[:300]
        return body

    return send


def _search(exp: str, filt: str, order: str, size: int) -> dict[str, Any]:
    payload: dict[str, Any] = {"experiment_ids": [exp], "max_results": size, "filter": filt}
    if order:
        payload["order_by"] = [order]
    return payload


def _theirs(port: int, exp: str, filt: str, order: str) -> Callable[[], bytes]:
    return _post(port, _search(exp, filt, order, PAGE))


def _theirs_all(port: int, exp: str, filt: str, order: str) -> Callable[[], bytes]:
    """Every matching run through ``runs/search`` pages; the body lists run ids and bytes read."""
    payload = _search(exp, filt, order, ALL_PAGE)

    def send() -> bytes:
        ids, size, token = [], 0, None
        while True:
            body = _post(port, {**payload, "page_token": token} if token else payload)()
            size += len(body)
            page = json.loads(body)
            ids += [r["info"]["run_id"] for r in page.get("runs", [])]
            token = page.get("next_page_token")
            if not token:
                return json.dumps({"run_ids": ids, "bytes": size}).encode()

    return send


def _same_ids(ours: bytes, theirs: bytes) -> bool:
    a = [r["run_id"] for r in json.loads(ours)["runs"]]
    b = [r["info"]["run_id"] for r in json.loads(theirs).get("runs", [])]
    return a == b


def _table_row(label: str, ours: tuple[list[float], bytes], theirs: tuple[list[float], bytes],
               same: bool) -> list[object]:  # fmt: skip
    (ours_t, _), (theirs_t, _) = ours, theirs
    ratio = _p(theirs_t, 95) / _p(ours_t, 95)
    return [label, f"{len(ours_t)}/{len(theirs_t)}", f"{_p(ours_t, 50):.1f}",
            f"{_p(ours_t, 95):.1f}", f"{_p(theirs_t, 50):.1f}", f"{_p(theirs_t, 95):.1f}",
            f"{ratio:.1f}x (same {'runs' if same else 'NOT'})"]  # fmt: skip


def _pages(
    ports: tuple[int, int], token: str, exp: str, requests: int, slow: int
) -> list[list[object]]:
    ours_port, mlflow_port = ports
    rows = []
    for label, filt, order in CASES:
        ours = _timed(_ours(ours_port, token, exp, filt, order), requests)
        n = slow if order.startswith("metrics") else requests
        theirs = _timed(_theirs(mlflow_port, exp, filt, order), n)
        same = _same_ids(ours[1], theirs[1])
        rows.append(_table_row(label, ours, theirs, same))
    return rows


def _tables(
    ports: tuple[int, int], token: str, exp: str, requests: int, slow: int
) -> list[list[object]]:
    ours_port, mlflow_port = ports
    rows = []
    for label, filt, order in CASES:
        n = 1 if order.startswith("metrics") else slow
        page = _timed(_post(mlflow_port, _search(exp, filt, order, FIRST_PAGE)), n)
        theirs = _timed(_theirs_all(mlflow_port, exp, filt, order), n)
        other = json.loads(theirs[1])
        for new, first in ((True, True), (True, False), (False, False)):
            send = _ours_table(ours_port, token, exp, filt, order, new=new, first=first)
            if not new:
                send()  # the answer a repeated query finds
            ours = _timed(send, requests)
            mine = json.loads(ours[1])["runs"]["run_id"]
            if first:
                what, anchor, size = f"first page ({len(mine)} rows)", page, len(page[1])
                same = mine == [r["info"]["run_id"] for r in json.loads(page[1])["runs"]]
            else:
                what, anchor, size = f"every run ({len(mine):,})", theirs, other["bytes"]
                same = mine == other["run_ids"]
            mb = f"{len(ours[1]) / 1e6:.2f} / {size / 1e6:.2f} MB"
            cached = "new query" if new else "repeated"
            rows.append(_table_row(f"{label}: {what}, {cached} [{mb}]", ours, anchor, same))
    return rows


def measure(root: Path, exp: str, requests: int, slow: int) -> tuple[list[list[object]], ...]:
    """Return the rows of both tables."""
    work = Path(tempfile.mkdtemp(prefix="mlops-bench-server-"))
    token, ours_port, mlflow_port = secrets.token_hex(16), free_port(), free_port()
    db = root / ".mlops" / "mlflow.db"
    with _jupyter(root, ours_port, token, work), _mlflow(db, mlflow_port):
        cold, _ = _timed(_ours(ours_port, token, exp, "", ""), 1)
        pages = [["first request (builds the runs index)", 1, f"{cold[0]:.0f}", "", "", "", ""]]
        pages += _pages((ours_port, mlflow_port), token, exp, requests, slow)
        tables = _tables((ours_port, mlflow_port), token, exp, max(5, requests // 5), slow)
    shutil.rmtree(work, ignore_errors=True)
    return pages, tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--slow-requests", type=int, default=5)
    parser.add_argument("--store", default="/tmp/mlops-bench-server")
    args = parser.parse_args()
    root = Path(args.store) / f"{args.runs}-wide"  # built once, then reused
    root.mkdir(parents=True, exist_ok=True)
    exp = build_store(root, args.runs, wide=True)
    pages, tables = measure(root, exp, args.requests, args.slow_requests)
    header = ["request", "n ours/MLflow", "ours p50", "ours p95", "MLflow p50", "MLflow p95",
              "MLflow p95 / ours p95"]  # fmt: skip
    title = f"{args.runs:,} runs (4 metrics + 4 params each), ms"
    print_table(f"GET a {PAGE}-row runs page, {title}", header, pages)
    print("\ngoal: ours p95 <= 150 ms on every page\n")
    print_table(
        f"Runs table with {len(COLUMNS)} columns [JSON ours / MLflow], {title}; ours GET"
        f" runs-table, MLflow runs/search: one page of {FIRST_PAGE}, or pages of {ALL_PAGE}",
        header,
        tables,
    )
    print(
        "\ngoal: filter round trip p95 <= 150 ms (the view draws the first page, then loads"
        " the rest); sort: no request once every run is loaded"
    )


if __name__ == "__main__":
    main()
