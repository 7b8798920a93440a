"""Run context captured without being asked: notebook, git, interpreter, packages, host."""

from __future__ import annotations

import getpass
import json
import os
import platform
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ...liveness import boot_identity, process_start_ticks
from .environment_lock import current_lock, normalize
from .git_state import git_info

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient

__all__ = [
    "BOOT_TAG",
    "KEY_PACKAGES",
    "NOTEBOOK_ARTIFACT_DIR",
    "context_tags",
    "git_info",
    "log_notebook",
    "notebook_path",
    "process_identity",
    "user_name",
]

#: boot id and pid namespace of the process that created a run (see ``liveness.boot_identity``)
BOOT_TAG = "mlops.boot"

#: Packages whose versions are recorded on every run.
KEY_PACKAGES = (
    "jupyter-mlops",
    "mlflow",
    "pandas",
    "numpy",
    "scikit-learn",
    "pyarrow",
    "ipykernel",
    "papermill",
)

#: Environment variable the headless runner uses to tell a kernel its notebook.
NOTEBOOK_ENV = "MLOPS_NOTEBOOK_PATH"
#: artifact folder of a run holding the notebook file it came from
NOTEBOOK_ARTIFACT_DIR = "notebook"


def notebook_path(hint: str | None = None) -> Path | None:
    """Return the notebook this process runs, when it can be known.

    Sources, first wins: ``MLOPS_NOTEBOOK_PATH`` (headless runs), ``hint`` (the
    frontend told the interface, e.g. VS Code's ``__vsc_ipynb_file__``),
    ``JPY_SESSION_NAME`` (JupyterLab / Notebook 7 sessions).
    """
    for candidate in (os.environ.get(NOTEBOOK_ENV), hint, os.environ.get("JPY_SESSION_NAME")):
        if not candidate:
            continue
        path = Path(candidate).expanduser()
        if not path.is_absolute():
            path = Path.cwd() / path
        if path.suffix == ".ipynb":
            return path
    return None


def log_notebook(client: MlflowClient, run_id: str, notebook: Path | None) -> bool:
    """Log the notebook file, as saved on disk, to ``run_id``'s ``notebook/`` artifacts.

    The one way a run gets its notebook file: the tracker at the end of its runs, and the
    end of runs MLflow's own API starts in a kernel (``mlflow_bridge/kernel_runs.py``).
    Returns whether there was a file to log. Errors are MLflow's own.
    """
    if notebook is None or not notebook.is_file():
        return False
    client.log_artifact(run_id, str(notebook), artifact_path=NOTEBOOK_ARTIFACT_DIR)
    return True


def package_versions(names: tuple[str, ...] = KEY_PACKAGES) -> dict[str, str]:
    """Return the installed versions of ``names`` (missing packages are left out).

    Read from this interpreter's environment lock, which is kept in memory until an
    install changes the import path: asking ``importlib.metadata`` each time would read
    every distribution's metadata again for each run.
    """
    installed = {normalize(p.name): p.version for p in current_lock().packages}
    return {name: installed[normalize(name)] for name in names if normalize(name) in installed}


def process_identity() -> dict[str, str]:
    """Return host, pid and process start time: enough to tell later if this process died."""
    ident = {"mlops.host": socket.gethostname(), "mlops.pid": str(os.getpid())}
    boot = boot_identity()
    if boot:
        ident[BOOT_TAG] = boot
    started = process_start_ticks(os.getpid())
    if started is not None:
        ident["mlops.pid_start"] = str(started)
    return ident


def context_tags(
    root: Path, notebook: Path | None, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Return the tags describing where a run comes from.

    MLflow's own ``mlflow.source.*`` and ``mlflow.user`` tags are set so that its
    UI shows the source; the rest live under ``mlops.``.
    """
    tags: dict[str, str] = {
        "mlflow.user": user_name(),
        "mlops.python": platform.python_version(),
        "mlops.python.executable": sys.executable,
        "mlops.packages": json.dumps(package_versions(), sort_keys=True),
        "mlops.kernel": _kernel_name(),
        "mlops.root": str(root),
        **process_identity(),
    }
    if notebook is not None:
        tags["mlflow.source.name"] = str(notebook)
        tags["mlflow.source.type"] = "NOTEBOOK"
        tags["mlops.notebook.path"] = str(notebook)
    git = git_info(root)
    if git:
        tags["mlflow.source.git.commit"] = git["commit"]
        tags["mlops.git.dirty"] = git["dirty"]
        if "branch" in git:
            tags["mlflow.source.git.branch"] = git["branch"]
    tags.update(extra or {})
    return tags


def user_name() -> str:
    """The login name of this process's user, ``"unknown"`` when the system has none."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _kernel_name() -> str:
    if "ipykernel" in sys.modules:
        version = package_versions(("ipykernel",)).get("ipykernel", "")
        return f"python3 (ipykernel {version})".strip()
    if "IPython" in sys.modules:
        return "ipython"
    return "python"
