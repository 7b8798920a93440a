"""``pipeline export --to kfp``: the exported pipeline run by KFP's own local runner.

Each comparison uses two copies of one project, each with its own embedded store: one
runs ``jupyter mlops pipeline run`` (the local executor), the other the exported file
loaded back by the ``kfp`` SDK and run by ``kfp.local``'s ``SubprocessRunner``. Both must
record the same run tree, metrics, tags and cache keys, and reuse the same units on a
second run. The tests that run KFP need the ``kfp`` SDK: ``make test`` runs this file in
its ``kfp`` environment (``scripts/test_compat.py kfp``), where it is installed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlops.testing.notebooks import code, params, write_notebook, write_pipeline

pytestmark = [pytest.mark.integration, pytest.mark.store_free]

REPO = Path(__file__).resolve().parents[2]
needs_kfp = pytest.mark.skipif(
    importlib.util.find_spec("kfp") is None,
    reason="the kfp SDK is not installed in this environment; make test runs this file in "
    "its kfp environment (python scripts/test_compat.py kfp)",
)
#: the exported file, loaded back by the SDK and run by KFP's local runner, its cache on
#: (as a cluster's is by default): the export's tasks must never let KFP reuse them
RUNNER = """
import sys
from kfp import components, local

local.init(
    runner=local.SubprocessRunner(use_venv=False), pipeline_root=sys.argv[2], enable_caching=True
)
components.load_component_from_file(sys.argv[1])()
"""
#: tags whose values differ between any two runs (times, processes, the executor's name)
VOLATILE = {
    "mlops.heartbeat",
    "mlops.duration_s",
    "mlops.pid",
    "mlops.pid_start",
    "mlops.pipeline.executor",
    "mlops.pipeline.kfp_job",
}
_RUN_ID = re.compile(r"\b[0-9a-f]{32}\b")


def _env(project: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLOPS_", "MLFLOW_")) and k != "JPY_SESSION_NAME"
    }
    src = str(REPO / "src")
    env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
    return {**env, "MLOPS_HOME": str(project), "MLOPS_NO_WORKER": "1"}


def _python(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=project,
        env=_env(project),
        capture_output=True,
        text=True,
        timeout=1800,
    )


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _python(project, "-m", "jupyter_mlops", *args)


def _copy(source: Path, project: Path) -> Path:
    shutil.copytree(source, project / "pipeline")
    (project / ".mlops").mkdir()
    return project / "pipeline" / "pipeline.yaml"


def run_local(path: Path, project: Path) -> subprocess.CompletedProcess[str]:
    return _cli(project, "pipeline", "run", str(path), "--quiet")


def run_kfp(path: Path, project: Path) -> subprocess.CompletedProcess[str]:
    """Export ``path`` (lightweight form), then run the written file on ``kfp.local``."""
    target = project / "pipeline.kfp.yaml"
    exported = _cli(
        project, "pipeline", "export", str(path), "--to", "kfp", "--form", "lightweight",
        "-o", str(target),
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    assert f"wrote {target}" in exported.stdout
    return _python(project, "-c", RUNNER, str(target), str(project / "kfp-root"))


def _normal(value: str, project: Path) -> str:
    return _RUN_ID.sub("<run>", value.replace(str(project), "<root>"))


def tree(project: Path, experiment: str) -> tuple[int, dict[str, dict[str, Any]]]:
    """How many pipeline runs there are, and the latest one's runs by name (ids normalised)."""
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{project / '.mlops' / 'mlflow.db'}")
    found = client.get_experiment_by_name(experiment)
    assert found is not None
    runs = client.search_runs([found.experiment_id], max_results=1000)
    parents = sorted(
        (r for r in runs if r.data.tags.get("mlops.pipeline.role") == "parent"),
        key=lambda r: r.info.start_time,
    )
    parent = parents[-1]
    names = {r.info.run_id: r.info.run_name for r in runs}
    out: dict[str, dict[str, Any]] = {}
    for run in [parent, *runs]:
        tags = run.data.tags
        if run is not parent and tags.get("mlops.pipeline.run_id") != parent.info.run_id:
            continue
        out["<parent>" if run is parent else run.info.run_name] = {
            "status": run.info.status,
            "under": names.get(tags.get("mlflow.parentRunId", "")),
            "metrics": run.data.metrics,
            "params": run.data.params,
            "tags": {k: _normal(v, project) for k, v in tags.items() if k not in VOLATILE},
            "executor": tags.get("mlops.pipeline.executor"),
        }
    return len(parents), out


