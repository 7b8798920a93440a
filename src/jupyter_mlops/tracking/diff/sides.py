"""One side of a diff: what a run (or a notebook file as it is today) has to compare.

A side never fails for what it lacks: a run without a stored notebook has
``notebook=None`` and the diff says so.
"""

from __future__ import annotations

import json
import platform
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from ...errors import InvalidInput, NotFound
from ..mlflow_bridge.store import mlflow_errors
from ..reading.environment import read_lock
from ..writing.environment_lock import current_lock
from ..writing.run_context import git_info

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient
    from mlflow.entities import Run

__all__ = ["Side", "file_side", "resolve_run", "run_side", "stored_notebook"]

_RUN_ID = re.compile(r"[0-9a-f]{32}")
#: where headless runs keep the executed notebook and the notebook as read, then the manifest
_OUTPUT_DIR, _INPUT_DIR, _MANIFEST = "output", "notebook", "headless.json"


@dataclass
class Side:
    """What one side of a diff has.

    Attributes
    ----------
    label : str
        Run name and short id, or the notebook file's path.
    run_id : str or None
        ``None`` for a notebook file.
    notebook : dict or None
        The stored notebook (nbformat 4 JSON); the executed one when the run has it.
    injected : dict
        Parameters papermill injected (from the run's ``headless.json``).
    inputs : list of dict
        Snapshot inputs: ``name``, ``digest``, ``ref`` (``train@v2`` or ``None``).
    env : dict
        ``python``, ``kernel``, ``git_commit``, ``git_dirty`` (str or None) and
        ``packages`` (name -> version, or None when the side records none).
    """

    label: str
    run_id: str | None
    experiment_id: str | None = None
    notebook: dict[str, Any] | None = None
    notebook_artifact: str | None = None
    injected: dict[str, Any] = field(default_factory=dict)
    params: dict[str, str] | None = None
    metrics: dict[str, float] | None = None
    inputs: list[dict[str, Any]] | None = None
    env: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def header(self) -> dict[str, Any]:
        """The plain-JSON description of this side."""
        return {
            "label": self.label,
            "run_id": self.run_id,
            "experiment_id": self.experiment_id,
            "notebook": self.notebook_artifact,
        }


def resolve_run(client: MlflowClient, text: str) -> tuple[Run, str | None]:
    """Run ``text`` (an id, or a run name: the newest run of that name).

    Returns the run and a note when the name matched more than one run.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(f"give a run id or run name, got {text!r}")
    text = text.strip()
    if _RUN_ID.fullmatch(text):
        with mlflow_errors(f"read run {text}"):
            return client.get_run(text), None
    if "'" in text:
        raise InvalidInput(f"run name {text!r} has a quote; give the run id instead")
    with mlflow_errors("list experiments"):
        ids = [e.experiment_id for e in client.search_experiments(max_results=50_000)]
    with mlflow_errors(f"look up run {text!r}"):
        found = client.search_runs(
            ids,
            filter_string=f"attributes.run_name = '{text}'",
            order_by=["attributes.start_time DESC"],
            max_results=50,
        )
    if not found:
        raise NotFound(f"no run with id or name {text!r}; list runs with: jupyter mlops runs")
    note = None
    if len(found) > 1:
        note = f"{len(found)} runs are named {text!r}; compared the newest ({found[0].info.run_id})"
    return found[0], note


def run_side(client: MlflowClient, text: str) -> Side:
    """Read everything a diff compares from run ``text`` (an id or a name)."""
    run, note = resolve_run(client, text)
    info, data = run.info, run.data
    side = Side(
        label=f"{info.run_name or 'run'} ({info.run_id[:8]})",
        run_id=info.run_id,
        experiment_id=str(info.experiment_id),
        params=dict(data.params),
        metrics=dict(data.metrics),
        inputs=_inputs(run),
    )
    if note:
        side.notes.append(note)
    local = _local_root(info.artifact_uri)
    if local is not None:  # read in place: MLflow's client resolves the run again per file
        manifest = _json_file(local / _MANIFEST)
        side.notebook_artifact, side.notebook = _local_notebook(local)
    else:
        with tempfile.TemporaryDirectory(prefix="mlops-diff-") as scratch:
            manifest = _json_artifact(client, info.run_id, _MANIFEST, Path(scratch))
            side.notebook_artifact, side.notebook = stored_notebook(client, info.run_id, scratch)
    side.injected = dict(manifest.get("parameters") or {})
    side.env = _run_env(data.tags, manifest)
    lock = read_lock(client, run, local)
    if lock is not None:  # every distribution, not only the key packages of the tag
        side.env["packages"] = lock.versions
    return side


def file_side(path: str | Path) -> Side:
    """A notebook file as it is now, in this process's environment."""
    file = Path(path).expanduser()
    if file.suffix != ".ipynb":
        raise InvalidInput(f"--against takes a notebook file (.ipynb), got {str(path)!r}")
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFound(f"no notebook {str(path)!r}") from None
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{str(path)!r} is not a readable notebook: {exc}") from None
    git = git_info(file.resolve().parent)
    kernel = (doc.get("metadata") or {}).get("kernelspec", {}).get("name")
    env = {
        "python": platform.python_version(),
        "kernel": kernel,
        "git_commit": git.get("commit"),
        "git_dirty": git.get("dirty"),
        "packages": current_lock().versions,
    }
    side = Side(label=str(file), run_id=None, notebook=doc, notebook_artifact=str(file), env=env)
    side.notes.append(f"{file.name} is a file, not a run: it has no params, metrics or inputs")
    return side


