"""Panel speed on 10,000 runs: jupyter-mlops' panel and runs index vs MLflow's own search.

Builds (once, cached under ``--store``) an embedded store with N runs of 2 metrics
and 2 params each, then measures side by side in one process, MLflow already imported:

- first render: ``mlops.panel()`` built with its first page (index built from
  cold) vs ``MlflowClient.search_runs`` of the same first page, and vs
  ``mlflow.search_runs`` loading every run (what a DataFrame-based panel would do);
- page change, re-sort by a metric, filter: the panel's action vs the
  ``search_runs`` call that gives the same page;
- refresh of an unchanged store and after one new run (the index alone).

Usage: ``python bench/bench_panel.py [--runs 10000] [--store /tmp/mlops-bench-panel]``
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _table import print_table
from jupyter_mlops.config import load_settings
from jupyter_mlops.tracking.mlflow_bridge.store import open_client

PAGE = 25
EXPERIMENT = "bench-panel"


def _client(root: Path) -> Any:
    settings = load_settings(home=str(root))
    return settings, open_client(settings)


def _write_runs(args: tuple[str, str, int, int, bool]) -> None:
    from mlflow.entities import Metric, Param

    root, exp, start, count, wide = args
    _, client = _client(Path(root))
    for i in range(start, start + count):
        run = client.create_run(exp, start_time=1_700_000_000_000 + i, run_name=f"run-{i:05d}")
        rid = run.info.run_id
        metrics = [
            Metric("acc", (i * 7919 % 10007) / 10007, 0, 0),
            Metric("loss", 1 / (i + 1), 0, 0),
        ]
        params = [Param("model", ("rf", "gbm", "lr")[i % 3]), Param("depth", str(i % 12))]
        if wide:  # 4 metrics and 4 params
            metrics += [
                Metric("f1", (i * 31 % 997) / 997, 0, 0),
                Metric("auc", (i % 89) / 89, 0, 0),
            ]
            params += [Param("lr", str(10 ** -(i % 5))), Param("seed", str(i % 1000))]
        client.log_batch(rid, metrics=metrics, params=params)
        client.set_terminated(rid, "FINISHED", end_time=1_700_000_000_000 + i + 5000)


def build_store(root: Path, n: int, procs: int = 8, wide: bool = False) -> str:
    """Create (or reuse) a store with ``n`` runs; return the experiment id.

    Each run has 2 metrics and 2 params, or 4 and 4 when ``wide``.
    """
    _, client = _client(root)
    exp = client.get_experiment_by_name(EXPERIMENT)
    if exp is not None:
        have = len(client.search_runs([exp.experiment_id], max_results=50_000))
        if have == n:
            return str(exp.experiment_id)
        raise SystemExit(f"{root} holds {have} runs, not {n}: remove it or pass another --store")
    exp_id = client.create_experiment(EXPERIMENT)
    t0 = time.perf_counter()
    share = -(-n // procs)
    jobs = [(str(root), exp_id, s, min(share, n - s), wide) for s in range(0, n, share)]
    with multiprocessing.get_context("spawn").Pool(procs) as pool:
        pool.map(_write_runs, jobs)
    print(f"built {n} runs in {time.perf_counter() - t0:.1f} s under {root}")
    return str(exp_id)


def _ms(fn: Callable[[], Any], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _once_ms(fn: Callable[[], Any]) -> float:
    return _ms(fn, repeat=1)


def measure(root: Path, exp_id: str) -> list[list[object]]:
    """Return table rows: action, ours (ms), MLflow (ms), ratio."""
    import mlflow

    import jupyter_mlops as mlops
    from jupyter_mlops.tracking import api

    settings, client = _client(root)
    api.reset(settings)
    mlops.experiment(EXPERIMENT)
    mlflow.set_tracking_uri(settings.tracking_uri)

    def search(order: list[str] | None = None, filt: str = "", token: str | None = None) -> Any:
        return client.search_runs(
            [exp_id], filt, order_by=order, max_results=PAGE, page_token=token
        )

    holder: dict[str, Any] = {}
    ours_first = _once_ms(lambda: holder.setdefault("p", mlops.panel(page_size=PAGE)))
    runs_tab = holder["p"].runs
    assert runs_tab.total == len(runs_tab.index), "panel must show every run"
    theirs_first = _ms(lambda: search())
    theirs_all = _once_ms(lambda: mlflow.search_runs([exp_id], max_results=100_000))

    token = search().token
    ours_page = _ms(lambda: (runs_tab.go_to_page(1), runs_tab.go_to_page(2)), repeat=5) / 2
    theirs_page = _ms(lambda: search(token=token))
    ours_sort = _ms(lambda: (runs_tab.sort_by("metrics.acc"), runs_tab.sort_by("metrics.acc")))
    ours_sort /= 2
    theirs_sort = _ms(lambda: search(["metrics.acc DESC"]), repeat=1)
    filt = "metrics.acc > 0.5 and params.model = 'rf'"
    ours_filter = _ms(lambda: (runs_tab.set_filter(filt), runs_tab.set_filter("")), repeat=3) / 2
    theirs_filter = _ms(lambda: search(filt=filt), repeat=1)
    ours_both = _once_ms(lambda: (runs_tab.set_filter(filt), runs_tab.sort_by("metrics.loss")))
    theirs_both = _ms(lambda: search(["metrics.loss DESC"], filt), repeat=1)

    index = runs_tab.index
    unchanged = _ms(lambda: index.refresh(), repeat=5)
    extra = client.create_run(exp_id, run_name="one-more").info.run_id
    one_new = _once_ms(lambda: index.refresh())
    client.delete_run(extra)  # keep the cached store at exactly N active runs
    full = _once_ms(lambda: index.refresh(full=True))
    holder["p"].close()

    def row(action: str, ours: float, theirs: float | None, what: str) -> list[object]:
        if theirs is None:
            ratio = "-"
        else:
            ratio = f"{theirs / ours:,.0f}x" if theirs >= 10 * ours else f"{theirs / ours:.2f}x"
        them = f"{theirs:,.1f}" if theirs is not None else "-"
        return [action, f"{ours:,.1f}", them, ratio, what]

    return [
        row("first render (page 1)", ours_first, theirs_first, f"search_runs(max_results={PAGE})"),
        row("first render, load all", ours_first, theirs_all, "mlflow.search_runs(all)"),
        row("page change", ours_page, theirs_page, "search_runs(page_token)"),
        row("re-sort by a metric", ours_sort, theirs_sort, "search_runs(order_by metric)"),
        row("filter", ours_filter, theirs_filter, "search_runs(filter)"),
        row("filter + sort by metric", ours_both, theirs_both, "search_runs(filter, order)"),
        row("refresh, store unchanged", unchanged, None, "(index only)"),
        row("refresh after 1 new run", one_new, None, "(index only)"),
        row("full re-read of the store", full, None, "(index only)"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--store", default="/tmp/mlops-bench-panel")
    args = parser.parse_args()
    root = Path(args.store) / str(args.runs)
    (root / ".mlops").mkdir(parents=True, exist_ok=True)
    exp_id = build_store(root, args.runs)
    rows = measure(root, exp_id)
    print_table(
        f"Panel on {args.runs:,} runs (page of {PAGE}; ms, median; ratio = MLflow / ours)",
        ["action", "ours ms", "MLflow ms", "ratio", "MLflow call"],
        rows,
    )
    print("\ngoals: first render <= 1,000 ms; any page sorted or filtered <= 300 ms")


if __name__ == "__main__":
    main()
