"""Cold commands: the same answers as MLflow's own path, without waiting on what they can skip."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest

from jupyter_mlops.config import Settings
from jupyter_mlops.headless.cold_start import execute_cold
from jupyter_mlops.testing.notebooks import code, params, write_notebook, write_pipeline
from jupyter_mlops.tracking.mlflow_tables.run_reads import read_runs
from tests.store_state import extra_column

pytestmark = pytest.mark.integration

_CLI = "import sys; from jupyter_mlops.cli import main; sys.exit(main(sys.argv[1:]))"
#: the same command after importing MLflow: the package then reads through MLflow's client
_CLI_VIA_MLFLOW = "import mlflow; " + _CLI
_PROBE = "; print('MLFLOW-IMPORTED' if 'mlflow' in sys.modules else 'NO-MLFLOW', file=sys.stderr)"


def _cli(store: Settings, code_: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MLOPS_HOME": str(store.root), "MLOPS_NO_WORKER": "1"}
    wrapped = code_.replace("sys.exit(main(sys.argv[1:]))", "rc = main(sys.argv[1:])")
    wrapped += _PROBE + "; sys.exit(rc)"
    return subprocess.run(
        [sys.executable, "-c", wrapped, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=store.root,
        timeout=300,
    )


def _log_runs(store: Settings) -> None:
    import jupyter_mlops as mlops

    mlops.experiment("cold")
    for i in range(7):
        with mlops.start_run(name=f"r{i}"):
            mlops.log(acc=i / 7, model="rf" if i % 2 else "gbm", step=i)
            if i == 3:
                mlops.log(loss=float("nan"))
    mlops.flush()


@pytest.mark.sqlite_only
@pytest.mark.parametrize("extra", [[], ["--json"]], ids=["table", "json"])
def test_runs_listing_is_what_mlflow_gives_without_importing_mlflow(
    store: Settings, extra: list[str]
) -> None:
    _log_runs(store)
    args = ["runs", "--experiment", "cold", "--max", "5", *extra]
    fast = _cli(store, _CLI, *args)
    slow = _cli(store, _CLI_VIA_MLFLOW, *args)
    assert fast.returncode == slow.returncode == 0, fast.stderr + slow.stderr
    assert fast.stdout == slow.stdout
    assert "NO-MLFLOW" in fast.stderr and "MLFLOW-IMPORTED" in slow.stderr
    if extra:
        rows = json.loads(fast.stdout)
        assert [r["name"] for r in rows] == ["r6", "r5", "r4", "r3", "r2"]
        assert rows[3]["metrics.loss"] is None  # NaN, as MLflow gives it


@pytest.mark.sqlite_only
def test_a_filter_or_an_unknown_experiment_takes_mlflows_path(store: Settings) -> None:
    _log_runs(store)
    filtered = _cli(store, _CLI, "runs", "--experiment", "cold", "--filter", "metrics.acc > 0.5")
    assert filtered.returncode == 0, filtered.stderr
    assert "MLFLOW-IMPORTED" in filtered.stderr
    assert {line.split()[1] for line in filtered.stdout.splitlines()[1:]} == {"r4", "r5", "r6"}
    unknown = _cli(store, _CLI, "runs", "--experiment", "nope")
    assert unknown.returncode == 2 and "no experiment named 'nope'" in unknown.stderr
    # the default experiment is empty: say so, and name the experiments that have runs
    default = _cli(store, _CLI, "runs")
    assert default.returncode == 0, default.stderr
    assert "no runs in experiment 'Default'" in default.stdout and "cold" in default.stdout


@pytest.mark.sqlite_only
def test_listing_runs_creates_no_store_and_no_experiment(
    store: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = store.root.parent / "fresh"  # a project where nothing was logged yet
    (fresh / ".mlops").mkdir(parents=True)
    # (a process that imports MLflow opens the store anyway: the cold command does not)
    empty = _cli(SimpleNamespace(root=fresh), _CLI, "runs")  # type: ignore[arg-type]
    assert empty.returncode == 0, empty.stderr
    assert "nothing was logged in this project yet" in empty.stdout
    assert list((fresh / ".mlops").iterdir()) == []
    _log_runs(store)
    from mlflow import MlflowClient

    client = MlflowClient(store.tracking_uri)
    before = sorted(e.name for e in client.search_experiments())
    monkeypatch.setenv("MLOPS_EXPERIMENT", "not-yet")  # the default experiment: missing
    for code_ in (_CLI, _CLI_VIA_MLFLOW):
        listed = _cli(store, code_, "runs")
        assert listed.returncode == 0, listed.stderr
        assert "no runs in experiment 'not-yet'" in listed.stdout
    assert sorted(e.name for e in client.search_experiments()) == before


@pytest.mark.sqlite_only
def test_reader_declines_a_schema_it_was_not_tested_with(store: Settings) -> None:
    from jupyter_mlops.tracking.mlflow_bridge.store import sqlite_path

    _log_runs(store)
    assert read_runs(store, ["cold"], max_results=3) is not None
    db = sqlite_path(store.tracking_uri)
    assert db is not None
    with extra_column(db, "inputs"):  # one of the tables it reads changed shape
        assert read_runs(store, ["cold"], max_results=3) is None
    with extra_column(db, "trace_info"):  # one it never reads did
        assert read_runs(store, ["cold"], max_results=3) is not None


def _kernels_of_this_process() -> list[psutil.Process]:
    """Live kernels descending from this process (an ended one not yet reaped is not one)."""
    found = []
    for p in psutil.Process().children(recursive=True):
        try:
            if p.status() != psutil.STATUS_ZOMBIE and "ipykernel" in " ".join(p.cmdline()):
                found.append(p)
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue  # it ended while being looked at
    return found


def test_cold_run_hands_the_early_kernel_its_run(store: Settings, client) -> None:  # type: ignore[no-untyped-def]
    nb = write_notebook(
        store.root / "cold.ipynb",
        [
            params("lr = 0.1"),
            code("import os\nseen = os.environ['MLOPS_RUN_ID']\nprint(seen)"),
            code("import jupyter_mlops as mlops\nmlops.log(acc=1 - lr)"),
        ],
    )
    result = execute_cold(nb, {"lr": 0.25})
    assert result.ok, result.message()
    executed = json.loads(Path(result.output_path).read_text())
    printed = "".join(executed["cells"][2]["outputs"][0]["text"])
    assert printed.strip() == result.run_id  # set in the kernel before the first cell
    run = client.get_run(result.run_id)
    assert run.data.metrics == {"acc": 0.75} and run.data.params["lr"] == "0.25"
    outputs = {a.path for a in client.list_artifacts(result.run_id, "output")}
    assert {"output/cold.ipynb", "output/cold.html"} <= outputs
    assert not _kernels_of_this_process()


def test_a_refused_parameter_leaves_no_kernel_behind(store: Settings) -> None:
    from jupyter_mlops.errors import InvalidInput

    nb = write_notebook(store.root / "p.ipynb", [params("lr = 0.1"), code("print(lr)")])
    with pytest.raises(InvalidInput, match="nope"):
        execute_cold(nb, {"nope": 1})
    assert not _kernels_of_this_process()


def test_parameter_inspection_is_remembered_across_processes(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    probe = (
        "import sys; from jupyter_mlops.headless.parameters import declared_params as d; "
        "print([(p.name, p.type) for p in d(sys.argv[1])], 'papermill' in sys.modules)"
    )

    def inspect(cell: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", probe, cell],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    cell = "lr = 0.1  # step\ndepth: int = 3"
    assert inspect(cell) == "[('lr', 'float'), ('depth', 'int')] True"
    assert inspect(cell) == "[('lr', 'float'), ('depth', 'int')] False"  # answered from disk
    assert inspect(cell + "\nname = 'a'").endswith("('name', 'str')] True")
    for kept in (tmp_path / "jupyter-mlops" / "inspection").iterdir():
        kept.write_text("{not json")
    assert inspect(cell) == "[('lr', 'float'), ('depth', 'int')] True"  # unreadable: inspected


@pytest.mark.sqlite_only
def test_run_and_cached_pipeline_commands_record_without_importing_mlflow(
    store: Settings, client
) -> None:  # type: ignore[no-untyped-def]
    nb = write_notebook(
        store.root / "t.ipynb",
        [params("lr = 0.1"), code("import jupyter_mlops as mlops\nmlops.log(acc=1 - lr)")],
    )
    write_pipeline(
        store.root / "pipeline.yaml",
        """
        name: cold
        steps:
          first: {notebook: t.ipynb, params: {lr: 0.3}}
          second: {notebook: t.ipynb, params: {lr: [0.1, 0.2]}, sweep: grid, needs: [first]}
        """,
    )
    ran = _cli(store, _CLI, "run", str(nb), "-p", "lr", "0.25", "-q")
    assert ran.returncode == 0 and "NO-MLFLOW" in ran.stderr, ran.stderr
    (run,) = client.search_runs([client.get_experiment_by_name("t").experiment_id])
    assert run.info.status == "FINISHED" and run.data.params == {"lr": "0.25"}
    assert run.data.metrics == {"acc": 0.75} and run.data.tags["mlops.headless"] == "papermill"
    listed = {a.path for a in client.list_artifacts(run.info.run_id, "output")}
    assert {"output/t.ipynb", "output/t.html"} <= listed
    assert run.info.run_id in ran.stdout

    first = _cli(store, _CLI, "pipeline", "run", "pipeline.yaml", "-q")
    assert first.returncode == 0, first.stderr
    for argv in (["show", "pipeline.yaml"], ["run", "pipeline.yaml", "-q"]):
        again = _cli(store, _CLI, "pipeline", *argv)
        assert again.returncode == 0 and "NO-MLFLOW" in again.stderr, again.stderr
        assert "3 cached" in again.stdout
    experiment = client.get_experiment_by_name("cold").experiment_id
    parents = client.search_runs([experiment], "tags.`mlops.pipeline.role` = 'parent'")
    assert [p.data.tags["mlops.pipeline.cached"] for p in parents] == ["3", "0"]
    cached, executed = parents
    links = {"mlops.pipeline.reused", "mlflow.note.content"}  # a cached run links what it reused
    assert links <= set(cached.data.tags) and not links & set(executed.data.tags)
    assert set(cached.data.tags) - links == set(executed.data.tags)
    assert cached.info.status == "FINISHED"
    assert {a.path for a in client.list_artifacts(cached.info.run_id)} == {
        a.path for a in client.list_artifacts(executed.info.run_id)
    }
    parent_of = "tags.mlflow.parentRunId = '{}' and tags.`mlops.pipeline.role` = 'step'"
    (step,) = client.search_runs([experiment], parent_of.format(executed.info.run_id))
    assert step.info.status == "FINISHED" and step.data.tags["mlops.pipeline.ran"] == "2"
    assert client.search_runs([experiment], parent_of.format(cached.info.run_id)) == []


@pytest.mark.sqlite_only
def test_a_headless_kernel_logs_its_values_without_importing_mlflow(
    store: Settings, client
) -> None:  # type: ignore[no-untyped-def]
    body = (
        "import sys\nimport jupyter_mlops as mlops\n"
        "for step in range(3):\n    mlops.log(loss=lr / (step + 1), step=step)\n"
        "mlops.log(model='rf')\nmlops.flush()\n"
        "mlops.log(mlflow_in_kernel=float('mlflow' in sys.modules))"
    )
    nb = write_notebook(store.root / "k.ipynb", [params("lr = 0.1"), code(body)])
    ran = _cli(store, _CLI, "run", str(nb), "-p", "lr", "0.6", "-q")
    assert ran.returncode == 0, ran.stderr
    (run,) = client.search_runs([client.get_experiment_by_name("k").experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.params == {"lr": "0.6", "model": "rf"}
    assert run.data.metrics["mlflow_in_kernel"] == 0.0
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(s, 0.6 / (s + 1)) for s in range(3)]