def _inputs(run: Run) -> list[dict[str, Any]]:
    from ...data.lineage import SOURCE_TYPE, snapshot_ref

    rows = []
    for item in getattr(getattr(run, "inputs", None), "dataset_inputs", None) or []:
        ds = item.dataset
        ref = snapshot_ref(ds.source) if ds.source_type == SOURCE_TYPE else None
        rows.append({"name": ds.name, "digest": ds.digest, "ref": ref})
    return rows


def _local_root(artifact_uri: str) -> Path | None:
    """The run's artifact folder when the store keeps it on this machine."""
    parsed = urlparse(artifact_uri or "")
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" and artifact_uri.startswith("/"):
        return Path(artifact_uri)
    return None


def _json_file(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _local_notebook(root: Path) -> tuple[str | None, dict[str, Any] | None]:
    """:func:`stored_notebook` for an artifact folder on this machine."""
    for folder in (_OUTPUT_DIR, _INPUT_DIR):
        for path in sorted((root / folder).glob("*.ipynb")):
            doc = _json_file(path)
            if doc and path.resolve().is_relative_to(root.resolve()):
                return f"{folder}/{path.name}", doc
    return None, None


def _json_artifact(client: MlflowClient, run_id: str, name: str, into: Path) -> dict[str, Any]:
    try:
        path = client.download_artifacts(run_id, name, str(into))
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except Exception:  # an absent or unreadable manifest: the run is not headless
        return {}
    return doc if isinstance(doc, dict) else {}


def stored_notebook(
    client: MlflowClient, run_id: str, scratch: str
) -> tuple[str | None, dict[str, Any] | None]:
    """``(artifact path, notebook JSON)`` of run ``run_id``: the executed notebook when the
    run has one, else the notebook as logged; ``(None, None)`` without one.

    ``scratch`` is a folder the caller removes (remote stores download into it).
    """
    for folder in (_OUTPUT_DIR, _INPUT_DIR):
        with mlflow_errors(f"list artifacts of run {run_id}"):
            files = [f.path for f in client.list_artifacts(run_id, folder) if not f.is_dir]
        notebooks = sorted(p for p in files if p.endswith(".ipynb"))
        if not notebooks:
            continue
        with mlflow_errors(f"download {notebooks[0]} of run {run_id}"):
            local = client.download_artifacts(run_id, notebooks[0], scratch)
        try:
            doc = json.loads(Path(local).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        return notebooks[0], doc
    return None, None


def _run_env(tags: dict[str, str], manifest: dict[str, Any]) -> dict[str, Any]:
    try:
        packages = json.loads(tags["mlops.packages"])
    except (KeyError, ValueError):
        packages = None
    kernel = (manifest.get("kernel") or {}).get("name") or tags.get("mlops.kernel")
    language = tags.get("mlops.kernel.language")
    return {
        "python": tags.get("mlops.python"),
        "kernel": f"{kernel} ({language})" if kernel and language else kernel,
        "git_commit": tags.get("mlflow.source.git.commit"),
        "git_dirty": tags.get("mlops.git.dirty"),
        "packages": packages if isinstance(packages, dict) else None,
    }
