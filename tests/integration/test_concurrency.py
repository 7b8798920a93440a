"""Several processes writing one embedded SQLite store at once, and dead-run reaping."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

WRITER = """
import jupyter_mlops as mlops
mlops.experiment("shared")
with mlops.start_run(name="writer-{i}"):
    for step in range({n}):
        mlops.log(value=step * 0.5, step=step)
    mlops.log(worker="{i}")
"""


def test_four_processes_write_one_store_without_losing_a_value(store, client) -> None:
    n, procs = 2000, 4
    env = {**os.environ, "MLOPS_HOME": str(store.root)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER.format(i=i, n=n)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(procs)
    ]
    errors = [w.communicate(timeout=300)[1] for w in workers]
    assert [w.returncode for w in workers] == [0] * procs, errors
    assert not any("database is locked" in e for e in errors)
    exp = client.get_experiment_by_name("shared")
    runs = client.search_runs([exp.experiment_id])
    assert sorted(r.data.params["worker"] for r in runs) == [str(i) for i in range(procs)]
    for run in runs:
        assert run.info.status == "FINISHED"
        history = client.get_metric_history(run.info.run_id, "value")
        assert sorted(m.step for m in history) == list(range(n))


HOLDER = """
import sys, time
import jupyter_mlops as mlops
mlops.experiment("doomed")
run = mlops.start_run(name="will-be-killed")
mlops.log(progress=1)
mlops.flush()
print(run.run_id, flush=True)
time.sleep(600)
"""

LOADER = """
from IPython.testing.globalipapp import start_ipython
from jupyter_mlops import magics
ip = start_ipython()
ip.run_line_magic("load_ext", "jupyter_mlops")
magics.warm_up_thread.join()
"""


def test_run_of_a_sigkilled_process_is_marked_killed_on_next_load(store, client) -> None:
    env = {**os.environ, "MLOPS_HOME": str(store.root)}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER], env=env, stdout=subprocess.PIPE, text=True
    )
    run_id = holder.stdout.readline().strip()
    assert client.get_run(run_id).info.status == "RUNNING"
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    # a live run of another process must survive the sweep
    alive = subprocess.Popen(
        [sys.executable, "-c", HOLDER], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        alive_id = alive.stdout.readline().strip()
        subprocess.run([sys.executable, "-c", LOADER], env=env, check=True, timeout=120)
        killed = client.get_run(run_id)
        assert killed.info.status == "KILLED"
        assert killed.info.end_time is not None
        assert killed.data.metrics == {"progress": 1.0}
        assert client.get_run(alive_id).info.status == "RUNNING"
    finally:
        alive.kill()
        alive.wait(timeout=30)
