"""Notebook pipelines, side by side in one run (issue 6's goals):

1. a 16-member sweep of a notebook that sleeps 1 s, ``--jobs 2`` vs the same sweep serially;
2. a fully cached re-run of a 10-step pipeline (wall time, kernels started), in a
   warm process and as a cold ``jupyter mlops pipeline run`` command;
3. a 10-step chain with nothing cached vs the sum of running each notebook with
   ``jupyter mlops run``;
4. the 16-member sweep through a ``distributed.LocalCluster`` (2 workers) vs the local executor.

Usage: ``python bench/bench_pipelines.py [--members 16] [--steps 10]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _table import print_table
from jupyter_mlops.testing.notebooks import code, params, write_notebook

BIN = Path(sys.executable).parent


def _notebook(path: Path, body: str) -> Path:
    return write_notebook(path, [params("i = 0\nseconds = 0.0"), code(body)])


def _sweep_yaml(root: Path, name: str, members: int) -> Path:
    values = ", ".join(str(i) for i in range(members))
    path = root / f"{name}.yaml"
    path.write_text(
        f"name: {name}\nsteps:\n  sweep:\n    notebook: sleep.ipynb\n"
        f"    params: {{i: [{values}], seconds: 1.0}}\n    sweep: grid\n"
    )
    return path


def _chain_yaml(root: Path, steps: int) -> Path:
    lines = ["name: chain", "steps:"]
    for n in range(steps):
        lines.append(f"  s{n}:\n    notebook: step{n}.ipynb")
        if n:
            lines.append(f"    needs: [s{n - 1}]")
    path = root / "chain.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def _call(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)


def _sweeps(root: Path, members: int) -> list[tuple[str, float, str]]:
    import jupyter_mlops as mlops

    serial_path = _sweep_yaml(root, "serial", members)
    parallel_path = _sweep_yaml(root, "parallel", members)
    dask_path = _sweep_yaml(root, "dask", members)
    serial, r1 = _timed(lambda: mlops.run_pipeline(serial_path, jobs=1, force=True))
    local, r2 = _timed(lambda: mlops.run_pipeline(parallel_path, jobs=2, force=True))
    from distributed import LocalCluster

    with LocalCluster(
        host="127.0.0.1", n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        address = "dask://" + cluster.scheduler_address.removeprefix("tcp://")
        dask, r3 = _timed(lambda: mlops.run_pipeline(dask_path, executor=address, force=True))
        # an existing cluster that has run units before: workers have imported MLflow etc.
        warm, r4 = _timed(lambda: mlops.run_pipeline(dask_path, executor=address, force=True))
    assert r1.ok and r2.ok and r3.ok and r4.ok
    return [
        (f"{members}-member sweep (1 s sleep), serial --jobs 1", serial, ""),
        (f"{members}-member sweep, --jobs 2 (local)", local, f"{local / serial:.2f} x serial"),
        (
            f"{members}-member sweep, Dask LocalCluster 2 workers",
            dask,
            f"{dask / local:.2f} x local --jobs 2",
        ),
        (
            f"{members}-member sweep, Dask, workers used before",
            warm,
            f"{warm / local:.2f} x local --jobs 2",
        ),
    ]


def _chain(root: Path, steps: int) -> list[tuple[str, float, str]]:
    import jupyter_mlops as mlops

    for n in range(steps):
        _notebook(root / f"step{n}.ipynb", f"x = {n} + i")
    path = _chain_yaml(root, steps)
    uncached, result = _timed(lambda: mlops.run_pipeline(path, jobs=2))
    assert result.ok and result.counts["ran"] == steps
    cli_sum = 0.0
    for n in range(steps):
        cmd = [str(BIN / "jupyter-mlops"), "run", str(root / f"step{n}.ipynb"), "-q"]
        cli_sum += _timed(
            lambda c=cmd: subprocess.run(c, cwd=root, check=True, capture_output=True)
        )[0]
    cached, again = _timed(lambda: mlops.run_pipeline(path))
    assert again.counts["cached"] == steps
    cmd = [str(BIN / "jupyter-mlops"), "pipeline", "run", str(path), "-q"]
    cold, _ = _timed(lambda: _call(cmd, root))
    return [
        (
            f"{steps}-step chain, nothing cached (pipeline run)",
            uncached,
            f"{uncached / cli_sum:.2f} x sum",
        ),
        (f"sum of {steps} x jupyter mlops run", cli_sum, ""),
        (
            f"{steps}-step chain fully cached, warm process",
            cached,
            f"kernels started: {again.counts['ran']}",
        ),
        (
            f"{steps}-step chain fully cached, cold CLI process",
            cold,
            "includes Python + MLflow import",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=16)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--skip-chain", action="store_true", help="only the sweep cases")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / ".mlops").mkdir()
        os.environ["MLOPS_HOME"] = str(root)
        os.chdir(root)
        _notebook(root / "sleep.ipynb", "import time\ntime.sleep(seconds)")
        rows: list[tuple[str, float, str]]
        rows = [] if args.skip_chain else _chain(root, args.steps)
        rows += _sweeps(root, args.members)
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    print_table(
        "notebook pipelines (seconds, wall)",
        ["case", "seconds", "ratio"],
        [(name, f"{secs:.2f}", ratio) for name, secs, ratio in rows],
    )
    print(
        "\ngoals: --jobs 2 <= 0.60 x serial; cached 10-step re-run <= 1.5 s with 0 kernels; "
        "chain <= 1.10 x sum of jupyter mlops run; Dask <= 1.20 x local"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
