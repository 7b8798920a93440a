"""Lineage recorded on a model version: where it came from, as tags MLflow's UI shows.

Every key lives under ``mlops.lineage.``; values are text (JSON for lists).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from ..tracking.mlflow_bridge.store import mlflow_errors

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient

__all__ = ["PREFIX", "lineage_tags", "read_lineage", "snapshot_inputs"]

PREFIX = "mlops.lineage."


def cell_hash(source: str | None) -> str | None:
    """SHA-256 of a cell's source, or ``None`` when the cell is unknown."""
    if not source:
        return None
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def snapshot_inputs(client: MlflowClient, run_id: str) -> list[dict[str, str]]:
    """Return the dataset inputs (snapshots) of run ``run_id``: name, digest, source, context."""
    with mlflow_errors(f"read the inputs of run {run_id}"):
        run = client.get_run(run_id)
    found = []
    for item in run.inputs.dataset_inputs if run.inputs else []:
        ds = item.dataset
        context = next((t.value for t in item.tags if t.key == "mlflow.data.context"), "")
        found.append(
            {"name": ds.name, "digest": ds.digest, "source": ds.source, "context": context}
        )
    return found


def lineage_tags(
    client: MlflowClient,
    run_id: str,
    *,
    cell_source: str | None,
    flavor: str,
    training: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Return the lineage tags for a version registered from run ``run_id``.

    Parameters
    ----------
    client : MlflowClient
    run_id : str
        The source run (its tags hold notebook and git context).
    cell_source : str, optional
        Source of the registering cell; its SHA-256 is recorded.
    flavor : str
        MLflow flavor the model was saved with.
    training : dict, optional
        The snapshot the input example came from (``--data``).
    """
    with mlflow_errors(f"read run {run_id}"):
        run = client.get_run(run_id)
    rt = run.data.tags
    tags = {
        "run_id": run_id,
        "experiment_id": str(run.info.experiment_id),
        "snapshots": json.dumps(snapshot_inputs(client, run_id)),
        "flavor": flavor,
        "user": rt.get("mlflow.user", ""),
        "notebook": rt.get("mlops.notebook.path") or rt.get("mlflow.source.name", ""),
        "git_commit": rt.get("mlflow.source.git.commit", ""),
        "git_dirty": rt.get("mlops.git.dirty", ""),
        "cell_sha256": cell_hash(cell_source) or "",
    }
    if training:
        tags["training_snapshot"] = json.dumps(training, default=str)
    return {PREFIX + k: v for k, v in tags.items() if v}


def read_lineage(tags: dict[str, str]) -> dict[str, Any]:
    """Turn a version's tags back into a lineage dict (JSON values decoded)."""
    out: dict[str, Any] = {}
    for key, value in tags.items():
        if key.startswith(PREFIX):
            short = key[len(PREFIX) :]
            out[short] = json.loads(value) if short in ("snapshots", "training_snapshot") else value
    return out
