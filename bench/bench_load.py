"""Team load: many processes logging at once, on the embedded store and on a server.

The same load runs four ways, side by side in one run: ``mlops.log`` and plain
``mlflow.log_metric``, each against the embedded SQLite store and against
``mlflow server`` on a private PostgreSQL cluster (both on 127.0.0.1). The load
is ``--procs`` processes each logging ``--values`` metric values to one run,
plus ``--short-runs`` short runs (a param and a metric each) spread over them.
The processes wait on a barrier after their imports, so the clock covers only
the logging, up to each run's end (values durable). Afterwards every value is
counted back through ``MlflowClient``: errors and lost values must both be 0.
Plain ``mlflow.log_metric`` writes once per call, so it gets ``--baseline-values``
per process (default 100) and the two are compared on values per second.

Usage: ``python bench/bench_load.py [--procs 16] [--values 5000] [--short-runs 200]
[--baseline-values N] [--stores embedded,server]``
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _table import print_table

METRIC = "loss"


@dataclass(frozen=True)
class Load:
    """One process's share of the load."""

    worker: int
    values: int
    short_runs: int
    experiment: str


def _short_runs_of(worker: int, procs: int, total: int) -> int:
    return total // procs + (1 if worker < total % procs else 0)


# -- workers (run in child processes) ---------------------------------------------------
class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage()[:200])


def _work_ours(load: Load) -> list[str]:
    """Log through ``jupyter_mlops``; return the warnings it gave (store trouble, retried)."""
    import jupyter_mlops as mlops

    warnings = _Warnings()
    logging.getLogger("jupyter_mlops").addHandler(warnings)
    mlops.experiment(load.experiment)
    mlops.start_run(name=f"worker-{load.worker}")
    for i in range(load.values):
        mlops.log(loss=i * 0.5, step=i)
    mlops.end_run()
    for k in range(load.short_runs):
        with mlops.start_run(name=f"short-{load.worker}-{k}"):
            mlops.log(k=k, score=k * 0.1)
    return warnings.messages


def _work_mlflow(load: Load) -> list[str]:
    """Log through plain ``mlflow.log_metric``; MLflow raises on failure."""
    import mlflow

    mlflow.set_experiment(load.experiment)
    with mlflow.start_run(run_name=f"worker-{load.worker}"):
        for i in range(load.values):
            mlflow.log_metric(METRIC, i * 0.5, step=i)
    for k in range(load.short_runs):
        with mlflow.start_run(run_name=f"short-{load.worker}-{k}"):
            mlflow.log_param("k", k)
            mlflow.log_metric("score", k * 0.1)
    return []


def _open_store(kind: str) -> None:
    if kind == "ours":
        from jupyter_mlops.tracking import api

        api.tracker().client.search_experiments(max_results=1)
    else:
        import mlflow

        mlflow.search_experiments(max_results=1)


def _worker(kind: str, load: Load, env: dict[str, str], barrier: Any, out: Any) -> None:
    os.environ.update(env)
    work = _work_ours if kind == "ours" else _work_mlflow
    _open_store(kind)  # imports and opening the store stay off the clock
    barrier.wait()
    t0 = time.time()
    try:
        warnings = work(load)
    except Exception as exc:  # counted and reported, never hidden
        out.put((load.worker, t0, time.time(), 1, f"{type(exc).__name__}: {exc}"[:300], []))
        return
    out.put((load.worker, t0, time.time(), 0, "", warnings))


# -- driver -----------------------------------------------------------------------------
@dataclass
class Outcome:
    seconds: float
    values: int
    errors: int
    lost: int
    note: str
    warnings: list[str]


def _run_load(
    kind: str, env: dict[str, str], loads: list[Load]
) -> tuple[float, int, str, list[str]]:
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(len(loads)), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(kind, ld, env, barrier, out)) for ld in loads]
    for p in procs:
        p.start()
    results = [out.get(timeout=3600) for _ in procs]
    for p in procs:
        p.join()
    seconds = max(r[2] for r in results) - min(r[1] for r in results)
    errors = sum(r[3] for r in results) + sum(1 for p in procs if p.exitcode != 0)
    notes = "; ".join(sorted({r[4] for r in results if r[4]}))
    warnings = [w for r in results for w in r[5]]
    return seconds, errors, notes, warnings


def _count_lost(env: dict[str, str], loads: list[Load]) -> int:
    """Values and short runs missing from the store, counted through MlflowClient."""
    from mlflow import MlflowClient

    os.environ.update(env)
    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    exp = client.get_experiment_by_name(loads[0].experiment)
    if exp is None:
        return sum(ld.values + ld.short_runs for ld in loads)
    runs = client.search_runs([exp.experiment_id], max_results=50_000)
    by_name = {r.info.run_name: r for r in runs}
    lost = 0
    for ld in loads:
        run = by_name.get(f"worker-{ld.worker}")
        steps = set()
        if run is not None:
            steps = {m.step for m in client.get_metric_history(run.info.run_id, METRIC)}
        lost += len(set(range(ld.values)) - steps)
        for k in range(ld.short_runs):
            short = by_name.get(f"short-{ld.worker}-{k}")
            ok = short is not None and short.info.status == "FINISHED"
            lost += 0 if ok and short.data.metrics.get("score") == k * 0.1 else 1
    return lost


