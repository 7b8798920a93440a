"""Logging speed: jupyter-mlops vs MLflow's own calls, side by side in one run.

Measures, each on a fresh embedded SQLite store:
- calling-thread cost of one log call (median, µs): ``mlops.log`` and ``%mlops log``
  vs ``mlflow.log_metric`` (sync and ``synchronous=False``);
- end to end, N metric values logged then the run ended (durable): ours vs
  ``MlflowClient.log_batch`` (1,000 per call) vs ``mlflow.log_metric`` sync / async;
- what ``%load_ext jupyter_mlops`` adds to a real kernel.

Usage: ``python bench/bench_logging.py [--values 20000] [--mlflow-values 2000]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _table import print_table
from jupyter_mlops.config import load_settings
from jupyter_mlops.tracking import api
from jupyter_mlops.tracking.mlflow_bridge.store import open_client


def _fresh_settings():  # type: ignore[no-untyped-def]
    root = Path(tempfile.mkdtemp(prefix="mlops-bench-"))
    (root / ".mlops").mkdir()
    return load_settings(home=str(root))


def bench_ours(n: int) -> tuple[float, float]:
    """Return (seconds end to end, median µs per call in the calling thread)."""
    settings = _fresh_settings()
    open_client(settings)
    api.reset(settings)
    import jupyter_mlops as mlops

    mlops.experiment("bench")
    per_call = []
    t0 = time.perf_counter()
    mlops.start_run(name="ours")
    for i in range(n):
        c0 = time.perf_counter_ns()
        mlops.log(loss=i * 0.5, step=i)
        per_call.append(time.perf_counter_ns() - c0)
    mlops.end_run()
    total = time.perf_counter() - t0
    _check_count(settings, "ours", n)
    api.reset(None)
    return total, statistics.median(per_call) / 1000


def bench_magic(n: int) -> float:
    """Median µs of ``%mlops log`` through a real IPython shell."""
    from IPython.testing.globalipapp import start_ipython

    settings = _fresh_settings()
    api.reset(settings)
    ip = start_ipython()
    ip.run_line_magic("load_ext", "jupyter_mlops")
    ip.run_line_magic("mlops", "start --name magic")
    per_call = []
    for i in range(n):
        c0 = time.perf_counter_ns()
        ip.run_line_magic("mlops", f"log loss={i * 0.5} --step {i}")
        per_call.append(time.perf_counter_ns() - c0)
    ip.run_line_magic("mlops", "end")
    api.reset(None)
    return statistics.median(per_call) / 1000


def bench_log_batch(n: int) -> float:
    """Seconds to write n values with MlflowClient.log_batch, 1,000 per call."""
    from mlflow.entities import Metric

    settings = _fresh_settings()
    client = open_client(settings)
    exp = client.create_experiment("bench", artifact_location=settings.artifact_root)
    t0 = time.perf_counter()
    run = client.create_run(exp, run_name="log_batch")
    ts = int(time.time() * 1000)
    for start in range(0, n, 1000):
        metrics = [Metric("loss", i * 0.5, ts, i) for i in range(start, min(n, start + 1000))]
        client.log_batch(run.info.run_id, metrics=metrics)
    client.set_terminated(run.info.run_id)
    total = time.perf_counter() - t0
    _check_count(settings, "log_batch", n)
    return total


def bench_mlflow_fluent(n: int, synchronous: bool) -> tuple[float, float]:
    """(seconds end to end, median µs per call) of mlflow.log_metric."""
    import mlflow

    settings = _fresh_settings()
    open_client(settings)
    mlflow.set_tracking_uri(settings.tracking_uri)
    name = "sync" if synchronous else "async"
    exp = mlflow.create_experiment(f"bench-{name}", artifact_location=settings.artifact_root)
    per_call = []
    t0 = time.perf_counter()
    mlflow.start_run(experiment_id=exp, run_name=name)
    for i in range(n):
        c0 = time.perf_counter_ns()
        mlflow.log_metric("loss", i * 0.5, step=i, synchronous=synchronous)
        per_call.append(time.perf_counter_ns() - c0)
    mlflow.end_run()
    total = time.perf_counter() - t0
    _check_count(settings, name, n, experiment=f"bench-{name}")
    return total, statistics.median(per_call) / 1000


def _check_count(settings, run_name: str, n: int, experiment: str = "bench") -> None:  # type: ignore[no-untyped-def]
    client = open_client(settings)
    exp = client.get_experiment_by_name(experiment)
    (run,) = client.search_runs(
        [exp.experiment_id], filter_string=f"attributes.run_name = '{run_name}'"
    )
    got = len(client.get_metric_history(run.info.run_id, "loss"))
    if got != n:
        raise SystemExit(f"{run_name}: {got} of {n} values durable")


def bench_load_ext(
    kernels: int, cwd: Path | None = None, env: dict[str, str] | None = None
) -> tuple[float, float]:
    """Median ms of ``pass`` vs ``%load_ext jupyter_mlops``, each in fresh idle kernels.

    Each kernel first answers a throw-away cell, so neither side pays its start-up.
    """
    from jupyter_client.manager import start_new_kernel

    bare, loaded = [], []
    for _ in range(kernels):
        for code, sink in (("pass", bare), ("%load_ext jupyter_mlops", loaded)):
            kernel_env = dict(os.environ if env is None else env)
            km, kc = start_new_kernel(
                kernel_name="python3", cwd=str(cwd or Path.cwd()), env=kernel_env
            )
            try:
                kc.execute_interactive("1", timeout=60, output_hook=_quiet)  # up and idle
                t0 = time.perf_counter()
                reply = kc.execute_interactive(code, timeout=120, output_hook=_quiet)
                sink.append((time.perf_counter() - t0) * 1000)
                assert reply["content"]["status"] == "ok", reply
            finally:
                kc.stop_channels()
                km.shutdown_kernel(now=True)
    return statistics.median(bare), statistics.median(loaded)


def _quiet(msg: dict) -> None:
    """Drop the kernel's output messages (the bench prints only its tables)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=20_000)
    parser.add_argument("--mlflow-values", type=int, default=2_000)
    parser.add_argument("--kernels", type=int, default=3)
    args = parser.parse_args()
    n, m = args.values, args.mlflow_values

    ours_s, ours_us = bench_ours(n)
    magic_us = bench_magic(min(n, 5000))
    batch_s = bench_log_batch(n)
    sync_s, sync_us = bench_mlflow_fluent(m, synchronous=True)
    async_s, async_us = bench_mlflow_fluent(m, synchronous=False)
    bare_ms, load_ms = bench_load_ext(args.kernels)

    rate = {
        "ours": n / ours_s,
        "batch": n / batch_s,
        "sync": m / sync_s,
        "async": m / async_s,
    }
    print_table(
        "Calling-thread cost of one log call (median)",
        ["call", "µs", "vs ours"],
        [
            ["mlops.log(loss=..., step=i)", f"{ours_us:.1f}", "1.0×"],
            ["%mlops log loss=... --step i", f"{magic_us:.1f}", f"{magic_us / ours_us:.1f}×"],
            ["mlflow.log_metric (sync)", f"{sync_us:.1f}", f"{sync_us / ours_us:.0f}×"],
            [
                "mlflow.log_metric(synchronous=False)",
                f"{async_us:.1f}",
                f"{async_us / ours_us:.0f}×",
            ],
        ],
    )
    print_table(
        "End to end: values logged, run ended, all durable (SQLite)",
        ["writer", "values", "seconds", "values/s", "ours ÷ it (throughput)"],
        [
            ["jupyter-mlops (buffered)", n, f"{ours_s:.2f}", f"{rate['ours']:,.0f}", "1.00"],
            [
                "MlflowClient.log_batch ×1000",
                n,
                f"{batch_s:.2f}",
                f"{rate['batch']:,.0f}",
                f"{rate['ours'] / rate['batch']:.2f}",
            ],
            [
                "mlflow.log_metric sync",
                m,
                f"{sync_s:.2f}",
                f"{rate['sync']:,.0f}",
                f"{rate['ours'] / rate['sync']:.1f}",
            ],
            [
                "mlflow.log_metric async",
                m,
                f"{async_s:.2f}",
                f"{rate['async']:,.0f}",
                f"{rate['ours'] / rate['async']:.1f}",
            ],
        ],
    )
    print_table(
        f"Kernel cost of %load_ext (median of {args.kernels} fresh kernels)",
        ["cell", "ms", "added by load_ext"],
        [
            ["pass", f"{bare_ms:.0f}", ""],
            ["%load_ext jupyter_mlops", f"{load_ms:.0f}", f"{load_ms - bare_ms:.0f} ms"],
        ],
    )
    print(
        f"\ngoals: call ≤ 20 µs → {ours_us:.1f} µs; throughput ≥ 0.80 × log_batch → "
        f"{rate['ours'] / rate['batch']:.2f}; ≥ 10 × async → {rate['ours'] / rate['async']:.0f}×; "
        f"load_ext ≤ 150 ms → {load_ms - bare_ms:.0f} ms"
    )


if __name__ == "__main__":
    main()
