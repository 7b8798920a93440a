"""The warm worker behind ``jupyter mlops run``: real worker processes, kernels and store.

Every test starts its own workers (the store's ``MLOPS_HOME`` is part of the
worker key, so no other test's or person's worker is reached) and stops them.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_mlops.headless.progress import Progress
from jupyter_mlops.headless.worker import client as worker_client
from jupyter_mlops.headless.worker.address import NO_WORKER_ENV, lock_path, socket_path, worker_key
from jupyter_mlops.headless.worker.server import EXECUTOR_TAG
from jupyter_mlops.liveness import process_alive
from jupyter_mlops.testing.notebooks import code, write_notebook
from jupyter_mlops.testing.processes import wait_until

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "jupyter-mlops")
TRAIN = [
    ("lr = 0.1\ndepth = 3", ["parameters"]),
    (
        "import os, jupyter_mlops as mlops\n"
        "mlops.log(acc=lr * depth, nb=os.path.basename(os.environ['MLOPS_NOTEBOOK_PATH']))",
        [],
    ),
    ("%load_ext jupyter_mlops\n%mlops log loss=0.25", []),
]


def _notebook(path: Path, cells: list[tuple[str, list[str]]]) -> Path:
    return write_notebook(path, [code(src, *tags) for src, tags in cells])


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, timeout=600, env=env or dict(os.environ)
    )


def _stop_all(envs: list[dict[str, str]]) -> None:
    for env in envs:
        key = worker_key(env)
        status = worker_client.worker_status(key)
        if status is not None:
            worker_client.stop_worker(key)
            if process_alive(status["pid"]):
                os.kill(status["pid"], signal.SIGKILL)


@pytest.fixture
def worker_env(store, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, str]]]:  # type: ignore[no-untyped-def]
    """Workers allowed for this test; every environment appended is cleaned up after it."""
    monkeypatch.delenv(NO_WORKER_ENV, raising=False)
    monkeypatch.setenv("MLOPS_WORKER_IDLE", "300")  # a leftover dies on its own
    envs = [dict(os.environ)]
    yield envs
    # Opening a store sets MLflow defaults in os.environ, and they are part of the key.
    _stop_all([*envs, dict(os.environ)])


def _runs(client):  # type: ignore[no-untyped-def]
    ids = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(ids, order_by=["attributes.start_time ASC"]) if ids else []


def test_runs_go_through_the_worker_and_log_everything(worker_env, store, client) -> None:  # type: ignore[no-untyped-def]
    nb = _notebook(store.root / "train.ipynb", TRAIN)
    first = _cli("run", str(nb), "-p", "lr", "0.5", "-q")  # none yet: in-process, starts one
    assert first.returncode == 0, first.stderr
    started = _cli("worker", "start", "--json")
    assert started.returncode == 0, started.stderr
    pid = json.loads(started.stdout)["pid"]
    outputs = [_cli("run", str(nb), "-p", "lr", "0.5", "-q") for _ in range(2)]
    assert [o.returncode for o in outputs] == [0, 0], [o.stderr for o in outputs]

    runs = _runs(client)
    assert len(runs) == 3  # one MLflow run per execution: kernels attached, never made their own
    executors = [r.data.tags.get(EXECUTOR_TAG) for r in runs]
    assert executors == [None, "worker", "worker"]
    for run, out in zip(runs, [first, *outputs], strict=True):
        assert run.info.run_id in out.stdout and run.info.status == "FINISHED"
        assert run.data.metrics == {"acc": 1.5, "loss": 0.25}
        assert run.data.params["lr"] == "0.5" and run.data.params["nb"] == "train.ipynb"
        names = {a.path for a in client.list_artifacts(run.info.run_id, "output")}
        assert {"output/train.ipynb", "output/train.html"} <= names
    assert all(r.data.tags["mlops.pid"] == str(pid) for r in runs[1:])
    status = json.loads(_cli("worker", "status", "--json").stdout)
    assert status["pid"] == pid and status["runs_served"] == 2
    assert status["spare_kernels_used"] >= 1  # a kernel started ahead served a run

    events: list[Progress] = []
    request = worker_client.run_request(nb, {"depth": 2})
    done = worker_client.run_via_worker(request, events.append)
    assert done is not None and done.ok and done.run_id in done.message
    assert client.get_run(done.run_id).data.metrics["acc"] == pytest.approx(0.2)
    cells = [e for e in events if e.phase == "done"]
    assert [e.cells_done for e in cells] == [1, 2, 3, 4]  # with the injected parameters cell
    assert all(e.cells_total == 4 for e in cells) and events[-1].phase == "finished"


def test_failures_and_usage_errors_read_the_same_through_the_worker(worker_env, store) -> None:  # type: ignore[no-untyped-def]
    nb = _notebook(
        store.root / "broken.ipynb",
        [("x = 1", ["parameters"]), ("raise ValueError('bad input column')", [])],
    )
    assert _cli("worker", "start").returncode == 0
    here_env = {**worker_env[0], NO_WORKER_ENV: "1"}
    for args in (["-p", "nope", "1"], ["-p", "x", "2"], ["--kernel", "no-such-kernel"]):
        via_worker = _cli("run", str(nb), *args, "-q")
        in_process = _cli("run", str(nb), *args, "-q", env=here_env)
        assert via_worker.returncode == in_process.returncode != 0
        assert "Traceback" not in via_worker.stderr
        # Same paragraph, except for the run id and where its output went.
        assert _normalised(via_worker.stderr) == _normalised(in_process.stderr)
    failed = _cli("run", str(nb), "-q")
    assert failed.returncode == 1
    assert "ValueError: bad input column" in failed.stderr and "was marked FAILED" in failed.stderr
    assert worker_client.worker_status()["runs_served"] >= 4  # type: ignore[index]


def _normalised(text: str) -> str:
    import re

    return re.sub(r"[0-9a-f]{32}", "RUN", text)


def test_another_tracking_uri_gets_its_own_worker_and_stop_ends_it(  # type: ignore[no-untyped-def]
    worker_env, store, tmp_path: Path
) -> None:
    other = {**worker_env[0], "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'other.db'}"}
    worker_env.append(other)
    a = json.loads(_cli("worker", "start", "--json").stdout)
    b = json.loads(_cli("worker", "start", "--json", env=other).stdout)
    assert a["pid"] != b["pid"] and a["socket"] != b["socket"]
    assert (Path(a["socket"]).stat().st_mode & 0o777) == 0o600
    assert (Path(a["socket"]).parent.stat().st_mode & 0o777) == 0o700

    stopped = _cli("worker", "stop")
    assert stopped.returncode == 0 and f"stopped worker pid {a['pid']}" in stopped.stdout
    assert not process_alive(a["pid"]) and not Path(a["socket"]).exists()
    assert "no worker is running" in _cli("worker", "status").stdout
    assert json.loads(_cli("worker", "status", "--json", env=other).stdout)["pid"] == b["pid"]
    assert _cli("worker", "stop", env=other).returncode == 0
    assert not process_alive(b["pid"]) and not Path(b["socket"]).exists()


def test_a_worker_that_dies_mid_run_is_one_clear_error(worker_env, store, client) -> None:  # type: ignore[no-untyped-def]
    nb = _notebook(store.root / "slow.ipynb", [("import time\ntime.sleep(300)", [])])
    pid = json.loads(_cli("worker", "start", "--json").stdout)["pid"]
    proc = subprocess.Popen(
        [CLI, "run", str(nb), "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _wait_running()
    kernels = _children(pid)
    os.kill(pid, signal.SIGKILL)
    try:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 1
        assert err.count("\n") == 1 and f"worker (pid {pid}) went away" in err
        assert "Traceback" not in err
    finally:
        for kernel in kernels:  # they notice their parent died; make sure
            with contextlib.suppress(ProcessLookupError):
                os.kill(kernel, signal.SIGKILL)
        socket_path(worker_key(os.environ)).unlink(missing_ok=True)
        lock_path(worker_key(os.environ)).unlink(missing_ok=True)


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def test_interrupting_the_client_cancels_the_run_in_the_worker(worker_env, store, client) -> None:  # type: ignore[no-untyped-def]
    nb = _notebook(store.root / "slow.ipynb", [("import time\ntime.sleep(300)", [])])
    assert _cli("worker", "start").returncode == 0
    proc = subprocess.Popen(
        [CLI, "run", str(nb), "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as in a terminal, even when the suite runs where SIGINT is ignored (a
        # background job of a non-interactive shell passes SIG_IGN on to every child)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    run_id = _wait_running()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    deadline = time.monotonic() + 120
    while client.get_run(run_id).info.status == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert client.get_run(run_id).info.status == "KILLED"
    status = worker_client.worker_status()
    assert status is not None and status["running"] == []  # the worker itself carries on


def _wait_running() -> str:
    def run_id() -> str | None:
        status = worker_client.worker_status()
        running = status["running"] if status else None
        return str(running[0]["run_id"]) if running and running[0]["run_id"] else None

    return str(wait_until(run_id, "the worker to start the run", 120))


def test_runs_at_the_same_time_share_one_worker(worker_env, store, client) -> None:  # type: ignore[no-untyped-def]
    nb = _notebook(store.root / "train.ipynb", TRAIN)
    pid = json.loads(_cli("worker", "start", "--json").stdout)["pid"]
    procs = [
        subprocess.Popen(
            [CLI, "run", str(nb), "-p", "depth", str(d), "-q"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for d in (1, 2, 3)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [e for _, e in outs]
    runs = _runs(client)
    assert len(runs) == 3
    assert {r.data.tags[EXECUTOR_TAG] for r in runs} == {"worker"}
    assert {r.data.tags["mlops.pid"] for r in runs} == {str(pid)}
    assert sorted(r.data.metrics["acc"] for r in runs) == pytest.approx([0.1, 0.2, 0.3])


def test_an_idle_worker_exits_and_removes_its_socket(worker_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MLOPS_WORKER_IDLE", "1")
    worker_env.append(dict(os.environ))
    status = json.loads(_cli("worker", "start", "--json").stdout)
    deadline = time.monotonic() + 60
    while process_alive(status["pid"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not process_alive(status["pid"]) and not Path(status["socket"]).exists()


def test_the_kernel_gets_exactly_the_clients_environment(worker_env, store, client) -> None:  # type: ignore[no-untyped-def]
    nb = _notebook(
        store.root / "envs.ipynb",
        [
            (
                "import os, jupyter_mlops as mlops\n"
                "mlops.log(foo=os.environ.get('FOO', 'unset'), "
                "only_worker=os.environ.get('ONLY_WORKER', 'unset'))",
                [],
            )
        ],
    )
    base = worker_env[0]
    # The worker inherits ONLY_WORKER from whoever started it; no client has it.
    assert _cli("worker", "start", env={**base, "ONLY_WORKER": "1"}).returncode == 0
    for foo in ("a", "a", "b"):  # the spare kernel of a run with FOO=a must not serve FOO=b
        assert _cli("run", str(nb), "-q", env={**base, "FOO": foo}).returncode == 0
    runs = _runs(client)
    assert [r.data.tags[EXECUTOR_TAG] for r in runs] == ["worker"] * 3
    assert [r.data.params["foo"] for r in runs] == ["a", "a", "b"]
    assert {r.data.params["only_worker"] for r in runs} == {"unset"}
    status = worker_client.worker_status(worker_key(base))
    assert status is not None  # first run: no spare yet; second: FOO=a's spare; third: fresh
    assert (status["spare_kernels_used"], status["fresh_kernels"]) == (1, 2)


@pytest.mark.sqlite_only
def test_a_store_deleted_under_a_warm_worker_is_created_again(worker_env, store) -> None:  # type: ignore[no-untyped-def]
    """A user who removes ``.mlops/`` to start over gets a new store, not the worker's old one."""
    import shutil
    import sqlite3

    nb = _notebook(store.root / "train.ipynb", TRAIN)
    started = _cli("worker", "start", "--json")
    assert started.returncode == 0, started.stderr
    old_pid = json.loads(started.stdout)["pid"]
    served = _cli("run", str(nb), "-q")
    assert served.returncode == 0, served.stderr

    shutil.rmtree(store.store_dir)
    again = _cli("run", str(nb), "-q")
    assert again.returncode == 0, again.stderr
    # read the new database file itself: this process's MLflow still holds the deleted one
    db = sqlite3.connect(store.store_dir / "mlflow.db")
    try:
        runs = [r for (r,) in db.execute("SELECT run_uuid FROM runs")]
        metrics = dict(db.execute("SELECT key, value FROM latest_metrics"))
    finally:
        db.close()
    assert len(runs) == 1 and runs[0] in again.stdout  # in the new store, and only it
    assert metrics == {"acc": pytest.approx(0.3), "loss": 0.25}
    wait_until(lambda: not process_alive(old_pid), "the old worker to exit", 30, 0.1)