def _create_experiment(env: dict[str, str], name: str) -> None:
    """Create the experiment up front: 16 processes racing to create it is not the load."""
    from mlflow import MlflowClient

    os.environ.update(env)
    MlflowClient(env["MLFLOW_TRACKING_URI"]).create_experiment(name)


def _measure(kind: str, env: dict[str, str], loads: list[Load]) -> Outcome:
    _create_experiment(env, loads[0].experiment)
    seconds, errors, note, warnings = _run_load(kind, env, loads)
    lost = _count_lost(env, loads)
    values = sum(ld.values + 2 * ld.short_runs for ld in loads)
    return Outcome(seconds, values, errors, lost, note, warnings)


def _loads(procs: int, values: int, short_runs: int, experiment: str) -> list[Load]:
    return [Load(w, values, _short_runs_of(w, procs, short_runs), experiment) for w in range(procs)]


def _embedded_env(base: Path) -> dict[str, str]:
    from jupyter_mlops.config import load_settings
    from jupyter_mlops.tracking.mlflow_bridge.store import open_client

    root = base / "embedded"
    (root / ".mlops").mkdir(parents=True)
    settings = load_settings(home=str(root))
    open_client(settings)  # schema created once, as the first kernel would
    return {"MLOPS_HOME": str(root), "MLFLOW_TRACKING_URI": settings.tracking_uri}


def _rows(store: str, ours: Outcome, theirs: Outcome, procs: int) -> list[list[object]]:
    rows = []
    for name, o in (("jupyter-mlops (mlops.log)", ours), ("mlflow.log_metric", theirs)):
        rate = o.values / o.seconds if o.seconds else 0.0
        rows.append([store, name, procs, o.values, f"{o.seconds:.1f}", f"{rate:,.0f}",
                     o.errors, o.lost, len(o.warnings)])  # fmt: skip
    ratio = (ours.values / ours.seconds) / (theirs.values / theirs.seconds)
    rows.append([store, "ratio (ours / mlflow, values/s)", "", "", "", f"{ratio:.1f}x", "", "", ""])
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", type=int, default=16)
    parser.add_argument("--values", type=int, default=5000, help="metric values per process")
    parser.add_argument("--short-runs", type=int, default=200)
    parser.add_argument(
        "--baseline-values", type=int, default=100,
        help="values per process for plain mlflow.log_metric (one write per call: the full "
        "5,000 takes hours on SQLite with 16 writers); values/s is what is compared",
    )  # fmt: skip
    parser.add_argument("--stores", default="embedded,server")
    parser.add_argument("--server-workers", type=int, default=4)
    args = parser.parse_args()
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    base_values = args.baseline_values
    base = Path(tempfile.mkdtemp(prefix="mlops-bench-load-"))
    rows: list[list[object]] = []
    failures = []
    try:
        for store in stores:
            with _store_env(store, base, args.server_workers) as env:
                ours = _measure("ours", env, _loads(args.procs, args.values, args.short_runs,
                                                    "load-ours"))  # fmt: skip
                theirs = _measure("mlflow", env, _loads(args.procs, base_values, args.short_runs,
                                                        "load-mlflow"))  # fmt: skip
            rows += _rows(store, ours, theirs, args.procs)
            failures += [f"{store}: {o.note}" for o in (ours, theirs) if o.note]
            for text, count in Counter(ours.warnings).most_common(3):
                print(f"({store}) warning x{count}: {text}")
            if ours.errors or ours.lost:
                failures.append(f"{store}: ours had {ours.errors} errors, {ours.lost} lost")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    header = ["store", "writer", "procs", "values", "seconds", "values/s", "errors", "lost",
              "warnings"]  # fmt: skip
    print_table(
        f"Load: {args.procs} processes x {args.values:,} values + {args.short_runs} short runs "
        f"(mlflow.log_metric: {base_values:,} values per process)",
        header,
        rows,
    )
    for line in failures:
        print(f"! {line}")
    return 1 if any("ours had" in f for f in failures) else 0


@contextlib.contextmanager
def _store_env(store: str, base: Path, workers: int) -> Iterator[dict[str, str]]:
    """The environment for one store; starts (and stops) the server when needed."""
    if store == "embedded":
        yield _embedded_env(base)
        return
    if store != "server":
        raise SystemExit(f"unknown store {store!r}; use embedded and/or server")
    from jupyter_mlops.testing.team import TeamServer

    t0 = time.perf_counter()
    server = TeamServer(base / "team", workspaces=False, workers=workers).start()
    print(f"(server + PostgreSQL up in {time.perf_counter() - t0:.0f} s)", flush=True)
    try:
        root = base / "server-home"
        root.mkdir()
        yield {"MLOPS_HOME": str(root), "MLFLOW_TRACKING_URI": server.url}
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