def manifest(project: Path, experiment: str) -> dict[str, tuple[str, str]]:
    """The latest pipeline run's ``pipeline.json``: each unit's status and message."""
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{project / '.mlops' / 'mlflow.db'}")
    parent = _latest_parent(client, experiment)
    doc = json.loads(
        Path(client.download_artifacts(parent, "pipeline.json", str(project))).read_text()
    )
    return {
        u["label"]: (u["status"], _normal(u.get("message") or "", project)) for u in doc["units"]
    }


def tasks_kept(project: Path, experiment: str) -> list[str]:
    """The tasks that left their state on the latest pipeline run (the ones that ran)."""
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{project / '.mlops' / 'mlflow.db'}")
    parent = _latest_parent(client, experiment)
    return sorted(Path(f.path).stem for f in client.list_artifacts(parent, "kfp-tasks"))


def _latest_parent(client: Any, experiment: str) -> str:
    found = client.get_experiment_by_name(experiment)
    assert found is not None
    (parent,) = client.search_runs(
        [found.experiment_id],
        filter_string="tags.`mlops.pipeline.role` = 'parent'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return str(parent.info.run_id)


def assert_same(local: dict[str, dict[str, Any]], kfp: dict[str, dict[str, Any]]) -> None:
    assert sorted(kfp) == sorted(local)
    for name, run in local.items():
        other = kfp[name]
        for what in ("status", "under", "metrics", "params"):
            assert other[what] == run[what], (name, what)
        assert sorted(other["tags"]) == sorted(run["tags"]), name
        differ = {k for k, v in run["tags"].items() if other["tags"][k] != v}
        assert not differ, (name, {k: (run["tags"][k], other["tags"][k]) for k in differ})
    assert local["<parent>"]["executor"] == "local"
    assert kfp["<parent>"]["executor"] == "kfp"


@needs_kfp
@pytest.mark.timeout(3600)
def test_the_example_pipeline_on_kfp_local_records_what_the_local_executor_does(
    tmp_path: Path,
) -> None:
    example = REPO / "example_notebooks" / "pipeline"
    local_path = _copy(example, tmp_path / "local")
    kfp_path = _copy(example, tmp_path / "kfp")

    ran_local = run_local(local_path, tmp_path / "local")
    assert ran_local.returncode == 0, ran_local.stderr
    ran_kfp = run_kfp(kfp_path, tmp_path / "kfp")
    assert ran_kfp.returncode == 0, ran_kfp.stdout[-3000:] + ran_kfp.stderr[-3000:]
    count, local = tree(tmp_path / "local", "wine-pipeline")
    _, kfp = tree(tmp_path / "kfp", "wine-pipeline")
    assert count == 1
    assert local["<parent>"]["tags"]["mlops.pipeline.ran"] == "6"
    assert local["train"]["tags"]["mlops.pipeline.role"] == "step"
    assert local["train[n_estimators=25,max_depth=3]"]["under"] == "train"
    assert "accuracy" in local["evaluate"]["metrics"]
    assert_same(local, kfp)  # the same cache keys among the tags

    # a second run: every unit found by its key in both, no unit run anywhere
    assert run_local(local_path, tmp_path / "local").returncode == 0
    again = run_kfp(kfp_path, tmp_path / "kfp")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    count, local = tree(tmp_path / "local", "wine-pipeline")
    _, kfp = tree(tmp_path / "kfp", "wine-pipeline")
    assert count == 2
    assert sorted(local) == ["<parent>"]  # reused runs stay under the first parent
    assert local["<parent>"]["tags"]["mlops.pipeline.cached"] == "6"
    assert json.loads(local["<parent>"]["tags"]["mlops.pipeline.reused"])
    assert_same(local, kfp)
    # the reuse was ours, by key: KFP's cache (on) kept no task's outputs to reuse
    kept = tmp_path / "kfp" / "kfp-root" / ".kfp_cache"
    assert kept.is_dir() and not list(kept.iterdir())


PREPARE = """
import numpy as np, pandas as pd
import jupyter_mlops as mlops
rng = np.random.default_rng(1)
frame = pd.DataFrame({"x": rng.normal(size=200)})
frame.loc[:2, "x"] = shift
mlops.snapshot(frame, name="features")
"""
TRAIN = """
import jupyter_mlops as mlops
features = mlops.data.load("features")
mlops.log(score=a * b + round(float(features["x"].abs().mean()), 6))
"""
GATED = """
name: gated
steps:
  prepare:
    notebook: prepare.ipynb
    params: {shift: 0.0}
  train:
    notebook: train.ipynb
    needs: [prepare]
    sweep: grid
    params: {a: [1, 2], b: 3}
    validate: {snapshot: features, against: reference@v1}
  tune:
    notebook: train.ipynb
    needs: [prepare]
    params: {a: {choices: [1, 2, 3]}, b: 2}
    sweep: {method: random, trials: 2, metric: score, seed: 0}
  report:
    notebook: report.ipynb
    needs: [train, tune]
"""
REFERENCE = """
import numpy as np, pandas as pd
import jupyter_mlops as mlops
rng = np.random.default_rng(0)
mlops.snapshot(pd.DataFrame({"x": rng.normal(size=5000)}), name="reference")
"""


def _gated_project(project: Path) -> Path:
    folder = project / "pipeline"
    folder.mkdir(parents=True)
    (project / ".mlops").mkdir()
    write_notebook(folder / "prepare.ipynb", [params("shift = 0.0"), code(PREPARE)])
    write_notebook(folder / "train.ipynb", [params("a = 1\nb = 1"), code(TRAIN)])
    report = "import jupyter_mlops as mlops\nmlops.log(reports=1)"
    write_notebook(folder / "report.ipynb", [code(report)])
    made = _python(project, "-c", REFERENCE)
    assert made.returncode == 0, made.stderr
    return write_pipeline(folder / "pipeline.yaml", GATED)


@needs_kfp
@pytest.mark.timeout(3600)
def test_a_sweep_a_search_and_a_gate_on_kfp_local_match_the_local_executor(
    tmp_path: Path,
) -> None:
    local_path = _gated_project(tmp_path / "local")
    kfp_path = _gated_project(tmp_path / "kfp")

    ran = run_local(local_path, tmp_path / "local")
    assert ran.returncode == 0, ran.stderr[-3000:]
    ran = run_kfp(kfp_path, tmp_path / "kfp")
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    _, local = tree(tmp_path / "local", "gated")
    _, kfp = tree(tmp_path / "kfp", "gated")
    assert {"train[a=1]", "train[a=2]", "tune", "report"} <= set(local)
    assert local["train[a=2]"]["metrics"]["score"] > local["train[a=1]"]["metrics"]["score"]
    assert local["tune"]["tags"]["mlops.pipeline.role"] == "step"
    assert_same(local, kfp)

    assert run_local(local_path, tmp_path / "local").returncode == 0
    assert run_kfp(kfp_path, tmp_path / "kfp").returncode == 0
    _, local = tree(tmp_path / "local", "gated")
    _, kfp = tree(tmp_path / "kfp", "gated")
    # prepare and the sweep come from the cache, the study reuses its trials
    assert not {"prepare", "train", "train[a=1]", "train[a=2]", "tune"} & set(local)
    assert int(local["<parent>"]["tags"]["mlops.pipeline.cached"]) >= 5
    assert_same(local, kfp)

    # the gate refuses a shifted input: the sweep is not run, report is skipped, both fail
    for project in ("local", "kfp"):
        spec = tmp_path / project / "pipeline" / "pipeline.yaml"
        spec.write_text(GATED.replace("shift: 0.0", "shift: 50.0"))
    refused_local = run_local(local_path, tmp_path / "local")
    assert refused_local.returncode == 1
    refused = run_kfp(kfp_path, tmp_path / "kfp")
    assert refused.returncode != 0
    said = refused.stdout + refused.stderr
    # the gate's own task fails, and KFP runs none of the tasks after it
    assert "step 'train': input validation FAILED: features@" in said, said[-6000:]
    assert "KFP runs no task after this gate" in said
    assert "Inner task failed" in said  # KFP's own word: its run failed at a task
    # the tasks that ran left their states on the parent: none after the gate did
    assert tasks_kept(tmp_path / "kfp", "gated") == [
        "gate-train",
        "start",
        "study-tune",
        "unit-prepare-0",
    ]
    _, local = tree(tmp_path / "local", "gated")
    _, kfp = tree(tmp_path / "kfp", "gated")
    assert local["<parent>"]["status"] == "FAILED"
    assert local["<parent>"]["tags"]["mlops.pipeline.failed"] == "2"
    assert "train[a=1]" not in local and "report" not in local
    assert_same(local, kfp)  # close ended the parent with the local executor's tags
    units = manifest(tmp_path / "local", "gated")
    assert units["report"][0] == "skipped" and units["train[a=2]"][0] == "failed"
    assert manifest(tmp_path / "kfp", "gated") == units


#: the unit's task process dies as a pod killed mid-run would (its kernel's parent)
KILLER = """
import os, signal
os.kill(int(os.environ["JPY_PARENT_PID"]), signal.SIGKILL)
"""
KILLED = """
name: killed
steps:
  boom:
    notebook: boom.ipynb
  after:
    notebook: after.ipynb
    needs: [boom]
"""


@needs_kfp
@pytest.mark.timeout(1800)
def test_the_exit_handler_ends_what_a_killed_task_left_running(tmp_path: Path) -> None:
    from mlflow import MlflowClient

    folder = tmp_path / "pipeline"
    folder.mkdir()
    (tmp_path / ".mlops").mkdir()
    write_notebook(folder / "boom.ipynb", [code(KILLER)])
    write_notebook(folder / "after.ipynb", [code("import jupyter_mlops as mlops\nmlops.log(x=1)")])
    path = write_pipeline(folder / "pipeline.yaml", KILLED)

    ran = run_kfp(path, tmp_path)
    assert ran.returncode != 0  # the KFP run fails with its task
    assert "the KFP run ended before its finish task" in ran.stdout + ran.stderr
    client = MlflowClient(f"sqlite:///{tmp_path / '.mlops' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("killed")
    assert experiment is not None
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    assert sorted(runs) == ["boom", "killed"]  # nothing ran after the killed task
    parent, boom = runs["killed"], runs["boom"]
    assert parent.info.status == "FAILED" and boom.info.status == "KILLED"
    for run in (parent, boom):
        assert "finish task" in run.data.tags["mlops.killed_reason"]


def _export(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _cli(project, "pipeline", "export", *args)


def test_check_refuses_what_a_cluster_cannot_reach_one_line_each(tmp_path: Path) -> None:
    path = _copy(REPO / "example_notebooks" / "pipeline", tmp_path / "p")
    outside = tmp_path / "elsewhere.ipynb"
    shutil.copy(path.parent / "evaluate.ipynb", outside)
    path.write_text(path.read_text().replace("evaluate.ipynb", str(outside)))

    done = _export(tmp_path / "p", str(path), "--to", "kfp", "--check")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines[0] == "jupyter mlops pipeline: pipeline.yaml: cannot export to kfp, 3 problems:"
    assert "notebook" in lines[1] and "outside the project folder" in lines[1]
    assert "tracking store 'sqlite:" in lines[2] and "--tracking-uri" in lines[2]
    assert "snapshot store" in lines[3] and "--data-uri" in lines[3]
    assert "Traceback" not in done.stderr
    assert not list(path.parent.glob("*.kfp.yaml"))

    # a team server and a shared store: only the notebook outside the project remains
    remote = ("--tracking-uri", "http://mlflow:5000", "--data-uri", "s3://bucket/p")
    done = _export(tmp_path / "p", str(path), "--to", "kfp", "--check", *remote)
    assert done.returncode == 2 and "1 problem:" in done.stderr


def test_check_passes_and_writes_nothing(tmp_path: Path) -> None:
    path = _copy(REPO / "example_notebooks" / "pipeline", tmp_path / "p")
    remote = ("--tracking-uri", "http://mlflow:5000", "--data-uri", "s3://bucket/p")
    done = _export(tmp_path / "p", str(path), "--to", "kfp", "--check", *remote)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "pipeline wine -> kfp (container form, image jupyter-mlops:0.1.0): 10 tasks; "
        "check passed, nothing written"
    )
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "evaluate.ipynb",
        "pipeline.yaml",
        "prepare.ipynb",
        "train.ipynb",
    ]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["missing.yaml", "--to", "kfp"], "missing.yaml'; give the path of a pipeline.yaml"),
        (["pipeline/pipeline.yaml", "--to", "argo"], "invalid choice: 'argo'"),
        (["pipeline/pipeline.yaml", "--to", "kfp", "--image", "a b"], "is not an image name"),
        (
            [
                "pipeline/pipeline.yaml",
                "--to",
                "kfp",
                "--form",
                "lightweight",
                "-o",
                "pipeline/pipeline.yaml",
            ],
            "is the pipeline file itself",
        ),
    ],
)
def test_bad_input_gets_one_line(tmp_path: Path, args: list[str], expected: str) -> None:
    _copy(REPO / "example_notebooks" / "pipeline", tmp_path / "p")
    before = (tmp_path / "p" / "pipeline" / "pipeline.yaml").read_text()
    done = _export(tmp_path / "p", *args)
    assert done.returncode == 2
    assert expected in done.stderr and "Traceback" not in done.stderr
    assert (tmp_path / "p" / "pipeline" / "pipeline.yaml").read_text() == before


