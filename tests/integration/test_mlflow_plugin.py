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
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = {
        **{k: v for k, v in __import__("os").environ.items() if not k.startswith("MLOPS_")},
        "PYTHONPATH": f"{plugins}:{REPO / 'src'}",
        "JPY_SESSION_NAME": str(project / "train.ipynb"),
        "MLFLOW_TRACKING_URI": uri,
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
