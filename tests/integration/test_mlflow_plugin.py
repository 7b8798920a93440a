"""MLflow's plugin points: a plain ``mlflow.start_run()`` in a Jupyter kernel gets our context."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.compat]

REPO = Path(__file__).resolve().parents[2]
GROUP = "mlflow.run_context_provider"


def _declared_entry_point() -> str:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return str(project["entry-points"][GROUP]["jupyter_mlops"])


def _installed_metadata(where: Path) -> Path:
    """The package's entry points as an install writes them (``*.dist-info``), nothing else."""
    info = where / "jupyter_mlops_plugin_probe-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: jupyter-mlops-plugin-probe\nVersion: 0\n"
    )
    (info / "entry_points.txt").write_text(
        f"[{GROUP}]\njupyter_mlops = {_declared_entry_point()}\n"
    )
    return where


def _store(tmp_path: Path) -> str:
    """A SQLite store whose experiment ``plain`` keeps its artifacts under ``tmp_path``."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    MlflowClient(uri).create_experiment("plain", artifact_location=str(tmp_path / "artifacts"))
    return uri


def _git_repo(root: Path) -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=root, check=True, capture_output=True, text=True
        ).stdout.strip()

    git("init", "-q", "-b", "main")
    (root / "train.ipynb").write_text('{"cells": []}')
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "nb")
    return git("rev-parse", "HEAD")


def test_a_plain_mlflow_run_in_a_kernel_records_the_notebook_and_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_client.manager import start_new_kernel
    from mlflow import MlflowClient

    project = tmp_path / "project"
    project.mkdir()
    commit = _git_repo(project)
    plugins = _installed_metadata(tmp_path / "site")
    uri = _store(tmp_path)
    env = {
        **{k: v for k, v in __import__("os").environ.items() if not k.startswith("MLOPS_")},
        "PYTHONPATH": f"{plugins}:{REPO / 'src'}",
        "JPY_SESSION_NAME": str(project / "train.ipynb"),
        "MLFLOW_TRACKING_URI": uri,
        "MLFLOW_EXPERIMENT_NAME": "plain",
    }
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(project))
    out: list[str] = []

    def keep(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            out.append("\n".join(msg["content"]["traceback"]))

    try:
        code = (
            "import mlflow, sys\n"
            "with mlflow.start_run() as run:\n    mlflow.log_param('a', 1)\n"
            "print(run.info.run_id, 'jupyter_mlops' in sys.modules)"
        )
        kc.execute_interactive(code, output_hook=keep, timeout=180)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    text = "".join(out)
    assert "Traceback" not in text, text
    *_, run_id, _ = text.split()  # (after anything MLflow printed)
    tags = MlflowClient(uri).get_run(run_id).data.tags
    assert tags["mlflow.source.name"] == str(project / "train.ipynb")
    assert tags["mlflow.source.type"] == "NOTEBOOK"
    assert tags["mlops.notebook.path"] == str(project / "train.ipynb")
    assert tags["mlflow.source.git.commit"] == commit
    assert tags["mlflow.source.git.branch"] == "main"
    assert tags["mlops.git.dirty"] == "False"


def test_outside_a_kernel_the_provider_adds_nothing() -> None:
    from jupyter_mlops.tracking.mlflow_bridge.run_context_provider import NotebookRunContext

    assert NotebookRunContext().in_context() is False


def _start_kernel(tmp_path: Path, project: Path, notebook: Path) -> tuple[Any, Any, str]:
    """A real kernel that has the package installed but never imports it (plain MLflow)."""
    import os

    from jupyter_client.manager import start_new_kernel

    plugins = _installed_metadata(tmp_path / "site")
    uri = _store(tmp_path)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MLOPS_")},
        "PYTHONPATH": f"{plugins}:{REPO / 'src'}",
        "JPY_SESSION_NAME": str(notebook),
        "MLFLOW_TRACKING_URI": uri,
        "MLFLOW_EXPERIMENT_NAME": "plain",
    }
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(project))
    return km, kc, uri


def _execute(kc: Any, code: str) -> list[str]:
    """Run one cell; the words it printed (a traceback fails the test)."""
    out: list[str] = []

    def keep(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            out.append("\n".join(msg["content"]["traceback"]))

    kc.execute_interactive(code, output_hook=keep, timeout=300)
    text = "".join(out)
    assert "Traceback" not in text and "Error" not in text, text
    return text.split()


def test_a_plain_mlflow_run_in_a_kernel_gets_the_notebook_file_when_it_ends(
    tmp_path: Path,
) -> None:
    from mlflow import MlflowClient

    from jupyter_mlops.testing.notebooks import code, write_notebook

    project = tmp_path / "project"
    project.mkdir()
    _git_repo(project)
    notebook = write_notebook(project / "train.ipynb", [code("import mlflow  # as saved")])
    saved = notebook.read_bytes()
    km, kc, uri = _start_kernel(tmp_path, project, notebook)
    client = MlflowClient(uri)

    def logged(run_id: str) -> bytes | None:
        if not [a.path for a in client.list_artifacts(run_id, "notebook")]:
            return None
        return Path(
            client.download_artifacts(run_id, "notebook/train.ipynb", str(tmp_path))
        ).read_bytes()

    try:
        (one,) = _execute(
            kc,
            "import mlflow\nwith mlflow.start_run() as run:\n    mlflow.log_param('a', 1)\n"
            "print(run.info.run_id)",
        )
        loop = _execute(
            kc,
            "ids = []\nfor i in range(3):\n    with mlflow.start_run() as run:\n"
            "        mlflow.log_metric('i', i)\n    ids.append(run.info.run_id)\nprint(*ids)",
        )
        parent, child = _execute(
            kc,
            "with mlflow.start_run() as parent:\n"
            "    with mlflow.start_run(nested=True) as child:\n        pass\n"
            "print(parent.info.run_id, child.info.run_id)",
        )
        (across,) = _execute(kc, "run = mlflow.start_run()\nprint(run.info.run_id)")
        assert logged(across) is None  # still running: the file is logged at its end
        _execute(kc, "mlflow.log_metric('m', 1.0)\nmlflow.end_run()")
        (autologged,) = _execute(
            kc,
            "from sklearn.linear_model import LinearRegression\nmlflow.sklearn.autolog()\n"
            "LinearRegression().fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0])\n"
            "print(mlflow.last_active_run().info.run_id)",
        )
        (left_open,) = _execute(kc, "run = mlflow.start_run()\nprint(run.info.run_id)")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)  # a clean exit: MLflow ends the run left active
    for run_id in (one, *loop, parent, across, autologged, left_open):
        assert logged(run_id) == saved, run_id
    assert logged(child) is None  # as for mlops runs: the top-level run holds the notebook
    assert client.get_run(left_open).info.status == "FINISHED"
    assert client.get_run(autologged).data.params  # autolog's own logging is untouched
    assert client.get_run(across).data.metrics == {"m": 1.0}