def test_a_task_refuses_what_no_upstream_task_wrote(tmp_path: Path) -> None:
    path = _copy(REPO / "example_notebooks" / "pipeline", tmp_path / "p")
    out = tmp_path / "state"
    done = _cli(
        tmp_path / "p", "pipeline", "kfp-task", str(path), "--kind", "unit", "--step", "train",
        "--upstream", '["not a state"]', "--output", str(out),
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "not the output of an exported pipeline" in done.stderr
    assert not out.exists()


@needs_kfp
def test_the_container_form_is_what_a_cluster_runs(tmp_path: Path) -> None:
    """Compiled by the SDK: the image's ``jupyter-mlops`` per task, needs as dependencies."""
    import yaml

    path = _copy(REPO / "example_notebooks" / "pipeline", tmp_path / "p")
    target = tmp_path / "p" / "wine.kfp.yaml"
    done = _export(
        tmp_path / "p", str(path), "--to", "kfp", "-o", str(target), "--image", "reg/mlops:1",
        "--tracking-uri", "http://mlflow:5000", "--data-uri", "s3://bucket/p",
        "--project-dir", "/project",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    spec = yaml.safe_load(target.read_text())
    assert spec["pipelineInfo"]["name"] == "wine"
    containers = [e["container"] for e in spec["deploymentSpec"]["executors"].values()]
    assert len(containers) == 10
    for container in containers:
        assert container["image"] == "reg/mlops:1"
        assert container["command"][:3] == ["jupyter-mlops", "pipeline", "kfp-task"]
        env = {e["name"]: e["value"] for e in container["env"]}
        assert env == {
            "MLFLOW_TRACKING_URI": "http://mlflow:5000",
            "MLOPS_DATA_URI": "s3://bucket/p",
        }
    # every task in KFP's exit handler group, whose exit task "close" runs however they end
    root = {t["taskInfo"]["name"]: t for t in spec["root"]["dag"]["tasks"].values()}
    assert sorted(root) == ["close", "exit-handler-1"]
    assert root["close"]["dependentTasks"] == ["exit-handler-1"]
    assert root["close"]["triggerPolicy"]["strategy"] == "ALL_UPSTREAM_TASKS_COMPLETED"
    tasks = spec["components"]["comp-exit-handler-1"]["dag"]["tasks"]
    by_name = {t["taskInfo"]["name"]: t for t in tasks.values()}
    names = {key: t["taskInfo"]["name"] for key, t in tasks.items()}
    assert sorted(by_name) == sorted(
        ["start", "prepare", "train: sweep", "evaluate", "finish"]
        + [f"train[n_estimators={n},max_depth={d}]" for n in (5, 25) for d in (1, 3)]
    )
    needs = {
        name: sorted(names[d] for d in t.get("dependentTasks", [])) for name, t in by_name.items()
    }
    members = sorted(n for n in by_name if n.startswith("train["))
    assert needs["prepare"] == ["start"] and needs["train: sweep"] == ["prepare"]
    assert all(needs[m] == ["train: sweep"] for m in members)
    assert needs["evaluate"] == members and needs["finish"] == ["evaluate"]
    assert all(t["cachingOptions"].get("enableCache") is not True for t in tasks.values())
    where = {
        t["inputs"]["parameters"]["pipeline"]["runtimeValue"]["constant"] for t in tasks.values()
    }
    assert where == {"/project/pipeline/pipeline.yaml"}  # the project's place in the image
    from kfp import dsl

    jobs = {
        t["inputs"]["parameters"]["job"]["runtimeValue"]["constant"]
        for t in [*tasks.values(), root["close"]]
    }
    assert jobs == {dsl.PIPELINE_JOB_ID_PLACEHOLDER}  # start tags the parent, close finds it
